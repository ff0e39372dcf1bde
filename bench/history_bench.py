"""The history's cost: the sampler, a day of 2,100 contracts on disk and in memory,
the reads (one contract's 24 h, a past chain), and the feed's throughput with the
sampler running against without, in the same run.

usage: python bench/history_bench.py [--contracts 2100] [--seconds 8] [--rounds 6]
    [--sampler-every 5] [--only sampler|day|throughput] [--control]

The day is synthetic but made of real rows: the chains the feed holds after streaming
the simulator's 2,100 contracts, sampled once, then written for each minute of 24 h
in one of 16 perturbed variants (the mantissas moved a little, so the columns keep
their real widths). The sampler runs as the Celery task does (options.history_write
.record) in a `manage.py shell` process of its own; in the throughput rounds it
samples every --sampler-every seconds, 12 times as often as the default, switched on
and off between windows of one feed (the order alternating, so that a drift of the
machine's load favours neither), and the feed's CPU time per message, which the load
moves less than its rate, is reported beside the rate.
"""

import argparse
import asyncio
import os
import random
import resource
import statistics
import struct
import time
from pathlib import Path

from feed_throughput import check_exact, start_feed

from harness import Stack, cpu_seconds, percentile

from devtools.processes import ManagedCommand, wait_for

MINUTE_MS = 60_000
DAY_MINUTES = 1440
VARIANTS = 16


def setup_django(stack: Stack) -> None:
    os.environ.update(
        {**stack.env, "DJANGO_SETTINGS_MODULE": "tracker_project.settings"}
    )
    import django

    django.setup()


def timed(fn, *args) -> tuple[float, float, object]:
    """(wall ms, CPU ms of this process, result)."""
    w0, c0 = time.perf_counter(), time.process_time()
    result = fn(*args)
    return (time.perf_counter() - w0) * 1e3, (time.process_time() - c0) * 1e3, result


def sampler_cost(stack: Stack, runs: int) -> None:
    from options.history_models import ChainSample
    from options.history_write import record, slot_of
    from options.read import now_ms

    print(f"== the sampler, {runs} runs, feed streaming at {stack.rate:,} msg/s")
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    start = slot_of(now_ms(), 60)
    walls, cpus = [], []
    for k in range(runs):
        wall, cpu, summary = timed(record, 60, 10 * 86_400, start + k * MINUTE_MS)
        walls.append(wall)
        cpus.append(cpu)
        print(f"  {summary}")
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    print(f"one sample of every chain: wall p50 {statistics.median(walls):.0f} ms "
          f"(max {max(walls):.0f}), CPU p50 {statistics.median(cpus):.0f} ms; "
          f"peak RSS of the sampling process {rss1:.1f} MB "
          f"(+{rss1 - rss0:.1f} MB over its start)")  # fmt: skip
    ChainSample.objects.all().delete()


def variants(chains) -> list[list[dict]]:
    """VARIANTS versions of every chain's row: columns packed, mantissas moved."""
    from options.history_write import sample_of

    rng = random.Random(1)
    rows = [sample_of(chain, 0) for chain in chains]
    out = []
    for _ in range(VARIANTS):
        out.append([_moved(row, rng) for row in rows])
    return out


