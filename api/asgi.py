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
- the response gets its headers from Django's SecurityMiddleware and
  XFrameOptionsMiddleware, as on the ordinary path.

Everything else -- the browsable API, other methods, access checks when a setting
requires them, a refused host -- takes the ordinary Django path.
"""

import io
from functools import lru_cache

from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.security import SecurityMiddleware
from django.urls import Resolver404, resolve

from api import access
from api.fast import serve, wanted_format


class FastReads:
    """ASGI app: the hot reads directly, anything else to `django_app`."""

    def __init__(self, django_app):
        self.django_app = django_app
        self.headers = [SecurityMiddleware(_unused), XFrameOptionsMiddleware(_unused)]

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
        fmt = wanted_format(request, formats)
        if fmt is None or not _host_allowed(request):
            return None
        return handler, kwargs, request, fmt


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
