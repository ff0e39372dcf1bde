"""The default schedules of feed/tasks.py, as django-celery-beat rows: beat's
DatabaseScheduler runs them and an operator edits them in the admin afterwards.

Every task expires before its next run is due, so a worker that was down for hours
runs one refresh when it comes back, not a backlog (docs/operations.md).
"""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

BEAT = "django_celery_beat"
KWARGS = '{"exchange": "bybit"}'
# name -> (task, schedule, expire_seconds); a schedule is ("every", minutes) or
# ("cron", minute, hour), always UTC.
TASKS = {
    "refresh symbols every 15 minutes": (
        "feed.tasks.refresh_symbols", ("every", 15), 600,
    ),
    "refresh symbols after the 08:00 UTC listing": (
        "feed.tasks.refresh_symbols", ("cron", "1", "8"), 600,
    ),
    # Every 5 minutes on the clock, so also on the dot at 08:00 UTC when Bybit's
    # options expire; the other slots catch any other expiry time and missed runs.
    "roll off expired contracts": (
        "feed.tasks.roll_off_expired", ("cron", "*/5", "*"), 240,
    ),
}  # fmt: skip


def create_tasks(apps, schema_editor):
    try:
        PeriodicTask = apps.get_model(BEAT, "PeriodicTask")
    except LookupError:  # the lean feed settings: no beat, nothing to schedule
        return
    for name, (task, schedule, expire_seconds) in TASKS.items():
        if PeriodicTask.objects.filter(name=name).exists():
            continue  # an operator's edits win
        PeriodicTask.objects.create(
            name=name,
            task=task,
            kwargs=KWARGS,
            expire_seconds=expire_seconds,
            **_schedule(apps, schedule),
        )
    # Beat reloads its schedule when this stamp moves (PeriodicTasks.update_changed).
    apps.get_model(BEAT, "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()}
    )


def _schedule(apps, schedule: tuple) -> dict:
    if schedule[0] == "every":
        interval, _ = apps.get_model(BEAT, "IntervalSchedule").objects.get_or_create(
            every=schedule[1], period="minutes"
        )
        return {"interval": interval}
    crontab, _ = apps.get_model(BEAT, "CrontabSchedule").objects.get_or_create(
        minute=schedule[1], hour=schedule[2], day_of_week="*", day_of_month="*",
        month_of_year="*", timezone="UTC",
    )  # fmt: skip
    return {"crontab": crontab}


def delete_tasks(apps, schema_editor):
    try:
        PeriodicTask = apps.get_model(BEAT, "PeriodicTask")
    except LookupError:
        return
    PeriodicTask.objects.filter(name__in=TASKS).delete()


class Migration(migrations.Migration):
    # Without django_celery_beat (TRACKER_FEED_ONLY) this migration does nothing.
    dependencies = (
        [(BEAT, "0019_alter_periodictasks_options")]
        if BEAT in settings.INSTALLED_APPS
        else []
    )
    operations = [migrations.RunPython(create_tasks, delete_tasks)]
