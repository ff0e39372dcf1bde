"""One JSON shape for every error the API returns:

    {"error": {"code": "invalid", "message": "strike_min: ...", "field": "strike_min"}}

`field` names the parameter or body field at fault, or is null. DRF views get the shape
from `exception_handler` (REST_FRAMEWORK["EXCEPTION_HANDLER"]); the async views build
it with `error_response`; unknown /api/ paths with `not_found`.
"""

import logging

import orjson
from django.http import Http404, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse
from redis.exceptions import RedisError
from rest_framework import exceptions, serializers
from rest_framework.response import Response

from options.read import NotFound

log = logging.getLogger(__name__)


class ApiError(exceptions.APIException):
    """An error with a code, a message and the parameter at fault."""

    def __init__(self, status_code: int, code: str, message: str, field=None):
        super().__init__(message, code)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.field = field


def bad_parameter(field: str, message: str) -> ApiError:
    return ApiError(400, "invalid", f"{field}: {message}", field)


def not_found(message: str, field: str | None = None) -> ApiError:
    return ApiError(404, "not_found", message, field)


def store_unavailable() -> ApiError:
    return ApiError(503, "unavailable", "the Redis store is unavailable; retry later")


def body(code: str, message: str, field: str | None = None) -> dict:
    return {"error": {"code": code, "message": message, "field": field}}


def error_response(exc: ApiError, headers: dict | None = None) -> HttpResponse:
    """The async views' error response (no DRF renderer involved)."""
    return HttpResponse(
        orjson.dumps(body(exc.code, exc.message, exc.field)),
        status=exc.status_code,
        content_type="application/json",
        headers=headers,
    )


def api_error(exc: Exception) -> ApiError | None:
    """The API's error for a read's failure: an unknown name is a 404 naming it,
    Redis unreachable a 503; None for anything else."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, NotFound):
        return not_found(exc.message, exc.field)
    if isinstance(exc, RedisError):
        log.warning("redis unavailable: %s", exc)
        return store_unavailable()
    return None


def exception_handler(exc, context):
    """DRF's handler with our shape; Redis failures become 503, nothing else a 500."""
    if isinstance(exc, Http404):
        exc = not_found(str(exc) or "not found")
    elif not isinstance(exc, exceptions.APIException):
        exc = api_error(exc)
        if exc is None:
            return None  # Django's 500 handling, logged with the traceback
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None) is not None:
        headers["Retry-After"] = str(int(exc.wait))
    return Response(describe(exc), status=exc.status_code, headers=headers)


def describe(exc: exceptions.APIException) -> dict:
    if isinstance(exc, ApiError):
        return body(exc.code, exc.message, exc.field)
    detail, field = exc.detail, None
    while isinstance(detail, dict | list) and detail:
        if isinstance(detail, dict):
            key = next(iter(detail))
            if field is None and key != "non_field_errors":
                field = str(key)
            detail = detail[key]
        else:
            detail = detail[0]
    code = getattr(detail, "code", None) or exc.default_code
    if isinstance(exc, exceptions.ValidationError):
        code = "invalid"
    message = f"{field}: {detail}" if field else str(detail)
    return body(str(code), message, field)


@csrf_exempt  # a PATCH to a malformed URL is a 404, not a CSRF failure page
def not_found_view(request, *args, **kwargs) -> HttpResponse:
    """Unknown paths under /api/ answer in the API's shape, not Django's HTML page."""
    return error_response(not_found(f"no API endpoint at {request.path}"))


# Schema --------------------------------------------------------------------------


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="invalid, not_found, unavailable, ...")
    message = serializers.CharField(help_text="what was wrong, for a human")
    field = serializers.CharField(
        allow_null=True, help_text="the parameter or field at fault, or null"
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


MEANINGS = {
    400: "A parameter is malformed, out of range, unknown, repeated or empty "
    "(`field` names it).",
    401: "Authentication is required (API_TOKEN_REQUIRED) or the token is wrong.",
    403: "Not allowed: writes are for staff users.",
    404: "Unknown exchange, base, expiry, symbol or object.",
    429: "Throttled (API_THROTTLE_ANON); see Retry-After.",
    503: "The Redis store is unavailable.",
}
# Every operation checks its query string (api.strict) and its access.
ALWAYS = (400, 401, 403, 429)


def errors(*codes: int) -> dict:
    """extend_schema responses for these error statuses plus bad parameters, auth
    and throttling."""
    wanted = sorted(set(codes) | set(ALWAYS))
    return {
        (code, "application/json"): OpenApiResponse(
            ErrorSerializer, description=MEANINGS[code]
        )
        for code in wanted
    }
