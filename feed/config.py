"""The feed's settings, with or without Django.

Under Django (`manage.py run_feed`, Celery, the web process) they are Django's
settings, so tests and `.env` work as everywhere else; the Django-free feed core
(`python -m feed`) reads the same names from the environment, with the same defaults
(tracker_project/settings.py takes its defaults from here).
"""

import os
import sys

DEFAULTS = {
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "BYBIT_REST_URL": "https://api.bybit.com",
    "BYBIT_WS_URL": "wss://stream.bybit.com/v5/public/option",
    "TRACKER_UNDERLYINGS": "BTC,ETH,SOL",
    "TRACKER_FIELDS": "full",
    "TRACKER_REFRESH_LOCK_SECONDS": "1200",
    "LOG_LEVEL": "INFO",
}


def setting(name: str):
    """Django's setting where Django is configured, else the environment's value."""
    if "django.conf" in sys.modules:
        from django.conf import settings

        if settings.configured:
            return getattr(settings, name)
    return os.environ.get(name, DEFAULTS[name])


def underlyings(value) -> list[str]:
    """Base coins from a comma-separated string or a list, upper-case, no repeats."""
    items = value.split(",") if isinstance(value, str) else value
    return list(dict.fromkeys(b.strip().upper() for b in items if b.strip()))
