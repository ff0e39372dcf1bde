"""Feed throughput, CPU cost at Bybit's real rate, tick-to-Redis latency, memory.

Every figure is printed beside a reference measured in the same run (a bare
receive-and-parse client against the same simulator), because this machine is shared
and its absolute speed moves 2x between days.

usage: python bench/feed_throughput.py [--seconds 10] [--rounds 2] [--contracts 2100]
    [--only throughput|real-rate] [--no-publish | --watch-all] [--compare DIR]

--compare DIR also runs, in each throughput round, the run_feed of another checkout
(e.g. `git archive <commit> | tar -x -C DIR`) on the same simulator, so that a change
is measured against the code before it in the same run.

The feed publishes a chain's live updates only while someone subscribes to it
(feed/publish.py), so by default nothing is published here; --watch-all subscribes to
every chain (a pattern subscriber that reads and drops what it gets), the dashboard's
worst case.
"""

import argparse
import asyncio
import contextlib
import statistics
import time
from pathlib import Path

import redis
import redis.asyncio as aioredis

from harness import Stack, cpu_seconds, percentile, rss_mb

from devtools.stack import Feed
from options import keys

FEED_ARGS: list[str] = []  # set from the command line
WATCH_ALL = False  # set from the command line


@contextlib.contextmanager
def watching(stack: Stack):
    """With --watch-all: a subscriber on every chain's live updates for the block."""
    if not WATCH_ALL:
        yield
        return
    pubsub = redis.Redis.from_url(stack.redis.url).pubsub()  # bytes: no decoding
    pubsub.psubscribe(**{"asgi__group__chain.*": lambda message: None})
    thread = pubsub.run_in_thread(sleep_time=0.1, daemon=True)
    try:
        yield
    finally:
        thread.stop()
        thread.join(5)


def measure_feed(
    stack: Stack, seconds: float, warmup: float = 3.0, checkout: Path | None = None
) -> dict:
    with watching(stack):
        return _measure_feed(stack, seconds, warmup, checkout)


def start_feed(stack: Stack, checkout: Path | None) -> Feed:
    """run_feed on the stack: this checkout's, or `checkout`'s manage.py."""
    if checkout is None:
        return stack.feed(*FEED_ARGS)
    stack.client.delete(keys.feed("bybit"))
    feed = Feed(stack, *FEED_ARGS)
    feed.process.args[1] = str(checkout / "manage.py")
    return feed.start()


def _measure_feed(
    stack: Stack, seconds: float, warmup: float, checkout: Path | None
) -> dict:
    feed = start_feed(stack, checkout)
    try:
        feed.wait_streaming()
        time.sleep(warmup)
        m0, c0, t0 = (
            int(stack.feed_status()["msgs_total"]),
            cpu_seconds(feed.pid),
            time.perf_counter(),
        )
        time.sleep(seconds)
        m1, c1, t1 = (
            int(stack.feed_status()["msgs_total"]),
            cpu_seconds(feed.pid),
            time.perf_counter(),
        )
        result = {"msgs": m1 - m0, "seconds": t1 - t0, "cpu_seconds": c1 - c0,
                  "rss_mb": rss_mb(feed.pid)}  # fmt: skip
        result["exact"] = check_exact(stack)
        return result
    finally:
        feed.stop()


def check_exact(stack: Stack) -> str:
    """Pause the simulator, let the feed flush, compare every contract with Redis."""
    stack.sim.control("silence", seconds=5)
    time.sleep(1.0)
    total = len(stack.sim.control("last")["last"])
    wrong = len(stack.sim.mismatches(stack.client))
    stack.sim.control("silence", seconds=0)
    return f"{total - wrong}/{total} contracts exact"


async def sample_latency(url: str, symbols: list[str], seconds: float) -> list[float]:
    """Tick-to-Redis latency from keyspace notifications on a sample of contracts."""
    client = aioredis.Redis.from_url(url, decode_responses=True)
    await client.config_set("notify-keyspace-events", "Kh")
    pubsub = client.pubsub()
    channels = [f"__keyspace@0__:{keys.tick('bybit', s)}" for s in symbols]
    await pubsub.subscribe(*channels)
    reader = aioredis.Redis.from_url(url, decode_responses=True)
    latencies = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
        if msg is None:
            continue
        now_ms = time.time() * 1000
        ts = await reader.hget(msg["channel"].split(":", 1)[1], "ts")
        if ts:
            latencies.append(now_ms - int(ts))
    await pubsub.aclose()
    await client.aclose()
    await reader.aclose()
    return latencies


def per_msg_us(run: dict) -> float:
    """CPU microseconds per message: load on a shared machine moves it far less
    than the wall-clock rate."""
    return run["cpu_seconds"] / max(run["msgs"], 1) * 1e6


