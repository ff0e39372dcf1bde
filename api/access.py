"""Who may do what: read-only for anonymous clients unless API_TOKEN_REQUIRED, writes
for staff, and anonymous throttling at API_THROTTLE_ANON (off when empty).

All read the settings at request time, so `override_settings` works in tests (DRF
copies REST_FRAMEWORK into class attributes at import time).
"""

from django.conf import settings
from rest_framework import permissions, throttling


class ApiAccess(permissions.BasePermission):
    message = "Writes are for staff users."

    def has_permission(self, request, view) -> bool:
        if not handles(view, request.method):
            return True  # DRF answers 405 with Allow, whoever asks
        user = request.user
        authenticated = bool(user and user.is_authenticated)
        if settings.API_TOKEN_REQUIRED and not authenticated:
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        return authenticated and user.is_staff


def handles(view, method: str) -> bool:
    """Whether the DRF view has a handler for this HTTP method."""
    name = method.lower()
    return name in view.http_method_names and hasattr(view, name)


class AnonThrottle(throttling.AnonRateThrottle):
    """AnonRateThrottle at settings.API_THROTTLE_ANON (e.g. "120/min"); "" is off."""

    def get_rate(self) -> str | None:
        return settings.API_THROTTLE_ANON or None


def checks_needed() -> bool:
    """Whether a GET must run authentication, permissions and throttles at all: with
    neither setting on, every GET is allowed, so the async views skip them."""
    return bool(settings.API_TOKEN_REQUIRED or settings.API_THROTTLE_ANON)
