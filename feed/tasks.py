"""Celery tasks that keep the symbol universe current (schedules: docs/operations.md).

Only the Celery worker imports this module; the lean feed process never does. Both
tasks tell a running feed what changed through options.store.notify_universe_changed.
"""

import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone
from redis.exceptions import LockError

from feed.refresh import refresh_universe
from options import store
from options.models import OptionContract
from options.universe import SyncReport

log = logging.getLogger(__name__)


class RefreshFailed(Exception):
    """A base coin's listing could not be read; its contracts were left as they
    were. Raised so that Celery retries the refresh with backoff."""


@shared_task(
    name="feed.tasks.refresh_symbols",
    bind=True,
    autoretry_for=(RefreshFailed,),
    max_retries=settings.TRACKER_REFRESH_MAX_RETRIES,
    retry_backoff=settings.TRACKER_REFRESH_RETRY_BACKOFF,
    retry_backoff_max=600,
    retry_jitter=True,
    # Killed before the lock expires, so two refreshes never overlap.
    time_limit=settings.TRACKER_REFRESH_LOCK_SECONDS - 60,
)
def refresh_symbols(self, exchange: str = "bybit") -> str:
    """Sync every enabled underlying of `exchange` with its listing, then roll off
    expired contracts. Returns the report, or "skipped" when another refresh runs."""
    client = store.sync_client(settings.REDIS_URL)
    lock = client.lock(
        store.refresh_lock_key(exchange),
        timeout=settings.TRACKER_REFRESH_LOCK_SECONDS,
        blocking=False,
    )
    try:
        if not lock.acquire():
            log.info("%s refresh skipped: another refresh holds the lock", exchange)
            store.record_refresh_skipped(client, exchange)
            return "skipped"
        try:
            return _refresh(client, exchange, self.request.retries)
        finally:
            _release(lock, exchange)
    finally:
        client.close()


@shared_task(name="feed.tasks.roll_off_expired")
def roll_off_expired(exchange: str = "bybit") -> int:
    """Mark contracts whose expiry has passed inactive; returns how many."""
    rolled = _roll_off(exchange)
    if rolled:
        client = store.sync_client(settings.REDIS_URL)
        try:
            store.notify_universe_changed(client, exchange, "expiry")
        finally:
            client.close()
    return len(rolled)


def _refresh(client, exchange: str, retries: int) -> str:
    try:
        report = refresh_universe(exchange)
    except Exception as exc:  # recorded for the operator, then Celery logs it
        store.record_refresh(client, exchange, "", f"{type(exc).__name__}: {exc}")
        raise
    # The listing keeps a contract for a while after its expiry (Bybit's
    # `Delivering`), and the sync reactivates it: roll it off again in the same step.
    rolled = _roll_off(exchange)
    if _net_change(report, rolled):
        store.notify_universe_changed(client, exchange, "refresh")
    if report.failed:
        errors = "; ".join(f"{base}: {error}" for base, error in report.failed.items())
        store.record_refresh(client, exchange, str(report), errors)
        log.warning("%s refresh attempt %d failed: %s", exchange, retries + 1, errors)
        raise RefreshFailed(errors)
    store.record_refresh(client, exchange, str(report))
    return str(report)


def _roll_off(exchange: str) -> list[str]:
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


def _release(lock, exchange: str) -> None:
    try:
        lock.release()
    except LockError:  # held past its timeout: someone may have taken it since
        log.warning("%s refresh lock had expired before the refresh ended", exchange)
