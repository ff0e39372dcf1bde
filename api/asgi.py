"""The chain and ticks reads served straight from ASGI, around Django's middleware.

In an async view every MiddlewareMixin middleware runs its process_request and
process_response in a worker thread (Django's sync_to_async): with the project's seven
middlewares that is a dozen thread hops, several milliseconds, per request. These two
read-only JSON endpoints need none of them (no session, no CSRF, no messages), so an
anonymous GET asking for JSON (or CSV) goes directly to the same handler the Django
view uses. Everything else -- the browsable API, other methods, access checks when a
setting requires them -- takes the ordinary Django path.
"""

import re

from django.conf import settings
from django.http import QueryDict
from django.http.request import split_domain_port, validate_host

from api import access
from api.fast import serve
from api.live_views import chain_handler, tick_handler

ROUTES = (
    (
        re.compile(
            r"^/api/chain/(?P<exchange>[^/]+)/(?P<base>[^/]+)/(?P<expiry>[^/]+)/$"
        ),
        chain_handler,
        ("json", "csv"),
    ),
    (
        re.compile(r"^/api/ticks/(?P<exchange>[^/]+)/(?P<symbol>[^/]+)/$"),
        tick_handler,
        ("json",),
    ),
)
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


class FastRequest:
    """What the fast handlers read of a request."""

    def __init__(self, scope):
        self.GET = QueryDict(scope.get("query_string", b"").decode("latin-1"))
        self.headers = {
            k.decode("latin-1").title(): v.decode("latin-1")
            for k, v in scope["headers"]
        }


class FastReads:
    """ASGI app: the hot reads directly, anything else to `django_app`."""

    def __init__(self, django_app):
        self.django_app = django_app

    async def __call__(self, scope, receive, send):
        route = self._route(scope) if scope["type"] == "http" else None
        if route is None:
            return await self.django_app(scope, receive, send)
        handler, kwargs, request, fmt = route
        response = await serve(handler, request, fmt, **kwargs)
        headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1"))
            for k, v in response.items()
        ]
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": headers + SECURITY_HEADERS,
            }
        )
        await send({"type": "http.response.body", "body": response.content})

    def _route(self, scope):
        if scope["method"] != "GET" or access.checks_needed():
            return None
        for pattern, handler, formats in ROUTES:
            match = pattern.match(scope["path"])
            if match is None:
                continue
            request = FastRequest(scope)
            fmt = request.GET.get("format") or "json"
            if fmt not in formats or "text/html" in request.headers.get("Accept", ""):
                return None
            if not _host_allowed(request.headers.get("Host", "")):
                return None  # Django answers the 400
            return handler, match.groupdict(), request, fmt
        return None


def _host_allowed(host: str) -> bool:
    domain, _ = split_domain_port(host)
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    return bool(domain) and validate_host(domain, allowed)
