"""Feed throughput with 100 market alert rules in force versus none, in the same run.

usage: python bench/rules_bench.py [--seconds 10] [--rounds 4] [--publish] [--control]

Two `run_feed` processes stream side by side from the same simulator, which sends
each as fast as it reads (the throughput measurement of bench/feed_throughput.py),
each into its own Redis: one with 100 rules in force, one with none. Measured over
the same seconds, both feeds meet the same machine load, which on a shared machine
moves a feed's throughput by more than the rules' cost. The rounds alternate which
Redis holds the rules and which feed starts first.

The 100 rules: 90 on single contracts (every field, every condition) and 10 on
whole chains (the ten widest expiries), most with thresholds out of reach, so the
figure is the evaluation's cost; 5 of them fire every second (mark above 0,
cooldown 1 s), which shows in the event stream that the rules were in force. No
rule has a notify URL and the bench sets none: no notification leaves the feed.
"""

import argparse
import statistics
import time
from collections import Counter

import redis

from harness import Stack, cpu_seconds

from alerts.rules import CONDITIONS, FIELDS, Rule, rule_set_json, write_rule_set
from devtools.localredis import LocalRedis
from devtools.processes import wait_for
from devtools.stack import Feed
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
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--publish", action="store_true", help="live updates on")
    parser.add_argument(
        "--control", action="store_true",
        help="no rules on either side: the set-up's own spread",
    )  # fmt: skip
    args = parser.parse_args()
    feed_args = [] if args.publish else ["--no-publish"]
    stack = Stack(contracts=2100, rate=0)
    other = LocalRedis().start()
    try:
        rules = [] if args.control else hundred_rules(stack.symbols)
        chained = {(rule.base, rule.expiry) for rule in rules if rule.base}
        chain_contracts = sum(_chain_of(s) in chained for s in stack.symbols)
        print(f"2 x run_feed {' '.join(feed_args)}: 2,100 contracts each; "
              f"{len(rules)} rules, the chain rules on {chain_contracts} "
              "contracts")  # fmt: skip
        ratios = [
            one_round(stack, other.url, rules, feed_args, args.seconds, n)
            for n in range(args.rounds)
        ]
        median = statistics.median(ratios)
        print(f"with {len(rules)} rules / none: median {median:.3f} x, "
              f"rounds {', '.join(f'{r:.3f}' for r in ratios)}")  # fmt: skip
    finally:
        stack.close()
        other.stop()


def _chain_of(symbol: str) -> tuple[str, str]:
    parsed = parse_symbol(symbol)
    return parsed.base, parsed.expiry_date.isoformat()


def one_round(stack, other_url, rules, feed_args, seconds: float, n: int) -> float:
    """Both feeds over the same seconds; the rules go to the stack's Redis in odd
    rounds, to the other one in even rounds (Redis servers may differ too). Returns
    rules / none."""
    pair = (stack.redis_url, other_url) if n % 2 else (other_url, stack.redis_url)
    urls = dict(zip(("rules", "none"), pair, strict=True))
    clients = {
        name: redis.Redis.from_url(url, decode_responses=True)
        for name, url in urls.items()
    }
    feeds = {}
    try:
        for name, client in clients.items():
            client.flushall()
            in_force = rules if name == "rules" else []
            write_rule_set(client, "bybit", rule_set_json(in_force))
            feeds[name] = Feed(stack, *feed_args, "--redis-url", urls[name])
        return _measure(feeds, clients, seconds, n)
    finally:
        for feed in feeds.values():
            feed.stop()
        for client in clients.values():
            client.close()


def _measure(feeds: dict, clients: dict, seconds: float, n: int) -> float:
    def total(name: str) -> int:
        return int(clients[name].hget(keys.feed("bybit"), "msgs_total") or 0)

    # The simulator may favour the session that came first: every other pair of
    # rounds starts the feed without rules first.
    for name in sorted(feeds, reverse=(n // 2) % 2 == 1):
        feeds[name].start()
    wait_for(lambda: all(total(name) for name in feeds), 60, "both feeds streaming")
    time.sleep(3)  # warm-up
    before = {name: (total(name), cpu_seconds(f.pid)) for name, f in feeds.items()}
    fired, started = events(clients["rules"]), time.perf_counter()
    time.sleep(seconds)
    elapsed = time.perf_counter() - started
    rates = {}
    for name, feed in feeds.items():
        msgs, cpu = (
            total(name) - before[name][0],
            cpu_seconds(feed.pid) - before[name][1],
        )
        rates[name] = msgs / elapsed
        print(f"round {n + 1}, {name:5}: {rates[name]:,.0f} msg/s, "
              f"CPU {100 * cpu / elapsed:.0f} %")  # fmt: skip
    print(f"round {n + 1}: {events(clients['rules']) - fired} firings recorded")
    return rates["rules"] / rates["none"]


if __name__ == "__main__":
    main()
