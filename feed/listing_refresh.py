"""The universe refresh without a database, for `python -m feed --refresh-minutes`.

The deployments without Celery (minimal, ultra-minimal) have no database: the
listing of each base coin goes straight to Redis (options.contracts), expired
contracts left out, under the same refresh lock and with the same record in
`ot:refresh:{exchange}` as the database's refresh (feed/refresh.py). A base coin whose
listing cannot be read keeps its contracts as they are.

    python -m feed.listing_refresh [--exchange bybit] [--underlyings BTC,ETH]
        [--unless-fresh SECONDS] [--redis-url URL]

The feed runs it in a child process, so the HTTP client never stays in its memory.
Exit status 0: refreshed or skipped; 1: a base coin failed; 2: bad arguments.
"""

import argparse
import logging
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

from redis.exceptions import LockError

from feed import exchanges
from feed.config import setting, underlyings
from options import contracts, keys, store

log = logging.getLogger(__name__)


def locked(client, exchange: str, work: Callable, *, fresh_for_s=None, wait_s=0.0):
    """`work()` under the exchange's refresh lock, so two refreshes never overlap;
    None without it when the lock is held (for `wait_s` s, if given) or a refresh
    succeeded less than `fresh_for_s` ago. `client`: a sync Redis client."""
    lock = client.lock(
        keys.refresh_lock(exchange),
        timeout=int(setting("TRACKER_REFRESH_LOCK_SECONDS")),
        blocking=False,
    )
    if not _acquire(lock, exchange, wait_s):
        log.info("%s refresh skipped: another refresh holds the lock", exchange)
        store.record_refresh_skipped(client, exchange)
        return None
    try:
        if fresh_for_s is not None:
            last_ok = int(store.read_refresh(client, exchange).get("last_ok_ts") or 0)
            if time.time() * 1000 - last_ok < fresh_for_s * 1000:
                return None
        return work()
    finally:
        try:
            lock.release()
        except LockError:  # held past its timeout: someone may have taken it since
            log.warning("%s refresh lock expired before the refresh ended", exchange)


def _acquire(lock, exchange: str, wait_s: float) -> bool:
    """Take the lock now, or within `wait_s` seconds of polling."""
    if lock.acquire(blocking=False):
        return True
    if wait_s <= 0:
        return False
    log.info("%s refresh waits up to %g s for another refresh to end", exchange,
             wait_s)  # fmt: skip
    return lock.acquire(blocking=True, blocking_timeout=wait_s)


def refresh_to_redis(client, exchange: str, bases: list[str]) -> tuple[str, dict]:
    """Fetch each base's listing and replace its universe in Redis; tell running
    feeds when something changed and record the outcome. Returns the summary line
    and the failed bases (base -> error)."""
    now = datetime.now(UTC)
    listed, failed = {}, {}
    listing = exchanges.adapter(exchange).listing()
    try:
        for base in bases:
            try:
                listed[base] = [i for i in listing.fetch(base) if i.expiry > now]
            except Exception as exc:  # one coin's failure must not stop the others
                failed[base] = getattr(exc, "message", None) or f"{exc!r}"
    finally:
        listing.close()
    before = contracts.read(client, exchange, list(listed))
    contracts.replace(client, exchange, listed)
    added, removed = _difference(before, listed)
    if added or removed:
        store.notify_universe_changed(client, exchange, "refresh")
    summary = (
        f"{exchange} [{', '.join(listed) or 'none'}]: "
        f"{sum(map(len, listed.values()))} listed, {added} added, {removed} removed"
    )
    errors = "; ".join(f"{base}: {error}" for base, error in failed.items())
    store.record_refresh(client, exchange, summary, errors)
    return (f"{summary}; FAILED {errors}" if errors else summary), failed


def _difference(before: dict, after: dict) -> tuple[int, int]:
    added = removed = 0
    for base, instruments in after.items():
        old = {i.symbol for i in before.get(base, ())}
        new = {i.symbol for i in instruments}
        added, removed = added + len(new - old), removed + len(old - new)
    return added, removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m feed.listing_refresh")
    parser.add_argument("--exchange", default="bybit")
    parser.add_argument("--underlyings", default=setting("TRACKER_UNDERLYINGS"))
    parser.add_argument("--unless-fresh", type=float, metavar="SECONDS")
    parser.add_argument("--redis-url", default=setting("REDIS_URL"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=setting("LOG_LEVEL"), format="%(levelname)s %(message)s")
    try:
        exchanges.adapter(args.exchange)
    except ValueError as exc:
        parser.error(str(exc))
    from options.clients import sync_client

    client = sync_client(args.redis_url)
    bases = underlyings(args.underlyings)
    try:
        outcome = locked(
            client, args.exchange,
            lambda: refresh_to_redis(client, args.exchange, bases),
            fresh_for_s=args.unless_fresh,
        )  # fmt: skip
    finally:
        client.close()
    if outcome is None:
        print("skipped: fresh or locked")
        return 0
    print(outcome[0])
    return 1 if outcome[1] else 0


if __name__ == "__main__":
    sys.exit(main())
