"""`manage.py run_feed`: stream every option ticker of an exchange into Redis."""

import asyncio
import logging
import os
import signal
import sys
from functools import partial

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from alerts.config import check_alert_settings
from options.fields import profile_fields

log = logging.getLogger("feed")


class Command(BaseCommand):
    help = "Stream option tickers from an exchange WebSocket into Redis."
    # A long-running worker: the checks (URLs, templates, security) belong to the web
    # process and cost this one memory for imports it never uses.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--exchange", default="bybit")
        parser.add_argument(
            "--underlyings",
            default=",".join(settings.TRACKER_UNDERLYINGS),
            help="comma-separated base coins (default: %(default)s)",
        )
        parser.add_argument(
            "--fields", default=settings.TRACKER_FIELDS,
            help="field profile: full, essential or critical (default: %(default)s)",
        )  # fmt: skip
        parser.add_argument(
            "--flush-ms", type=int, default=100,
            help="write to Redis this often (default: %(default)s); live updates "
            "for the dashboard go out right after each flush",
        )  # fmt: skip
        parser.add_argument("--stale-after", type=float, default=15.0)
        parser.add_argument("--redis-url", default=settings.REDIS_URL)
        parser.add_argument(
            "--refresh-minutes", type=float, default=0,
            help="refresh the symbol universe this often (for deployments without "
            "Celery; skipped while another refresh is recent)",
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

    def handle(self, *args, **opts):
        from feed import exchanges
        from feed.runner import FeedRunner

        try:
            fields = profile_fields(opts["fields"])
            adapter = exchanges.adapter(opts["exchange"]).stream()
            check_alert_settings()  # NOTIFY_URLS, TELEGRAM_*, ALERT_STALE_AFTER
        except ValueError as exc:
            raise CommandError(str(exc))
        if opts["flush_ms"] < 10 or opts["stale_after"] <= 0:
            raise CommandError("--flush-ms must be >= 10 and --stale-after > 0")
        if not 0 <= opts["metrics_port"] <= 65535:
            raise CommandError("--metrics-port must be a TCP port (1-65535), or 0")
        bases = [b.strip().upper() for b in opts["underlyings"].split(",") if b.strip()]
        instruments = load_universe(opts["exchange"], bases)
        connections.close_all()  # the stream needs no database; SQLite's cache is 2 MB
        if not instruments:
            raise CommandError(f"no active {opts['exchange']} contracts for {bases}")
        runner = FeedRunner(
            adapter, instruments, opts["redis_url"], fields,
            flush_ms=opts["flush_ms"], stale_after=opts["stale_after"],
            publish=not opts["no_publish"],
            universe_loader=partial(reload_universe, opts["exchange"], bases),
            metrics_port=opts["metrics_port"], metrics_host=opts["metrics_host"],
        )  # fmt: skip
        refresher = None
        if opts["refresh_minutes"] > 0:
            refresher = partial(
                refresh_periodically, opts["exchange"], bases,
                opts["refresh_minutes"] * 60, opts["redis_url"],
            )  # fmt: skip
        asyncio.run(run_until_signalled(runner, refresher))
        return "Done."


def load_universe(exchange: str, bases: list[str]):
    """The active contracts from the database, refreshed first when there are none."""
    from options.models import OptionContract

    instruments = OptionContract.objects.feed_instruments(exchange, bases)
    if not instruments:
        from feed.refresh import refresh_universe  # imports the HTTP client: only now

        log.info(
            "no %s contracts in the database yet: refreshing the universe", exchange
        )
        report = refresh_universe(exchange, bases)
        log.info("%s", report)
        instruments = OptionContract.objects.feed_instruments(exchange, bases)
    return instruments


def reload_universe(exchange: str, bases: list[str]):
    """The active contracts, read in a worker thread when the universe changed."""
    from options.models import OptionContract

    try:
        return OptionContract.objects.feed_instruments(exchange, bases)
    finally:
        connections.close_all()


async def refresh_periodically(exchange, bases, interval_s, redis_url) -> None:
    """The universe refresh for deployments without Celery beat: at start when the
    last refresh is older than the interval, then every interval; a failure is
    retried with capped, jittered backoff. Each refresh runs in a child process
    (`refresh_symbols --unless-fresh`, sharing Celery's lock and record), so the
    listing's HTTP client and the ORM's rows never stay in this process's memory."""
    from feed.backoff import full_jitter

    failures, delay = 0, 0.0
    while True:
        await asyncio.sleep(delay)
        child = await asyncio.create_subprocess_exec(
            sys.executable, sys.argv[0], "refresh_symbols", "--exchange", exchange,
            "--underlyings", ",".join(bases), "--unless-fresh", str(interval_s * 0.9),
            env={**os.environ, "REDIS_URL": redis_url},
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


async def run_until_signalled(runner, refresher=None) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, runner.stop.set)
    task = asyncio.create_task(refresher()) if refresher else None
    try:
        await runner.run()
    finally:
        if task:
            task.cancel()
