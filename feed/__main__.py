"""`python -m feed`: the feed without Django, for the deployments that have no
database (minimal, ultra-minimal) and the full one alike.

    python -m feed [--exchange bybit] [--underlyings BTC,ETH,SOL]
        [--fields full|essential|critical] [--flush-ms 100] [--stale-after 15]
        [--no-publish] [--refresh-minutes N] [--redis-url URL]

Settings come from the environment (REDIS_URL, BYBIT_WS_URL, BYBIT_REST_URL,
TRACKER_UNDERLYINGS, TRACKER_FIELDS, LOG_LEVEL: feed/config.py). The universe comes
from Redis (options.contracts), written by whoever refreshes it: Celery or
`manage.py refresh_symbols` in the full deployment, this process itself with
`--refresh-minutes` (`python -m feed.listing_refresh` in a child process) in the
others. Until there is one, the feed waits with its status `waiting`.
"""

import argparse
import asyncio
import logging
import sys
from functools import partial

from feed import core
from feed.config import setting


def refresh_command(runner, opts: dict, fresh_for_s) -> list[str]:
    """The child that refreshes the universe into Redis; while the feed has none,
    it refreshes whatever the record says."""
    argv = [sys.executable, "-m", "feed.listing_refresh", "--exchange",
            opts["exchange"], "--underlyings", opts["underlyings"],
            "--redis-url", opts["redis_url"]]  # fmt: skip
    if fresh_for_s and runner.instruments:
        argv += ["--unless-fresh", str(fresh_for_s)]
    return argv


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m feed", description=__doc__.split("\n\n")[0]
    )
    core.add_arguments(parser)
    opts = vars(parser.parse_args(argv))
    logging.basicConfig(
        level=setting("LOG_LEVEL"),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    try:
        runner = core.build_runner(opts)
    except ValueError as exc:
        parser.error(str(exc))
    refresher = None
    if opts["refresh_minutes"] > 0:
        refresher = partial(
            core.refresh_periodically, partial(refresh_command, runner, opts),
            opts["refresh_minutes"] * 60, {},
        )  # fmt: skip
    asyncio.run(core.run_until_signalled(runner, refresher))
    return 0


if __name__ == "__main__":
    sys.exit(main())
