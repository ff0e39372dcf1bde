"""The universe changing under a running feed (issue: symbols that manage themselves).

1. New listing to first tick: the simulator lists a new expiry and
   `manage.py refresh_symbols` runs (it tells the feed itself); time until every new
   contract has a tick in Redis, counted from the command's return.
2. 500 changed topics at once (250 delisted, 250 listed) while 2,100 contracts stream
   at Bybit's rate: no reconnect, no malformed frame, and how stale the untouched
   contracts get in Redis during the change, beside the same figure just before it.

usage: python bench/resubscribe_bench.py
"""

import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from harness import Stack

from options import keys
from options.symbols import format_symbol


def refresh(stack: Stack) -> float:
    """Run the command as an operator would; when it returned (perf_counter)."""
    stack.run("refresh_symbols", timeout=120)
    return time.perf_counter()


def wait_ticks(stack: Stack, symbols: list[str], timeout: float = 30) -> float:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        pipe = stack.client.pipeline(transaction=False)
        for symbol in symbols:
            pipe.exists(keys.tick("bybit", symbol))
        if all(pipe.execute()):
            return time.perf_counter()
        time.sleep(0.01)
    raise RuntimeError("new contracts never streamed")


def max_staleness(
    stack: Stack, symbols: list[str], seconds: float, new: list[str] = ()
) -> tuple[float, float | None]:
    """The largest age (now - exchange ts) seen among `symbols`, sampled every 50 ms;
    and when every one of `new` first had a tick (perf_counter), if they did."""
    worst, deadline, all_new_at = 0.0, time.monotonic() + seconds, None
    while time.monotonic() < deadline:
        pipe = stack.client.pipeline(transaction=False)
        for symbol in symbols:
            pipe.hget(keys.tick("bybit", symbol), "ts")
        for symbol in new:
            pipe.exists(keys.tick("bybit", symbol))
        replies = pipe.execute()
        now_ms = time.time() * 1000
        ages = [now_ms - int(ts) for ts in replies[: len(symbols)] if ts]
        worst = max([worst, *ages])
        if new and all_new_at is None and all(replies[len(symbols) :]):
            all_new_at = time.perf_counter()
        time.sleep(0.05)
    return worst, all_new_at


def symbols_of(base: str, expiry: str, strikes: str) -> list[str]:
    day = date.fromisoformat(expiry)
    return [
        format_symbol(base, day, Decimal(strike), kind, "USDT")
        for strike in strikes.split(",")
        for kind in "CP"
    ]


def new_expiry(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%d")


def main() -> None:
    stack = Stack(contracts=2100, rate=21000)
    feed = stack.feed()
    try:
        feed.wait_streaming()
        time.sleep(3)
        expiry = new_expiry(500)
        strikes = ",".join(str(200_000 + 1000 * n) for n in range(25))
        stack.sim.control("list", base="BTC", expiry=expiry, strikes=strikes)
        returned = refresh(stack)
        listed = symbols_of("BTC", expiry, strikes)
        first = wait_ticks(stack, listed)
        print(
            f"new listing ({len(listed)} contracts) to first tick in Redis: "
            f"{1000 * (first - returned):.0f} ms after refresh_symbols returned"
        )

        gone_days, gone_symbols = [], set()
        for day in reversed(stack.client.zrange(keys.expiries("bybit", "ETH"), 0, -1)):
            if len(gone_symbols) >= 250:
                break
            gone_days.append(day)
            gone_symbols.update(
                stack.client.zrange(keys.chain("bybit", "ETH", day), 0, -1)
            )
        gone = len(gone_symbols)
        untouched = [s for s in stack.symbols[::20] if s not in gone_symbols]
        before, _ = max_staleness(stack, untouched, 5)
        status0 = stack.feed_status()
        expiry = new_expiry(600)
        strikes = ",".join(str(300_000 + 1000 * n) for n in range(125))
        stack.sim.control("list", base="BTC", expiry=expiry, strikes=strikes)
        for day in gone_days:
            stack.sim.control("expire", base="ETH", expiry=day)
        returned = refresh(stack)
        listed = symbols_of("BTC", expiry, strikes)
        during, first = max_staleness(stack, untouched, 5, new=listed)
        first = first or wait_ticks(stack, listed)
        status1 = stack.feed_status()
        print(
            f"{len(listed)} topics listed + {gone} delisted in one change: "
            f"new ones streaming {1000 * (first - returned):.0f} ms after "
            f"refresh_symbols returned; reconnects {status0['reconnects']} -> "
            f"{status1['reconnects']}, malformed {status0['malformed']} -> "
            f"{status1['malformed']}"
        )
        print(
            f"untouched contracts' max age in Redis: {before:.0f} ms before the "
            f"change, {during:.0f} ms during it"
        )
    finally:
        feed.stop()
        stack.close()


if __name__ == "__main__":
    main()
