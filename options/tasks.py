"""The analytics' minute samples as a Celery beat task (settings.CELERY_BEAT_SCHEDULE
runs it every HISTORY_INTERVAL seconds while HISTORY_ENABLED; the work is
options.samples').

Only the Celery worker imports this module.
"""

import logging

from celery import shared_task
from django.conf import settings

from options import samples

log = logging.getLogger(__name__)


@shared_task(name="options.tasks.sample_analytics")
def sample_analytics() -> str:
    """One sample of every underlying's analytics, then the trim. Does nothing with
    HISTORY_ENABLED off (a schedule row left from when it was on stays harmless)."""
    if not settings.HISTORY_ENABLED:
        return "history off"
    written = samples.record()
    trimmed = samples.trim()
    log.debug("analytics samples: %d written, %d trimmed", written, trimmed)
    return f"{written} written, {trimmed} trimmed"
