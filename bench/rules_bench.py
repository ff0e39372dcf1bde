"""Feed throughput with 100 market alert rules in force versus none, in the same run.

usage: python bench/rules_bench.py [--seconds 10] [--rounds 3] [--publish]

The simulator sends as fast as the feed reads (feed_throughput.measure_feed, the
same measurement as the README's throughput row); rounds alternate between an empty
rule set and 100 rules, each round a fresh `run_feed` on the same stack, and each
pair of rounds gives a ratio. The 100 rules: 90 on single contracts (every field,
every condition) and 10 on whole chains (the ten widest expiries), most with
thresholds out of reach, so the figure is the evaluation's cost; 5 of them fire
every second (mark above 0, cooldown 1 s), which shows in the event stream that
the rules were in force. No rule has a notify URL and the bench sets none: no
notification leaves the feed.
"""

import argparse
import statistics
from collections import Counter

import feed_throughput
import redis
from feed_throughput import measure_feed

from harness import Stack

from alerts.rules import CONDITIONS, FIELDS, Rule, rule_set_json, write_rule_set
from options import keys
from options.symbols import parse_symbol

OUT_OF_REACH = {"above": 1e12, "below": -1e12, "crosses": 1e12, "change_pct": 1e6}


def hundred_rules(symbols: list[str]) -> list[Rule]:
    rules = []
    step = max(1, len(symbols) // 90)
    for n, symbol in enumerate(symbols[::step][:90]):
        field, condition = FIELDS[n % len(FIELDS)], CONDITIONS[n % len(CONDITIONS)]
        value, cooldown = OUT_OF_REACH[condition], 300
        if n < 5:
            field, condition, value, cooldown = "mark", "above", 0, 1
        window = 60 if condition == "change_pct" else None
        rules.append(Rule(n + 1, field, condition, value, cooldown, window, symbol))
    chains = Counter(
        (parsed.base, parsed.expiry_date.isoformat())
        for parsed in map(parse_symbol, symbols)
    )
    for n, ((base, expiry), _) in enumerate(chains.most_common(10)):
        rules.append(Rule(91 + n, "mark_iv", "above", 1e12, 300, None, None, base,
                          expiry))  # fmt: skip
    return rules


def events(client: redis.Redis) -> int:
    return client.xlen(keys.alert_events("bybit"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--publish", action="store_true", help="live updates on")
    args = parser.parse_args()
    feed_throughput.FEED_ARGS[:] = [] if args.publish else ["--no-publish"]
    stack = Stack(contracts=2100, rate=0)
    try:
        rules = hundred_rules(stack.symbols)
        chained = {(rule.base, rule.expiry) for rule in rules if rule.base}
        chain_contracts = sum(_chain_of(s) in chained for s in stack.symbols)
        print(f"run_feed {' '.join(feed_throughput.FEED_ARGS)}: 2,100 contracts; "
              f"{len(rules)} rules, the chain rules on {chain_contracts} "
              "contracts")  # fmt: skip
        ratios = [one_round(stack, rules, args.seconds, n) for n in range(args.rounds)]
        print(f"with 100 rules / none: median {statistics.median(ratios):.3f} x, "
              f"rounds {', '.join(f'{r:.3f}' for r in ratios)}")  # fmt: skip
    finally:
        stack.close()


def _chain_of(symbol: str) -> tuple[str, str]:
    parsed = parse_symbol(symbol)
    return parsed.base, parsed.expiry_date.isoformat()


def one_round(stack: Stack, rules: list[Rule], seconds: float, n: int) -> float:
    """None, then 100 rules (the order alternates between rounds); their ratio."""
    rates = {}
    order = ("none", "rules") if n % 2 == 0 else ("rules", "none")
    for name in order:
        in_force = rules if name == "rules" else []
        write_rule_set(stack.client, "bybit", rule_set_json(in_force))
        before = events(stack.client)
        result = measure_feed(stack, seconds)
        rates[name] = result["msgs"] / result["seconds"]
        cpu = 100 * result["cpu_seconds"] / result["seconds"]
        fired = events(stack.client) - before
        print(f"round {n + 1}, {name:5}: {rates[name]:,.0f} msg/s, CPU {cpu:.0f} %, "
              f"{result['exact']}, {fired} firings")  # fmt: skip
    return rates["rules"] / rates["none"]


if __name__ == "__main__":
    main()
