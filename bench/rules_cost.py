"""CPU instructions that 100 market alert rules add to each flush of the feed,
counted by valgrind, so the figure does not move with the load of a shared machine.

The worst case of the feed at full rate: every one of 2,100 contracts changed since
the last flush. A child process reprices the simulator's market in-process (every
contract, every step), files the tickers in the feed's Conflator, takes the changed
rows 256 contracts at a time as the feed's flush does, and hands them to the
evaluator (alerts.evaluate.RuleEvaluator.check) with the 100 rules of
bench/rules_bench.py, or with none. The rules' cost per flush is the difference
between the two, over two run lengths so that start-up and loading cancel out.

usage: python bench/rules_cost.py [--flushes 4,16]
Needs `valgrind` on the PATH. Compare it with the feed's read path,
`python bench/read_path_cost.py` (instructions per ticker message).
"""

import argparse
import shutil
import sys
from datetime import UTC, datetime, time

from rules_bench import hundred_rules

from harness import count_instructions

from alerts.evaluate import RuleEvaluator
from feed.conflate import Conflator
from feed.exchanges.bybit.stream import FIELD_MAP
from options.fields import FIELDS
from options.instruments import Instrument
from simulator.market import Market

START_MS = 1_790_000_000_000  # a fixed time: the same market in every run
STEP_MS = 100
CHUNK = 256  # feed.runner.FLUSH_CHUNK


def instruments(market: Market) -> dict[str, Instrument]:
    return {
        c.symbol: Instrument(
            "bybit", c.symbol, c.base, "USDT", "C" if c.call else "P", c.strike,
            datetime.combine(c.expiry, time(8), tzinfo=UTC), None, "Trading",
        )
        for c in market.contracts.values()
    }  # fmt: skip


def flushes(count: int, with_rules: bool) -> int:
    """Run `count` flushes; the number of rule checks made."""
    market = Market(2100, seed=1, now_ms=START_MS, reprice_share=1.0)
    universe = instruments(market)
    conflator = Conflator(FIELD_MAP, FIELDS)
    conflator.track(universe)
    evaluator = RuleEvaluator(None, "bybit", None, conflator.row)
    if with_rules:
        evaluator.load([rule.to_dict() for rule in hundred_rules(sorted(universe))])
    for n in range(1, count + 1):
        now = START_MS + n * STEP_MS
        market.step(now)
        for contract in market.contracts.values():
            conflator.accept(contract.symbol, now, contract.data, now)
        batch = list(conflator.take_pending().items())
        for start in range(0, len(batch), CHUNK):
            rows = conflator.changes(batch[start : start + CHUNK])
            evaluator.check(rows, universe)
        evaluator.fired.clear()
    return evaluator.evaluated


def counted(count: int, with_rules: bool) -> tuple[int, int]:
    """(instructions, rule checks) of one child run under valgrind."""
    which = "rules" if with_rules else "none"
    instructions, out = count_instructions(__file__, "--child", str(count), which)
    return instructions, int(out.split()[-1])


def main(args) -> None:
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not on the PATH")
    k1, k2 = (int(k) for k in args.flushes.split(","))
    runs = {(k, rules): counted(k, rules) for k in (k1, k2) for rules in (True, False)}
    added = (runs[k2, True][0] - runs[k2, False][0]) - (
        runs[k1, True][0] - runs[k1, False][0]
    )
    per_flush = added / (k2 - k1)
    checks = (runs[k2, True][1] - runs[k1, True][1]) / (k2 - k1)
    base = (runs[k2, False][0] - runs[k1, False][0]) / (k2 - k1)
    print(f"100 rules, every one of 2,100 contracts changed at each flush: "
          f"{checks:,.0f} rule checks per flush")  # fmt: skip
    print(f"instructions the rules add per flush: {per_flush:,.0f} "
          f"({per_flush / checks:,.0f} per check)")  # fmt: skip
    print(f"the same flush without rules (market repricing, Conflator.accept and "
          f"changes): {base:,.0f}")  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        print(flushes(int(sys.argv[2]), sys.argv[3] == "rules"))
    else:
        parser = argparse.ArgumentParser()
        parser.add_argument("--flushes", default="4,16")
        main(parser.parse_args())