def _moved(row, rng) -> dict:
    from options.history_models import HISTORY_FIELDS

    columns = {}
    for field in HISTORY_FIELDS:
        column = getattr(row, field)
        if column is None or field == "ts":
            columns[field] = column
            continue
        fmt = "<i" if column[0] == 1 else "<q"
        size = struct.calcsize(fmt)
        n = (len(column) - 2) // size
        values = struct.unpack_from(f"{fmt[0]}{n}{fmt[1]}", column, 2)
        step = rng.randint(-3, 3)
        moved = [v if v < -(2**30) else v + step * (1 + abs(v) // 1000) for v in values]
        columns[field] = column[:2] + struct.pack(f"{fmt[0]}{n}{fmt[1]}", *moved)
    return {"exchange": row.exchange, "base": row.base, "expiry": row.expiry,
            "universe": row.universe, "columns": columns}  # fmt: skip


def write_day(chains) -> tuple[int, float]:
    """A sample of every chain for every minute of the last 24 h; (rows, seconds)."""
    from django.db import transaction

    from options.history_models import ChainSample
    from options.history_write import slot_of
    from options.read import now_ms

    kinds = variants(chains)
    end = slot_of(now_ms(), 60)
    started, written = time.perf_counter(), 0
    for minute in range(DAY_MINUTES):
        at = end - (DAY_MINUTES - 1 - minute) * MINUTE_MS
        rows = [
            ChainSample(exchange=r["exchange"], base=r["base"], expiry=r["expiry"],
                        universe=r["universe"], at_ms=at, **r["columns"])
            for r in kinds[minute % VARIANTS]
        ]  # fmt: skip
        with transaction.atomic():
            ChainSample.objects.bulk_create(rows)
        written += len(rows)
    return written, time.perf_counter() - started


def roll_up_day() -> tuple[int, float]:
    """The sampler's hourly roll-up of the synthetic day; (chain-hours, seconds)."""
    from options.history_hours import HOUR_MS, roll_up, uncounted_hours
    from options.history_models import ChainSample
    from options.read import now_ms

    started, now = time.perf_counter(), now_ms()
    hours = roll_up(now, now - 86_400_000)
    seconds = time.perf_counter() - started
    first, current = now - now % HOUR_MS - 23 * HOUR_MS, now - now % HOUR_MS
    checks = {"with the mark (roll_up)": [], "the count over the retention": []}
    for _ in range(7):  # what every minute's run costs when no hour is due
        for label, check in checks.items():
            t0 = time.perf_counter()
            if label.startswith("with"):
                roll_up(now, now - 86_400_000)
            else:  # the check before the mark, in the same run: the reference
                uncounted_hours(ChainSample.objects.all(), first, current)
            check.append((time.perf_counter() - t0) * 1e3)
    print("the sampler's check for hours to roll up, none due: "
          + "; ".join(f"{label} p50 {statistics.median(times):.1f} ms"
                      for label, times in checks.items())
          + f" (load average {os.getloadavg()[0]:.1f})")  # fmt: skip
    return hours, seconds


def payload_mb() -> float:
    """The packed columns' bytes, without the database's own overhead."""
    from django.db import connection

    from options.history_models import HISTORY_FIELDS

    lengths = " + ".join(f'coalesce(length("{f}"), 0)' for f in HISTORY_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT sum({lengths}) FROM options_chainsample")
        return cursor.fetchone()[0] / 1e6


def present_share(chains) -> float:
    from options.history_models import HISTORY_FIELDS

    ticks = [t for chain in chains for t in chain.ticks()]
    present = sum(1 for t in ticks for f in HISTORY_FIELDS if t.values.get(f))
    return present / (len(ticks) * len(HISTORY_FIELDS))


async def read_timings(symbol, chain_names, runs: int) -> dict:
    from options import history, read
    from options.history_models import HISTORY_FIELDS

    since, until = history.window()
    found = {}
    times = []
    for _ in range(runs):  # the reference: the same chain's live read, from Redis
        t0 = time.perf_counter()
        await read.read_chain(*chain_names)
        times.append((time.perf_counter() - t0) * 1e3)
    found["reference: the same chain live (options.read.read_chain)"] = times
    for label, fields in (("all 18 fields", HISTORY_FIELDS),
                          ("the contract page's 8", ("mark", "bid", "ask", "mark_iv",
                           "bid_iv", "ask_iv", "underlying", "oi"))):  # fmt: skip
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            got = await history.read_history("bybit", symbol, since, until, fields)
            times.append((time.perf_counter() - t0) * 1e3)
        found[f"one contract's 24 h, {label}, {len(got.times)} samples"] = times
    found[
        "the same, 8 fields, from the chain rows alone (before the hourly table)"
    ] = await chain_rows_only(symbol, since, until, runs)
    times, rng = [], random.Random(2)
    for _ in range(runs):
        at = rng.randint(since + MINUTE_MS, until - MINUTE_MS)
        t0 = time.perf_counter()
        chain = await history.read_chain_at(*chain_names, at)
        times.append((time.perf_counter() - t0) * 1e3)
    found[f"a past chain ({len(chain.ticks())} contracts), at a random minute"] = times
    return found


async def chain_rows_only(symbol, since, until, runs: int) -> list[float]:
    """One contract's day read as before the per-contract table: no hour rolled."""
    from options import history

    fields = ("mark", "bid", "ask", "mark_iv", "bid_iv", "ask_iv", "underlying", "oi")
    saved, times = history._rolled_hours, []
    history._rolled_hours = lambda *args: []
    try:
        for _ in range(runs):
            t0 = time.perf_counter()
            await history.read_history("bybit", symbol, since, until, fields)
            times.append((time.perf_counter() - t0) * 1e3)
    finally:
        history._rolled_hours = saved
    return times


def day(stack: Stack, runs: int) -> None:
    from django.conf import settings

    from options.history_write import read_every_chain

    print(f"== a day: {len(stack.symbols)} contracts x {DAY_MINUTES} minutes")
    chains = asyncio.run(read_every_chain())
    deadline = time.monotonic() + 180
    while present_share(chains) < 0.95 and time.monotonic() < deadline:
        time.sleep(2)  # a loaded machine: the feed has not written every field yet
        chains = asyncio.run(read_every_chain())
    db = Path(settings.DATABASES["default"]["NAME"])
    before = db.stat().st_size
    rows, seconds = write_day(chains)
    chain_size = db.stat().st_size - before
    hours, roll_s = roll_up_day()
    size = db.stat().st_size - before
    contracts = sum(len(c.ticks()) for c in chains)
    print(f"wrote {rows:,} rows ({len(chains)} chains x {DAY_MINUTES} minutes, "
          f"{contracts} contracts) in {seconds:.0f} s")  # fmt: skip
    print(f"rolled {hours} chain-hours up into the per-contract table in "
          f"{roll_s:.0f} s ({roll_s / max(hours, 1) * 1e3:.0f} ms a chain-hour); "
          f"it adds {(size - chain_size) / 1e6:.1f} MB")  # fmt: skip
    print(f"database growth: {size / 1e6:.1f} MB, {size / rows / 1e3:.1f} KB a row, "
          f"{size / contracts / DAY_MINUTES:.0f} bytes per contract-minute "
          f"(SQLite file {db.stat().st_size / 1e6:.1f} MB)")  # fmt: skip
    print(f"column bytes: {payload_mb():.1f} MB; values present: "
          f"{present_share(chains):.1%} of contracts x fields")  # fmt: skip
    for feed in stack.feeds:  # the reads do not need it: it would only compete
        feed.stop()
    widest = max(chains, key=lambda c: len(c.ticks()))
    symbol = widest.ticks()[len(widest.ticks()) // 2].symbol
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    names = (widest.exchange, widest.base, widest.expiry)
    timings = asyncio.run(read_timings(symbol, names, runs))
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    reference = None
    for label, times in timings.items():
        p50 = percentile(times, 50)
        reference = reference or p50
        print(f"{label}: p50 {p50:.1f} ms ({p50 / reference:.1f} x the reference), "
              f"p90 {percentile(times, 90):.1f} ms ({runs} reads)")  # fmt: skip
    print(f"load average during the reads (the bench's feed stopped): "
          f"{os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"reading process peak RSS {rss1:.1f} MB (+{rss1 - rss0:.1f} MB for reads)")


SAMPLER_LOOP = """
import time
from pathlib import Path
from options.history_write import record
from options.read import now_ms
on, state, every, k, start = Path({on!r}), Path({state!r}), {every}, 0, now_ms()
due = 0.0
state.write_text("idle")
while True:
    if not on.exists() or time.monotonic() < due:
        time.sleep(0.05)
        continue
    due = time.monotonic() + every
    state.write_text("sampling")
    print(record(60, 10 * 86400, now_ms=start + k * 60000), flush=True)
    state.write_text("idle")
    k += 1
"""


class Sampler:
    """The sampler in a `manage.py shell` process of its own for the whole run,
    sampling only while switched on: no process start in the measured windows."""

    def __init__(self, stack: Stack, every: float):
        self.on, self.state = stack.workdir / "sampler.on", stack.workdir / "sampler"
        code = SAMPLER_LOOP.format(on=str(self.on), state=str(self.state), every=every)
        log = stack.workdir / "sampler.log"
        self.process = ManagedCommand("shell", "-c", code, env=stack.env, log_path=log)
        self.process.start()
        wait_for(self.state.exists, 60, "the sampler's start")

    def switch(self, on: bool) -> None:
        """On: sampling from now on. Off: once a sample under way has ended."""
        if on:
            self.on.touch()
            return
        self.on.unlink(missing_ok=True)
        wait_for(lambda: self.state.read_text() == "idle", 120, "the sample's end")

    def stop(self) -> None:
        self.process.stop()


def status_tick(stack: Stack, feed) -> tuple[int, int, float]:
    """(msgs_total, heartbeat_ts, the feed's CPU seconds) just after the feed's next
    status write (once a second): the count, its time and the CPU time agree."""
    first = stack.feed_status().get("heartbeat_ts")
    while (status := stack.feed_status()).get("heartbeat_ts") == first:
        time.sleep(0.01)
    cpu = cpu_seconds(feed.pid)
    return int(status["msgs_total"]), int(status["heartbeat_ts"]), cpu


def window(stack: Stack, feed, sampler: Sampler, seconds: float) -> dict:
    """The feed's rate and CPU per message, and the sampler's CPU, over `seconds`
    between two of the feed's status writes."""
    s0 = cpu_seconds(sampler.process.pid)
    m0, h0, c0 = status_tick(stack, feed)
    time.sleep(max(seconds - 1, 0))
    m1, h1, c1 = status_tick(stack, feed)
    msgs = m1 - m0
    return {"rate": msgs / ((h1 - h0) / 1000), "cpu_us": 1e6 * (c1 - c0) / max(msgs, 1),
            "sampler_cpu": cpu_seconds(sampler.process.pid) - s0,
            "load": os.getloadavg()[0]}  # fmt: skip


def throughput(args) -> None:
    print(
        f"== feed throughput with the sampler on and off, {args.contracts} contracts,"
        f" simulator as fast as it is read; sampling every {args.sampler_every} s;"
        f" {args.rounds} rounds of two {args.seconds:.0f} s windows, in the order"
        " off-on, on-off, off-on, ... (one feed, one sampler process throughout)"
        + ("; CONTROL: the sampler stays off in the 'on' windows too" * args.control)
    )
    stack = Stack(contracts=args.contracts, rate=0)
    feed = sampler = None
    try:
        feed = start_feed(stack, None)
        feed.wait_streaming()
        sampler = Sampler(stack, args.sampler_every)
        time.sleep(3)  # the feed's warm-up
        rounds = []
        for n in range(args.rounds):
            found = {}
            for on in (False, True) if n % 2 == 0 else (True, False):
                sampler.switch(on and not args.control)
                found[on] = window(stack, feed, sampler, args.seconds)
            rounds.append(found)
            off, on = found[False], found[True]
            print(f"round {n + 1}: off {off['rate']:,.0f} msg/s, feed CPU "
                  f"{off['cpu_us']:.1f} us/msg | on {on['rate']:,.0f} msg/s, "
                  f"{on['cpu_us']:.1f} us/msg, sampler CPU {on['sampler_cpu']:.1f} s"
                  f" | on/off: rate {on['rate'] / off['rate']:.3f}, CPU per msg "
                  f"{on['cpu_us'] / off['cpu_us']:.3f} | load {off['load']:.1f}, "
                  f"{on['load']:.1f}")  # fmt: skip
        sampler.switch(False)
        print(f"feed exact after the run: {check_exact(stack)}")
        for label, key in (("rate", "rate"), ("CPU per message", "cpu_us")):
            ratios = [r[True][key] / r[False][key] for r in rounds]
            print(f"on/off, {label}: median {statistics.median(ratios):.3f} "
                  f"({', '.join(f'{r:.3f}' for r in ratios)})")  # fmt: skip
    finally:
        for process in (sampler, feed):
            if process is not None:
                process.stop()
        stack.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contracts", type=int, default=2100)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--sampler-every", type=float, default=5)
    parser.add_argument("--only", choices=["sampler", "day", "throughput"])
    parser.add_argument(
        "--control", action="store_true",
        help="throughput: leave the sampler off in both windows (the noise floor)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.only in (None, "sampler", "day"):
        rate = args.contracts * 10
        stack = Stack(contracts=args.contracts, rate=rate)
        stack.rate = rate
        try:
            setup_django(stack)
            feed = stack.feed()
            feed.wait_streaming()
            time.sleep(3)
            if args.only in (None, "sampler"):
                sampler_cost(stack, 10)
            if args.only in (None, "day"):
                day(stack, args.runs)
        finally:
            stack.close()
    if args.only in (None, "throughput"):
        throughput(args)


if __name__ == "__main__":
    main()
