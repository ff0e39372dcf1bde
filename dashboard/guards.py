"""Who may hold a live-update socket: pages of the site itself (their Origin), and
not too many per client address or in all.

- SiteOriginValidator (tracker_project.asgi) refuses the handshake (403) unless the
  page's Origin is the site's own host (the handshake's Host header), an origin in
  DJANGO_TRUSTED_ORIGINS, or a host of DJANGO_ALLOWED_HOSTS other than `*`. Channels'
  AllowedHostsOriginValidator accepts any Origin once ALLOWED_HOSTS is `*`, which let
  any other site's page open sockets with the visitor's cookies.
- `sockets` counts the open chain sockets of this process (dashboard.consumers):
  WS_MAX_PER_CLIENT per client address, WS_MAX_TOTAL in all. The address is the
  peer's, or the proxy's X-Forwarded-For with `daphne --proxy-headers`.
"""

import ctypes
import ctypes.util
import logging
from collections import Counter
from urllib.parse import urlparse

from channels.security.websocket import OriginValidator, WebsocketDenier
from django.conf import settings
from django.http.request import is_same_domain

log = logging.getLogger(__name__)

TRIM_EVERY = 100  # closed sockets between two returns of free memory to the system
TOO_MANY_FROM_CLIENT = 4429  # chain.js shows it and retries with backoff
SERVER_FULL = 4430  # every place taken (RFC 6455 1013 is not one daphne may send)


class SiteOriginValidator(OriginValidator):
    """ASGI middleware for WebSocket scopes: the handshake goes on only from the
    site's own pages or trusted origins."""

    def __init__(self, application):
        super().__init__(application, allowed_origins=())

    async def __call__(self, scope, receive, send):
        headers = dict(scope.get("headers", []))
        origin = headers.get(b"origin", b"").decode("latin-1")
        host = headers.get(b"host", b"").decode("latin-1")
        if origin_allowed(origin, host, self):
            return await self.application(scope, receive, send)
        log.info("websocket %s refused: origin %r", scope.get("path"), origin)
        return await WebsocketDenier()(scope, receive, send)


def origin_allowed(origin: str, host: str, matcher: OriginValidator) -> bool:
    """Whether a page at `origin` may open a socket to the server it reached as
    `host`. No Origin at all is refused: browsers always send one, and a script
    can set it."""
    parsed = urlparse(origin)
    if not origin or not parsed.scheme or not parsed.netloc:
        return False
    if host and parsed.netloc.lower() == host.lower():
        return True
    trusted = settings.TRUSTED_ORIGINS
    if any(matcher.match_allowed_origin(parsed, pattern) for pattern in trusted):
        return True
    hosts = [pattern for pattern in settings.ALLOWED_HOSTS if pattern != "*"]
    return any(is_same_domain(parsed.hostname or "", pattern) for pattern in hosts)


class SocketCounts:
    """Open sockets per client address and in all, for this process."""

    def __init__(self):
        self.by_client: Counter[str] = Counter()
        self.total = 0
        self.closed = 0  # since the last trim

    def claim(self, client: str) -> int | None:
        """Count a new socket of `client`; or the close code that refuses it."""
        open_now = self.by_client[client]
        if open_now >= settings.WS_MAX_PER_CLIENT:
            log.warning("websocket refused: %s has %s open", client, open_now)
            return TOO_MANY_FROM_CLIENT
        if self.total >= settings.WS_MAX_TOTAL:
            log.warning("websocket refused: %s sockets open in all", self.total)
            return SERVER_FULL
        self.by_client[client] += 1
        self.total += 1
        return None

    def release(self, client: str) -> None:
        self.by_client[client] -= 1
        if self.by_client[client] <= 0:
            del self.by_client[client]
        self.total -= 1
        self.closed += 1
        if self.closed >= TRIM_EVERY:
            self.closed = 0
            trim_heap()


sockets = SocketCounts()


_LIBC = ctypes.util.find_library("c")
_trim = getattr(ctypes.CDLL(_LIBC), "malloc_trim", None) if _LIBC else None


def trim_heap() -> None:
    """Give the C heap's free pages back to the system (glibc; a no-op elsewhere).
    A burst of sockets leaves their buffers freed but scattered over the heap, where
    glibc keeps them: without this each burst of 300 left daphne a few MB larger
    (bench/socket_bursts.py). A few ms, once per TRIM_EVERY closed sockets."""
    if _trim is not None:
        _trim(0)


def client_address(scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"
