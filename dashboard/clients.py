"""The dashboard's Redis clients, for reading the store (options.store).

Views get one sync client per process; consumers share one asyncio client per event
loop (daphne runs one loop; tests run one per test), so 200 sockets on a chain use a
few pooled connections rather than 200.
"""

import asyncio
import weakref

import redis
import redis.asyncio as aioredis
from django.conf import settings

_sync: dict[str, redis.Redis] = {}
_async: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def sync_client() -> redis.Redis:
    url = settings.REDIS_URL
    if url not in _sync:
        _sync[url] = redis.Redis.from_url(
            url, decode_responses=True, socket_timeout=2, socket_connect_timeout=2
        )
    return _sync[url]


def async_client() -> aioredis.Redis:
    """The client of the running loop; a dead loop's client goes with its loop."""
    url = settings.REDIS_URL
    clients = _async.setdefault(asyncio.get_running_loop(), {})
    if url not in clients:
        clients[url] = aioredis.Redis.from_url(
            url, decode_responses=True, socket_timeout=2, socket_connect_timeout=2
        )
    return clients[url]
