"""The Celery application (Redis broker, UTC), configured from Django settings.

    celery -A tracker_project worker -l info --concurrency 1
    celery -A tracker_project beat -l info

Beat uses django-celery-beat's DatabaseScheduler (settings.CELERY_BEAT_SCHEDULER): the
schedules are rows that feed/migrations/0001 creates and the admin edits.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker_project.settings")

app = Celery("tracker_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
# UTC whatever settings say: the schedules are written for 08:00 UTC expiries.
app.conf.update(
    timezone="UTC",
    enable_utc=True,
    broker_connection_retry_on_startup=True,
)
app.autodiscover_tasks()
