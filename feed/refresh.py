"""Refresh the symbol universe: fetch each enabled base coin's listing and sync it.

A base coin whose listing cannot be read keeps its contracts exactly as they are (a
failed fetch says nothing about what is listed); the others proceed.
"""

import logging
from collections.abc import Iterable

from django.conf import settings
from django.utils import timezone

from feed import exchanges
from feed.exchanges.base import Listing
from feed.listing_refresh import locked
from options import store
from options.models import OptionContract, Underlying
from options.universe import SyncReport, publish_universe, sync_listing

log = logging.getLogger(__name__)


def ensure_underlyings(exchange: str) -> None:
    """Seed an exchange without underlyings from settings.TRACKER_UNDERLYINGS."""
    if Underlying.objects.filter(exchange=exchange).exists():
        return
    bases = dict.fromkeys(b.strip().upper() for b in settings.TRACKER_UNDERLYINGS)
    Underlying.objects.bulk_create(
        [Underlying(exchange=exchange, base_coin=b) for b in bases if b],
        ignore_conflicts=True,
    )


def refresh_universe(
    exchange: str = "bybit",
    bases: Iterable[str] | None = None,
    listing: Listing | None = None,
) -> SyncReport:
    """Sync every enabled base coin of `exchange` (or only `bases`) with its listing."""
    client = listing if listing is not None else exchanges.adapter(exchange).listing()
    try:
        ensure_underlyings(exchange)
        report = SyncReport(exchange=exchange)
        for base in _wanted(exchange, bases, report):
            report = report.merge(_refresh_base(exchange, base, client))
    finally:
        if listing is None:
            client.close()
    log.info("universe refresh %s", report)
    return report


def _wanted(exchange: str, bases: Iterable[str] | None, report: SyncReport) -> list:
    """The enabled base coins to refresh; asked-for ones that are not go to `failed`."""
    enabled = list(
        Underlying.objects.filter(exchange=exchange, enabled=True)
        .order_by("base_coin")
        .values_list("base_coin", flat=True)
    )
    if bases is None:
        return enabled
    asked = list(dict.fromkeys(b.strip().upper() for b in bases if b.strip()))
    for base in asked:
        if base not in enabled:
            report.failed[base] = f"not an enabled underlying of {exchange}"
    return [b for b in asked if b in enabled]


def _refresh_base(exchange: str, base: str, listing: Listing) -> SyncReport:
    try:
        instruments = listing.fetch(base)
    except Exception as exc:  # one coin's failure must not stop the others
        message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        log.warning("%s %s: listing failed, contracts left as they are: %s",
                    exchange, base, message)  # fmt: skip
        return SyncReport(exchange=exchange, failed={base: message})
    return sync_listing(exchange, base, instruments)


def base_coin_exists(base_coin: str, exchange: str = "bybit") -> bool:
    """Whether `exchange` lists options of `base_coin` (settings.TRACKER_BASE_COIN_CHECK
    for the admin's add form). Raises ValueError for an unknown exchange and the
    listing's error (ListingError, with `.message`) when the exchange cannot answer.

    Someone waits on the answer, so the client tries twice and waits out no ban."""
    client = exchanges.adapter(exchange).listing(
        max_retries=1, ban_wait=1.0, timeout=5.0
    )
    try:
        return client.base_coin_exists(base_coin)
    finally:
        client.close()


# Every refresh but the feed's first one: the Celery task, `run_feed --refresh-minutes`
# and `manage.py refresh_symbols` all take this path. -----------------------------


# `manage.py refresh_symbols --unless-fresh`'s exit status when a base coin failed:
# the Celery task, which runs it in a child process, retries on it.
FAILED_EXIT = 3


class RefreshFailed(Exception):
    """A base coin's listing could not be read; its contracts were left as they
    were. Raised so that the caller retries with backoff; `report` says what the
    other coins did."""

    def __init__(self, message: str, report: SyncReport) -> None:
        super().__init__(message)
        self.report = report


def locked_refresh(
    client,
    exchange: str,
    bases=None,
    fresh_for_s: float | None = None,
    wait_s: float = 0.0,
) -> SyncReport | None:
    """Refresh under the exchange's refresh lock, so two refreshes never overlap.

    Returns None without refreshing when another process holds the lock (for
    `wait_s` seconds, if given), or when a refresh succeeded less than `fresh_for_s`
    ago (so that with Celery beat running, the feed's own schedule does nothing).
    `client`: a sync Redis client. ValueError for an unknown exchange, before the
    lock is taken or anything recorded."""
    exchanges.adapter(exchange)  # an unknown name raises here, before the lock
    return locked(
        client, exchange, lambda: refresh_and_notify(client, exchange, bases),
        fresh_for_s=fresh_for_s, wait_s=wait_s,
    )  # fmt: skip


def refresh_and_notify(client, exchange: str, bases=None) -> SyncReport:
    """Sync, roll off what expired, tell a running feed when the universe changed,
    and record the outcome in Redis. Raises RefreshFailed when a coin failed."""
    try:
        report = refresh_universe(exchange, bases)
    except Exception as exc:  # recorded for the operator, then raised
        store.record_refresh(client, exchange, "", f"{type(exc).__name__}: {exc}")
        raise
    # The listing keeps a contract for a while after its expiry (Bybit's
    # `Delivering`) and the sync reactivates it: roll it off again in the same step.
    rolled = roll_off_expired(exchange)
    # The feed reads the universe from Redis: written at every refresh, so that a
    # Redis that lost it has it again; the feeds are told only of a change.
    publish_universe(client, exchange, "refresh" if _net_change(report, rolled) else "")
    if report.failed:
        errors = "; ".join(f"{base}: {error}" for base, error in report.failed.items())
        store.record_refresh(client, exchange, str(report), errors)
        raise RefreshFailed(errors, report)
    store.record_refresh(client, exchange, str(report))
    return report


def roll_off_expired(exchange: str) -> list[str]:
    """Mark active contracts whose expiry has passed inactive; their symbols."""
    expired = OptionContract.objects.filter(
        exchange=exchange, is_active=True, expiry__lte=timezone.now()
    )
    symbols = list(expired.values_list("symbol", flat=True))
    if symbols:
        expired.update(is_active=False)
        log.info("%s rolled off %d expired contract(s): %s", exchange, len(symbols),
                 ", ".join(symbols[:10]))  # fmt: skip
    return symbols


def _net_change(report: SyncReport, rolled: list[str]) -> bool:
    """Whether the universe differs after the sync and the roll-off: a contract the
    sync reactivated and the roll-off deactivated again is no change."""
    moved = set(report.added + report.updated + report.deactivated)
    return bool(moved or set(report.reactivated) ^ set(rolled))
