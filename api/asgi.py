"""The Redis-backed reads served straight from ASGI, around Django's middleware.

In an async view every MiddlewareMixin middleware runs its process_request and
process_response in a worker thread (Django's sync_to_async): with the project's eight
middlewares that is a dozen thread hops, several milliseconds, per request. The
read-only JSON endpoints need none of them (no session, no CSRF, no messages), so an
anonymous GET asking for JSON (or CSV) goes directly to the handler the URL's view
runs. The shortcut decides nothing of its own:

- routes come from the URLconf (api/urls.py): Django's resolver finds the view, and
  only views that api.fast.fast_get made for the shortcut carry `fast`;
- the host is checked by Django's own HttpRequest.get_host() (ALLOWED_HOSTS);
- the response gets its headers from the same middlewares as on the ordinary path
  (those of settings.MIDDLEWARE listed in HEADERS: security headers, CSP,
  X-Frame-Options), in the same order.

Everything else -- the browsable API, other methods, access checks when a setting
requires them, a refused host, a plain-http request that DJANGO_HTTPS redirects, a
query string with too many parameters (api.limits) -- takes the ordinary Django path.
"""

import io
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest
from django.middleware.security import SecurityMiddleware
from django.urls import Resolver404, resolve
from django.utils.module_loading import import_string

from api import access
from api.fast import serve, wanted_format
from api.limits import too_many_fields

# The middlewares whose process_response alone sets headers (no request state).
HEADERS = (
    "django.middleware.security.SecurityMiddleware",
    "api.headers.ContentSecurityPolicy",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
)


class FastReads:
    """ASGI app: the hot reads directly, anything else to `django_app`."""

    def __init__(self, django_app):
        self.django_app = django_app
        self.headers = [
            import_string(path)(_unused)
            for path in settings.MIDDLEWARE
            if path in HEADERS
        ]
        self.security = SecurityMiddleware(_unused)  # for its HTTPS redirect

    async def __call__(self, scope, receive, send):
        route = self._route(scope) if scope["type"] == "http" else None
        if route is None:
            return await self.django_app(scope, receive, send)
        handler, kwargs, request, fmt = route
        response = await serve(handler, request, fmt, **kwargs)
        for middleware in self.headers:
            response = middleware.process_response(request, response)
        await send_whole(response, send)

    def _route(self, scope):
        if scope["method"] != "GET" or access.checks_needed():
            return None
        request = ASGIRequest(scope, io.BytesIO())
        found = fast_route(request.path_info)
        if found is None:
            return None
        handler, formats, kwargs = found
        if not self._plain_request(request):
            return None
        fmt = wanted_format(request, formats)
        if fmt is None:
            return None
        return handler, kwargs, request, fmt

    def _plain_request(self, request) -> bool:
        """Whether Django's path has nothing to answer first: a refused host, the
        redirect to https, too many query parameters."""
        return (
            _host_allowed(request)
            and self.security.process_request(request) is None
            and too_many_fields(request) is None
        )


@lru_cache(maxsize=8192)  # resolving costs ~70 us; a tick's whole answer ~500 us
def fast_route(path: str):
    """(handler, formats, kwargs) of the URLconf's view at `path` if it is one that
    api.fast.fast_get made for the shortcut, else None."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    fast = getattr(match.func, "fast", None)
    return None if fast is None else (*fast, match.kwargs)


async def send_whole(response, send) -> None:
    """The response in one body message with its length (as CommonMiddleware sets
    it): Django's send_response cuts a 117 KB chain into 64 KB chunks, which daphne
    then sends chunk-encoded."""
    body = response.content
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.items()]
    headers.append((b"content-length", str(len(body)).encode()))
    start = {"type": "http.response.start", "status": response.status_code}
    await send({**start, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _host_allowed(request) -> bool:
    try:
        request.get_host()
    except DisallowedHost:
        return False  # Django answers the 400
    return True


def _unused(request):
    """The get_response of middlewares used only for their process_response."""
    raise AssertionError("not called")
