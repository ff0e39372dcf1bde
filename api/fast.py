"""The async views of the Redis-backed endpoints, with the DRF view kept beside each.

Each endpoint has one path to its data: an async function that reads the read model
(options.read) and formats it. `fast_get(ViewClass, handler)` returns the URL's view:
a plain Django async function that runs the handler and answers with orjson bytes. It
serves GETs asking for JSON (or a format the handler lists, such as csv); anything
else -- the browsable API (text/html, ?format=api), HEAD, OPTIONS, unknown formats --
goes to the DRF view class, which gets the same data (`drf_data`) and documents the
endpoint for drf-spectacular (through the `cls` attribute that DRF's own as_view()
sets). Profiling the DRF path showed the serializers, content negotiation and the
thread hop of a sync view dominating a 200-contract chain; see bench/api_bench.py.

When a setting requires checks (API_TOKEN_REQUIRED, API_THROTTLE_ANON) the async view
runs the DRF view's authentication, permissions and throttles first, in the sync thread
(the token lookup uses the ORM).
"""

import orjson
from asgiref.sync import async_to_sync, sync_to_async
from django.http import HttpResponse
from rest_framework import exceptions
from rest_framework.renderers import BaseRenderer

from api import access, params
from api.errors import api_error, describe, error_response


class CsvRenderer(BaseRenderer):
    """Declares text/csv for DRF and the schema; api.chain.csv_bytes does the work."""

    media_type = "text/csv"
    format = "csv"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        from api.chain import csv_bytes

        if isinstance(data, dict) and "rows" in data:
            return csv_bytes(data, None)
        return orjson.dumps(data)


def json_response(data, status: int = 200) -> HttpResponse:
    return HttpResponse(
        orjson.dumps(data), status=status, content_type="application/json"
    )


def wanted_format(request, formats) -> str | None:
    """The format a GET asks for if a fast handler serves it, else None: the
    browsable API (text/html, ?format=api), other methods and unknown formats are
    the DRF view's."""
    fmt = request.GET.get("format") or "json"
    if (
        request.method != "GET"
        or fmt not in formats
        or "text/html" in request.headers.get("Accept", "")
    ):
        return None
    return fmt


def fast_get(view_cls, handler, formats=("json",), shortcut=True):
    """The URL's view. `shortcut`: api.asgi.FastReads may run the handler without
    Django's middleware; False for a handler that uses the database (Django's
    request signals manage its connections)."""
    drf_view = view_cls.as_view()
    drf_async = sync_to_async(drf_view)

    async def view(request, *args, **kwargs):
        fmt = wanted_format(request, formats)
        if fmt is None:
            return await drf_async(request, *args, **kwargs)
        if access.checks_needed():
            denied = await sync_to_async(check_access)(view_cls, request)
            if denied is not None:
                return denied
        return await serve(handler, request, fmt, *args, **kwargs)

    view.fast = (handler, formats) if shortcut else None  # for api.asgi.FastReads
    view.cls = view_cls
    view.initkwargs = getattr(drf_view, "initkwargs", {})
    view.csrf_exempt = True
    view.__name__ = view.__qualname__ = view_cls.__name__
    view.__doc__ = view_cls.__doc__
    return view


def json_handler(data, view_cls):
    """A fast handler answering `data(query, *args, **kwargs)` as JSON, after the
    query check the DRF view `view_cls` makes (api.strict.KnownQuery)."""
    allowed = view_cls().query_names()

    async def handler(request, fmt, *args, **kwargs):
        params.check_query(request.GET, allowed)
        return json_response(await data(request.GET, *args, **kwargs))

    return handler


def drf_data(data, request, *args, **kwargs):
    """`data(query, ...)` for a DRF view (the browsable API): DRF's views are sync,
    so this one call crosses to the event loop (asgiref) for the async read."""
    return async_to_sync(data)(request.query_params, *args, **kwargs)


async def serve(handler, request, fmt, *args, **kwargs) -> HttpResponse:
    """Run a fast handler; API errors, unknown names and a Redis outage become
    error responses."""
    try:
        return await handler(request, fmt, *args, **kwargs)
    except Exception as exc:
        error = api_error(exc)
        if error is None:
            raise
        return error_response(error)


def check_access(view_cls, request) -> HttpResponse | None:
    """DRF's authentication, permissions and throttles; None when they pass."""
    view = view_cls()
    view.args, view.kwargs, view.headers = (), {}, {}
    drf_request = view.initialize_request(request)
    view.request = drf_request
    try:
        view.perform_authentication(drf_request)
        view.check_permissions(drf_request)
        view.check_throttles(drf_request)
    except exceptions.APIException as exc:
        headers = {}
        if isinstance(
            exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed
        ):
            auth_header = view.get_authenticate_header(drf_request)
            if auth_header:
                headers["WWW-Authenticate"] = auth_header
            else:
                exc.status_code = 403
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(int(exc.wait))
        response = json_response(describe(exc), exc.status_code)
        for name, value in headers.items():
            response[name] = value
        return response
    return None
