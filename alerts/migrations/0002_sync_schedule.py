"""The alert rules' sync (alerts.ruleset.sync) every 5 s, as a django-celery-beat
row: the firings the feed appended to Redis become AlertEvent rows within seconds,
and a rule set that a failed publish left behind is written again."""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

BEAT = "django_celery_beat"
NAME = "alerts: rule sets and firings"


def create_task(apps, schema_editor):
    try:
        PeriodicTask = apps.get_model(BEAT, "PeriodicTask")
    except LookupError:  # the lean feed settings: no beat, nothing to schedule
        return
    if PeriodicTask.objects.filter(name=NAME).exists():
        return  # an operator's edits win
    every, _ = apps.get_model(BEAT, "IntervalSchedule").objects.get_or_create(
        every=5, period="seconds"
    )
    # Expires before the next run: a worker that was down runs one sync, not a backlog.
    PeriodicTask.objects.create(
        name=NAME, task="alerts.sync", interval=every, expire_seconds=5
    )
    apps.get_model(BEAT, "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()}
    )


def delete_task(apps, schema_editor):
    try:
        PeriodicTask = apps.get_model(BEAT, "PeriodicTask")
    except LookupError:
        return
    PeriodicTask.objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("alerts", "0001_initial")] + (
        [(BEAT, "0019_alter_periodictasks_options")]
        if BEAT in settings.INSTALLED_APPS
        else []
    )
    operations = [migrations.RunPython(create_task, delete_task)]
