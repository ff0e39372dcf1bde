"""Celery tasks that keep the symbol universe current (schedules: docs/operations.md),
and the full deployment's notification delivery (docs/alerts.md).

Only the Celery worker imports this module; the lean feed process never does. The
work itself lives in feed.refresh, which `run_feed --refresh-minutes` shares.
"""

import logging
import time

from celery import shared_task
from django.conf import settings

from alerts import delivery
from alerts.destinations import redact_url
from alerts.send import deliver
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


@shared_task(name="feed.tasks.sample_history")
def sample_history(exchange: str = "bybit") -> str:
    """Every chain of `exchange` into the history, then the trim (options
    .history_write); nothing unless HISTORY_ENABLED. Every HISTORY_INTERVAL s."""
    if not settings.HISTORY_ENABLED:
        return "history is off (HISTORY_ENABLED)"
    from options.history_write import record

    interval, retention = settings.HISTORY_INTERVAL, settings.HISTORY_RETENTION
    return record(interval, retention, exchanges=[exchange])


@shared_task(name="feed.tasks.send_notification", bind=True, max_retries=None)
def send_notification(
    self, title: str, body: str, urls: list[str], first_try: float | None = None
) -> int:
    """Deliver a message to each apprise URL, apprise running in the worker (which
    has the memory the feed lacks); the destinations that failed are tried again
    with the Notifier's backoff until its retry window closes. Returns how many
    destinations received it in this try."""
    first_try = first_try or time.time()
    results = deliver([{"title": title, "body": body, "url": u} for u in urls])
    again = []
    for url, result in zip(urls, results, strict=True):
        if not result["ok"]:
            log.warning("notification %r to %s failed: %s",
                        title, redact_url(url), result["error"])  # fmt: skip
            again += [] if result["permanent"] else [url]
    left = first_try + delivery.RETRY_WINDOW_S - time.time()
    if again and left > 0:
        delay = delivery.BACKOFF_S * 2**self.request.retries
        delay = min(delay, delivery.BACKOFF_CAP_S, left)
        raise self.retry(args=(title, body, again, first_try), countdown=delay)
    if again:
        log.error("notification %r not delivered to %d destination(s) within %.0f s",
                  title, len(again), delivery.RETRY_WINDOW_S)  # fmt: skip
    return sum(r["ok"] for r in results)
