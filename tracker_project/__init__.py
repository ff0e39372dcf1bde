import os

# The Celery app is loaded with Django (first-steps pattern) so that tasks can be sent
# from any web process; the lean feed process (TRACKER_FEED_ONLY) does without it.
if os.environ.get("TRACKER_FEED_ONLY") != "1":
    from tracker_project.lean import skip_unused_imports

    skip_unused_imports("kombu.serialization", "celery.utils.threads")  # before Celery
    from tracker_project.celery import app as celery_app

    __all__ = ("celery_app",)
