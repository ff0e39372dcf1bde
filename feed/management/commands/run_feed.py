"""`manage.py run_feed`: stream every option ticker of an exchange into Redis.

The database's universe (refreshed first when empty) goes to Redis, then the same
Django-free core as `python -m feed` runs (feed/core.py); it follows the universe in
Redis from then on."""

import asyncio
import logging
import sys
from functools import partial

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from feed import core

log = logging.getLogger("feed")


class Command(BaseCommand):
    help = "Stream option tickers from an exchange WebSocket into Redis."
    # A long-running worker: the checks (URLs, templates, security) belong to the web
    # process and cost this one memory for imports it never uses.
    requires_system_checks = []

    def add_arguments(self, parser):
        core.add_arguments(parser)

    def handle(self, *args, **opts):
        try:
            bases = core.check(opts)[2]
        except ValueError as exc:
            raise CommandError(str(exc))
        instruments = load_universe(opts["exchange"], bases, opts["redis_url"])
        connections.close_all()  # the stream needs no database; SQLite's cache is 2 MB
        if not instruments:
            raise CommandError(f"no active {opts['exchange']} contracts for {bases}")
        runner = core.build_runner(opts, instruments)
        refresher = None
        if opts["refresh_minutes"] > 0:
            refresher = partial(
                core.refresh_periodically,
                partial(refresh_command, opts["exchange"], bases),
                opts["refresh_minutes"] * 60, {"REDIS_URL": opts["redis_url"]},
            )  # fmt: skip
        asyncio.run(core.run_until_signalled(runner, refresher))
        return "Done."


def load_universe(exchange: str, bases: list[str], redis_url: str):
    """The active contracts from the database, refreshed first when there are none,
    written to Redis for the feed to follow."""
    from options.clients import sync_client
    from options.models import OptionContract
    from options.universe import publish_universe

    instruments = OptionContract.objects.feed_instruments(exchange, bases)
    if not instruments:
        from feed.refresh import refresh_universe  # imports the HTTP client: only now

        log.info(
            "no %s contracts in the database yet: refreshing the universe", exchange
        )
        report = refresh_universe(exchange, bases)
        log.info("%s", report)
        instruments = OptionContract.objects.feed_instruments(exchange, bases)
    client = sync_client(redis_url)
    try:
        publish_universe(client, exchange)
    finally:
        client.close()
    return instruments


def refresh_command(exchange: str, bases: list[str], fresh_for_s) -> list[str]:
    """`refresh_symbols` in a child process, sharing Celery's lock and record."""
    argv = [sys.executable, sys.argv[0], "refresh_symbols", "--exchange", exchange,
            "--underlyings", ",".join(bases)]  # fmt: skip
    return argv + (["--unless-fresh", str(fresh_for_s)] if fresh_for_s else [])
