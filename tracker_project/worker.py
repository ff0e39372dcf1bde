"""The Celery app as the worker loads it: only the apps whose tasks and models it
runs (settings.WORKER_APPS), not the web's admin, API and dashboard; and beat in a
thread of the worker with `--beat-thread`.

    celery -A tracker_project.worker worker --beat-thread --pool solo -l info

`-B` would fork beat into a second process that holds a copy of the worker's memory
(measured: 75 MB worker + 67 MB beat child); a thread shares it. The web process and
`celery -A tracker_project` load every app instead.
"""

import ctypes
import ctypes.util
import gc
import os

import click

from tracker_project.lean import skip_unused_imports

skip_unused_imports("celery.bootsteps", "celery.utils.debug")
from celery import bootsteps  # noqa: E402
from celery.signals import task_postrun, worker_ready  # noqa: E402

# Read when the settings load, which happens after this import (Celery reads its
# configuration lazily).
os.environ.setdefault("TRACKER_CELERY_WORKER", "1")

from tracker_project.celery import app  # noqa: E402


class ThreadedBeat(bootsteps.StartStopStep):
    """Celery beat (settings.CELERY_BEAT_SCHEDULER) in a thread of the worker."""

    label = "Beat (thread)"
    conditional = True

    def __init__(self, worker, beat_thread: bool = False, **options):
        self.enabled = beat_thread
        super().__init__(worker, **options)

    def create(self, worker):
        from celery.beat import EmbeddedService

        return EmbeddedService(
            worker.app, thread=True, scheduler_cls=worker.scheduler,
            schedule_filename=worker.schedule_filename,
        )  # fmt: skip


app.user_options["worker"].add(
    click.Option(
        ["--beat-thread"],
        is_flag=True,
        default=False,
        help="Run beat in a thread of this worker (one process, one copy of memory).",
    )  # fmt: skip
)
app.steps["worker"].add(ThreadedBeat)


@worker_ready.connect
def refresh_at_start(sender, **_) -> None:
    """The feed reads its universe from Redis (options.contracts), which a fresh
    deployment does not have yet: refresh now rather than at beat's first slot."""
    app.send_task("feed.tasks.refresh_symbols", kwargs={"exchange": "bybit"})


__all__ = ("app",)


_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")


@task_postrun.connect
def give_memory_back(**_) -> None:
    """The solo pool runs every task in this one long-lived process, and a refresh
    builds thousands of rows: hand the freed heap back to the system after each."""
    gc.collect()
    if hasattr(_LIBC, "malloc_trim"):  # glibc only
        _LIBC.malloc_trim(0)