def throughput(args) -> None:
    print(f"== throughput: {args.contracts} contracts, simulator as fast as it is read")
    stack = Stack(contracts=args.contracts, rate=0)
    ratios, before, cpu_ratios, cpu_before = [], [], [], []
    try:
        for n in range(args.rounds):
            bare = stack.bare_client(args.seconds)
            bare_rate = bare["msgs"] / bare["seconds"]
            feed = measure_feed(stack, args.seconds)
            feed_rate = feed["msgs"] / feed["seconds"]
            ratios.append(feed_rate / bare_rate)
            cpu_ratios.append(per_msg_us(bare) / per_msg_us(feed))
            line = (f"round {n + 1}: bare client {bare_rate:,.0f} msg/s "
                    f"({per_msg_us(bare):.1f} CPU us/msg) | run_feed "
                    f"{feed_rate:,.0f} msg/s ({per_msg_us(feed):.1f} us/msg) | ratio "
                    f"{feed_rate / bare_rate:.2f} x, by CPU {cpu_ratios[-1]:.2f} x | "
                    f"{feed['exact']} | feed RSS {feed['rss_mb']:.1f} MB")  # fmt: skip
            if args.compare:
                old = measure_feed(stack, args.seconds, checkout=args.compare)
                old_rate = old["msgs"] / old["seconds"]
                before.append(old_rate / bare_rate)
                cpu_before.append(per_msg_us(bare) / per_msg_us(old))
                line += (f" || {args.compare.name}: {old_rate:,.0f} msg/s "
                         f"({per_msg_us(old):.1f} us/msg), ratio "
                         f"{old_rate / bare_rate:.2f} x, by CPU {cpu_before[-1]:.2f} x"
                         f" | RSS {old['rss_mb']:.1f} MB")  # fmt: skip
            print(line, flush=True)
        summary("run_feed / bare client", ratios, cpu_ratios)
        if before:
            summary(args.compare.name, before, cpu_before)
            median = statistics.median
            print(f"difference of the medians: "
                  f"{median(ratios) - median(before):+.3f}, "
                  f"by CPU {median(cpu_ratios) - median(cpu_before):+.3f}")  # fmt: skip
    finally:
        stack.close()


def summary(name: str, ratios: list[float], cpu_ratios: list[float]) -> None:
    print(f"{name}: throughput ratio best {max(ratios):.2f} x, worst "
          f"{min(ratios):.2f} x, median {statistics.median(ratios):.2f} x; by CPU "
          f"per message median {statistics.median(cpu_ratios):.2f} x")  # fmt: skip


def real_rate(args) -> None:
    rate = args.contracts * 10  # every contract every 100 ms
    print(f"== Bybit's real rate: {rate:,} msg/s ({args.contracts} contracts / 100 ms)")
    stack = Stack(contracts=args.contracts, rate=rate)
    try:
        bare = stack.bare_client(args.seconds)
        with watching(stack):
            feed = stack.feed(*FEED_ARGS)
            try:
                feed.wait_streaming()
                time.sleep(3)
                c0, m0, t0 = (
                    cpu_seconds(feed.pid),
                    int(stack.feed_status()["msgs_total"]),
                    time.perf_counter(),
                )
                sample = stack.symbols[:: max(1, len(stack.symbols) // 100)]
                lat = asyncio.run(sample_latency(stack.redis.url, sample, args.seconds))
                c1, m1, t1 = (
                    cpu_seconds(feed.pid),
                    int(stack.feed_status()["msgs_total"]),
                    time.perf_counter(),
                )
                rss = rss_mb(feed.pid)
            finally:
                feed.stop()
        bare_cpu = 100 * bare["cpu_seconds"] / bare["seconds"]
        feed_cpu = 100 * (c1 - c0) / (t1 - t0)
        print(
            f"bare client: {bare['msgs'] / bare['seconds']:,.0f} msg/s, "
            f"CPU {bare_cpu:.0f} % of one core"
        )
        print(
            f"run_feed:    {(m1 - m0) / (t1 - t0):,.0f} msg/s, "
            f"CPU {feed_cpu:.0f} % of one core, RSS {rss:.1f} MB"
        )
        print(
            f"tick-to-Redis latency, {len(lat)} samples, flush every 100 ms: "
            f"p50 {percentile(lat, 50):.0f} ms, p99 {percentile(lat, 99):.0f} ms"
        )
        for profile in ("full", "critical"):
            print(
                f"Redis memory, {profile} fields: {redis_memory(stack, profile):.2f} MB"
            )
    finally:
        stack.close()


def redis_memory(stack: Stack, profile: str) -> float:
    """used_memory of the feed's keys: empty Redis, run the feed, measure, compare."""
    stack.client.flushall()
    base = stack.client.info("memory")["used_memory"]
    feed = stack.feed("--fields", profile, *FEED_ARGS)
    try:
        feed.wait_streaming()
        time.sleep(3)
        used = stack.client.info("memory")["used_memory"]
    finally:
        feed.stop()
    return (used - base) / 1e6


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--contracts", type=int, default=2100)
    parser.add_argument("--only", choices=["throughput", "real-rate"])
    parser.add_argument("--compare", type=lambda p: Path(p).resolve())
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--no-publish", action="store_true", help="run_feed --no-publish (minimal)"
    )
    mode.add_argument(
        "--watch-all", action="store_true",
        help="subscribe to every chain, so that the feed publishes them all",
    )  # fmt: skip
    args = parser.parse_args()
    FEED_ARGS[:] = ["--no-publish"] if args.no_publish else []
    WATCH_ALL = args.watch_all
    if args.no_publish:
        print("run_feed --no-publish")
    else:
        watched = "every chain watched" if WATCH_ALL else "no chain watched"
        print(f"run_feed (live updates on, {watched})")
    if args.only != "real-rate":
        throughput(args)
    if args.only != "throughput":
        real_rate(args)
