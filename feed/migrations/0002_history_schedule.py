"""The history sampler's schedule (feed.tasks.sample_history) as a django-celery-beat
row: every HISTORY_INTERVAL seconds when this migration runs (60 by default); an
operator edits it in the admin afterwards. The task does nothing unless
HISTORY_ENABLED, so the row costs the small deployments nothing.
"""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

BEAT = "django_celery_beat"
NAME = "sample history"


def create(apps, schema_editor):
    try:
        PeriodicTask = apps.get_model(BEAT, "PeriodicTask")
    except LookupError:  # the lean feed settings: no beat, nothing to schedule
        return
    if PeriodicTask.objects.filter(name=NAME).exists():
        return  # an operator's edits win
    every = settings.HISTORY_INTERVAL
    interval, _ = apps.get_model(BEAT, "IntervalSchedule").objects.get_or_create(
        every=every, period="seconds"
    )
    # A sample that could not run in its own slot is worth nothing later.
    PeriodicTask.objects.create(
        name=NAME, task="feed.tasks.sample_history", interval=interval,
        kwargs='{"exchange": "bybit"}', expire_seconds=max(every - 1, 1),
    )  # fmt: skip
    apps.get_model(BEAT, "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()}
    )


def delete(apps, schema_editor):
    try:
        PeriodicTask = apps.get_model(BEAT, "PeriodicTask")
    except LookupError:
        return
    PeriodicTask.objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("feed", "0001_default_periodic_tasks")]
    operations = [migrations.RunPython(create, delete)]
