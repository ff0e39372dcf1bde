"""Celery tasks that keep the symbol universe current (schedules: docs/operations.md).

Only the Celery worker imports this module; the lean feed process never does. The
work itself lives in feed.refresh, which `run_feed --refresh-minutes` shares.
"""

import logging

from celery import shared_task
from django.conf import settings

from feed.refresh import RefreshFailed, locked_refresh, roll_off_expired
from options import clients
from options.universe import publish_universe

log = logging.getLogger(__name__)


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
    client = clients.sync_client()
    try:
        report = locked_refresh(client, exchange)
    except RefreshFailed as exc:
        log.warning("%s refresh attempt %d failed: %s", exchange,
                    self.request.retries + 1, exc)  # fmt: skip
        raise
    finally:
        client.close()
    return "skipped" if report is None else str(report)


@shared_task(name="feed.tasks.roll_off_expired")
def roll_off_expired_task(exchange: str = "bybit") -> int:
    """Mark contracts whose expiry has passed inactive; returns how many."""
    rolled = roll_off_expired(exchange)
    if rolled:
        client = clients.sync_client()
        try:
            publish_universe(client, exchange, "expiry")
        finally:
            client.close()
    return len(rolled)
