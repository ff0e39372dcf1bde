"""Celery tasks that keep the symbol universe current (schedules: docs/operations.md),
and the full deployment's notification delivery (docs/alerts.md).

Only the Celery worker imports this module; the lean feed process never does. The
refresh itself runs in a child process (`manage.py refresh_symbols`, feed.refresh),
as the feed's own `--refresh-minutes` does: the listing's HTTP client and the
thousands of rows a sync builds never stay in the long-lived worker's memory.
"""

import logging
import subprocess
import sys
import time

from celery import shared_task
from django.conf import settings

from alerts import delivery
from alerts.destinations import redact_url
from alerts.send import deliver
from feed.refresh import FAILED_EXIT, RefreshFailed, roll_off_expired
from options import clients
from options.universe import SyncReport, publish_universe

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
    output = run_refresh(exchange)
    return "skipped" if output.startswith("skipped") else output


def run_refresh(exchange: str) -> str:
    """`manage.py refresh_symbols` in a child process, with the task's semantics
    (no wait for the lock, no freshness skip): its report line; RefreshFailed when
    a base coin failed (retried with backoff), RuntimeError for anything else.
    The child's log goes to this process's log."""
    argv = [sys.executable, str(settings.BASE_DIR / "manage.py"), "refresh_symbols",
            "--exchange", exchange, "--unless-fresh", "0"]  # fmt: skip
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    last = ""
    with subprocess.Popen(argv, **pipes) as child:
        for line in child.stderr:  # as it is written, so the log keeps its order
            log.info("%s refresh: %s", exchange, line.rstrip())
            last = line.strip() or last
        output = child.stdout.read().strip().splitlines()
    if child.returncode == 0:
        return output[-1] if output else ""
    error = last or f"exit status {child.returncode}"
    error = error.removeprefix("CommandError: ").removeprefix("refresh failed: ")
    if child.returncode == FAILED_EXIT:
        log.warning("%s refresh failed: %s", exchange, error)
        raise RefreshFailed(error, SyncReport(exchange=exchange))
    raise RuntimeError(f"{exchange} refresh: {error}")


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
