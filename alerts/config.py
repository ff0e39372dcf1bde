"""The alerts' settings from the environment, parsed once for the feed (no Django)
and for the web process (tracker_project.settings reads them from here)."""

import os
from collections.abc import Mapping

from alerts.destinations import urls_from_env

STALE_AFTER_S = 30.0  # ALERT_STALE_AFTER's default


def stale_after_s(environ: Mapping[str, str] | None = None) -> float:
    """ALERT_STALE_AFTER: seconds without an exchange message before the feed counts
    as stale (system alert, /readyz, manage.py feed_health)."""
    env = os.environ if environ is None else environ
    text = env.get("ALERT_STALE_AFTER", "").strip()
    if not text:
        return STALE_AFTER_S
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise ValueError(f"ALERT_STALE_AFTER must be seconds > 0, not {text!r}")
    return value


def check_alert_settings(environ: Mapping[str, str] | None = None) -> None:
    """ValueError naming the first malformed alert setting, before anything starts."""
    urls_from_env(environ)
    stale_after_s(environ)
