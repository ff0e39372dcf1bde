"""The minute samples' schedule as beat installs it: django-celery-beat's
DatabaseScheduler copies settings.CELERY_BEAT_SCHEDULE into its table when it starts,
so the settings are read afresh in a child `manage.py shell` for each environment."""

import pytest

from devtools.processes import ManagedCommand

CHECK = """
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler
from tracker_project.celery import app
DatabaseScheduler(app=app, lazy=True).setup_schedule()
found = PeriodicTask.objects.filter(name="sample analytics").first()
print("SCHEDULE", found and (found.task, found.interval.every, found.interval.period))
"""


def schedule(tmp_path, migrated_database, **env) -> str:
    log = tmp_path / "beat.log"
    database = migrated_database.copy(tmp_path / "db.sqlite3")
    environment = {"DATABASE_URL": database, "LOG_LEVEL": "WARNING", **env}
    ManagedCommand("shell", "-c", CHECK, env=environment, log_path=log).run(120)
    [line] = [ln for ln in log.read_text().splitlines() if ln.startswith("SCHEDULE")]
    return line


@pytest.mark.parametrize(
    "env, expected",
    [
        ({}, "SCHEDULE None"),  # history off: nothing scheduled
        ({"HISTORY_ENABLED": "1"},
         "SCHEDULE ('options.tasks.sample_analytics', 60, 'seconds')"),
        ({"HISTORY_ENABLED": "1", "HISTORY_INTERVAL": "30"},
         "SCHEDULE ('options.tasks.sample_analytics', 30, 'seconds')"),
    ],
)  # fmt: skip
def test_beat_runs_the_samples_every_interval_while_history_is_on(
    tmp_path, migrated_database, env, expected
):
    assert schedule(tmp_path, migrated_database, **env) == expected
