"""The API's Redis clients: the only place in `api` that builds one.

Both use settings.REDIS_URL with decode_responses=True, as options.store expects. The
sync client serves the DRF views; the asyncio one serves the fast async views (chain,
ticks). An asyncio client is bound to the event loop that opened its connections, so
there is one per running loop: daphne has exactly one; the sync test client and WSGI
servers run each async view in a fresh loop, and the clients of closed loops are
dropped.
"""

import asyncio

import redis
import redis.asyncio
from django.conf import settings
from django.core.signals import setting_changed

from options.bulkread import BulkReader

# Bounded waits: a stalled Redis becomes a 503, never a hung request.
TIMEOUTS = {"socket_timeout": 2.0, "socket_connect_timeout": 1.0}

_sync: redis.Redis | None = None
_async: dict[asyncio.AbstractEventLoop, redis.asyncio.Redis] = {}
_bulk: dict[asyncio.AbstractEventLoop, BulkReader | None] = {}


def sync_client() -> redis.Redis:
    global _sync
    if _sync is None:
        _sync = redis.Redis.from_url(
            settings.REDIS_URL, decode_responses=True, **TIMEOUTS
        )
    return _sync


def async_client() -> redis.asyncio.Redis:
    """The asyncio client of the running loop."""
    loop = asyncio.get_running_loop()
    client = _async.get(loop)
    if client is None:
        for old in [old for old in _async if old.is_closed()]:
            del _async[old]
        client = redis.asyncio.Redis.from_url(
            settings.REDIS_URL, decode_responses=True, **TIMEOUTS
        )
        _async[loop] = client
    return client


def bulk_reader() -> BulkReader | None:
    """The running loop's BulkReader for many-hash reads; None where the URL is not
    plain redis:// (then the asyncio client's pipeline serves)."""
    loop = asyncio.get_running_loop()
    if loop not in _bulk:
        for old in [old for old in _bulk if old.is_closed()]:
            del _bulk[old]
        try:
            _bulk[loop] = BulkReader(
                settings.REDIS_URL, timeout=TIMEOUTS["socket_timeout"]
            )
        except ValueError:
            _bulk[loop] = None
    return _bulk[loop]


def reset(**kwargs) -> None:
    """Forget every client (tests point REDIS_URL at a private Redis)."""
    global _sync
    if kwargs.get("setting") not in (None, "REDIS_URL"):
        return
    if _sync is not None:
        _sync.close()
    _sync = None
    _async.clear()
    _bulk.clear()


setting_changed.connect(reset)
