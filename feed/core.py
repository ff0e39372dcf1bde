"""The feed's entry point, with or without Django: the options, the runner built
from them, the universe read from Redis, the refresh schedule, and the run until a
signal.

`python -m feed` (feed/__main__.py) calls it with no Django at all; `manage.py
run_feed` loads the database's universe first, then hands over here. Both read the
universe from Redis afterwards (options.contracts), where every refresh writes it.
"""

import asyncio
import logging
import os
import re
import signal
from collections.abc import Callable, Sequence
from functools import partial

from alerts.config import check_alert_settings
from feed import exchanges
from feed.config import setting, underlyings
from feed.runner import FeedRunner
from options import contracts
from options.fields import profile_fields
from options.instruments import Instrument

log = logging.getLogger("feed")
SHARD_NAME = re.compile(r"[A-Za-z0-9_-]{1,32}")


def add_arguments(parser) -> None:
    """The options of `python -m feed` and `manage.py run_feed` (feed.config)."""
    parser.add_argument("--exchange", default="bybit")
    parser.add_argument(
        "--underlyings", default=",".join(underlyings(setting("TRACKER_UNDERLYINGS"))),
        help="comma-separated base coins (default: %(default)s); feeds with different "
        "base coins can run side by side on one Redis",
    )  # fmt: skip
    parser.add_argument(
        "--fields", default=setting("TRACKER_FIELDS"),
        help="field profile: full, essential or critical (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--flush-ms", type=int, default=100,
        help="write to Redis this often (default: %(default)s); live updates "
        "for the dashboard go out right after each flush",
    )  # fmt: skip
    parser.add_argument("--stale-after", type=float, default=15.0)
    parser.add_argument("--redis-url", default=setting("REDIS_URL"))
    parser.add_argument(
        "--refresh-minutes", type=float, default=0,
        help="refresh the symbol universe this often (for deployments without "
        "Celery; skipped while another refresh is recent)",
    )  # fmt: skip
    parser.add_argument(
        "--shard", default="", metavar="NAME",
        help="one of several feeds side by side on one Redis, each with its own "
        "--underlyings: its status goes to ot:feed:{exchange}:{NAME}",
    )  # fmt: skip
    parser.add_argument(
        "--metrics-port", type=int, default=0,
        help="serve Prometheus metrics at http://HOST:PORT/metrics (default: off)",
    )  # fmt: skip
    parser.add_argument(
        "--metrics-host", default="127.0.0.1",
        help="address the metrics listen on (default: %(default)s; 0.0.0.0 in a "
        "container)",
    )  # fmt: skip
    parser.add_argument(
        "--no-publish", action="store_true",
        help="do not publish live updates for the dashboard (minimal deployment)",
    )  # fmt: skip


def check(opts: dict):
    """The stream adapter, the fields and the base coins the options name;
    ValueError says what is wrong with them."""
    fields = profile_fields(opts["fields"])
    adapter = exchanges.adapter(opts["exchange"]).stream()
    check_alert_settings()  # NOTIFY_URLS, TELEGRAM_*, ALERT_STALE_AFTER
    if opts["flush_ms"] < 10 or opts["stale_after"] <= 0:
        raise ValueError("--flush-ms must be >= 10 and --stale-after > 0")
    if not 0 <= opts["metrics_port"] <= 65535:
        raise ValueError("--metrics-port must be a TCP port (1-65535), or 0")
    bases = underlyings(opts["underlyings"])
    if not bases:
        raise ValueError("--underlyings names no base coin")
    if opts["shard"] and not SHARD_NAME.fullmatch(opts["shard"]):
        raise ValueError("--shard takes letters, digits, '-' and '_'")
    return adapter, fields, bases


def build_runner(opts: dict, instruments: Sequence[Instrument] = ()) -> FeedRunner:
    """The runner the options describe, reloading its universe from Redis."""
    adapter, fields, bases = check(opts)
    runner = FeedRunner(
        adapter, instruments, opts["redis_url"], fields,
        flush_ms=opts["flush_ms"], stale_after=opts["stale_after"],
        publish=not opts["no_publish"], shard=opts["shard"],
        metrics_port=opts["metrics_port"], metrics_host=opts["metrics_host"],
        bases=bases if opts["shard"] else None,
    )  # fmt: skip

    runner.universe_loader = partial(load_universe, runner, bases)
    return runner


async def load_universe(runner: FeedRunner, bases: list[str]) -> list[Instrument]:
    """The universe of these bases in Redis. A base Redis lost (a restart without
    persistence) keeps what the feed holds, written back for other processes; a
    base whose contracts all left is empty."""
    found = await contracts.a_read(runner.redis, runner.exchange, bases)
    held = {b: [i for i in runner.instruments.values() if i.base == b] for b in bases}
    lost = {b: held[b] for b, got in found.items() if got is None and held[b]}
    if lost:
        log.warning("feed %s: Redis lost the universe of %s; writing it back",
                    runner.exchange, ", ".join(lost))  # fmt: skip
        pipe = runner.redis.pipeline(transaction=True)
        contracts.queue_replace(pipe, runner.exchange, lost)
        await pipe.execute()
    return [i for b in bases for i in (held[b] if found[b] is None else found[b])]


async def refresh_periodically(
    command: Callable[[float | None], list[str]], interval_s: float, env: dict
) -> None:
    """The universe refresh for deployments without Celery beat: at start (unless
    the last refresh is recent), then every interval; a failure is retried with
    capped, jittered backoff. `command(fresh_for_s)` is the child's argv: each
    refresh runs in a child process, so the listing's HTTP client never stays in
    this process's memory."""
    from feed.backoff import full_jitter

    failures, delay = 0, 0.0
    while True:
        await asyncio.sleep(delay)
        child = await asyncio.create_subprocess_exec(
            *command(interval_s * 0.9), env={**os.environ, **env},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output = (await child.communicate())[0].decode(errors="replace").strip()
        if child.returncode == 0:
            failures, delay = 0, interval_s
            log.info("universe refresh: %s", output.splitlines()[-1] if output else "")
            continue
        failures += 1
        delay = max(5.0, full_jitter(failures, base=10, cap=min(interval_s, 600)))
        log.warning(
            "universe refresh failed (%s); next try in %.0fs", output[-500:], delay
        )


async def run_until_signalled(runner: FeedRunner, refresher=None) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, runner.stop.set)
    task = asyncio.create_task(refresher()) if refresher else None
    try:
        await runner.run()
    finally:
        if task:
            task.cancel()
