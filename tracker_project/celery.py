"""The Celery application (Redis broker, UTC), configured from Django settings."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker_project.settings")

app = Celery("tracker_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
