"""The one place that builds Redis clients, with one set of timeouts.

- `sync_client(url)`: redis-py, for the admin, Celery tasks and commands (callers
  close it);
- `async_client()`: redis.asyncio, one per running event loop, for the web process;
- `bulk_reader()`: options.bulkread.BulkReader, one per running event loop, for reads
  of many hashes (None where the URL is not plain redis://);
- `feed_client(url)`: redis.asyncio without retries, for the feed, which retries by
  itself.

Every client decodes replies to str except the feed's, which writes packed commands
and reads little. An asyncio client is bound to the loop that opened its connections:
daphne runs one loop; the sync test client and WSGI servers run each async view in a
fresh loop, and the clients of closed loops are dropped.

Importable without Django settings: URLs are arguments, and only the per-loop
clients of the web process default to settings.REDIS_URL.
"""

import asyncio
import weakref

import redis
import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.retry import Retry

from options.bulkread import BulkReader

# Bounded waits: a stalled Redis becomes an error (a 503, a closed socket, a message
# in the admin), never a hung request or page.
TIMEOUT_S = 2.0
CONNECT_TIMEOUT_S = 1.0
_TIMEOUTS = {"socket_timeout": TIMEOUT_S, "socket_connect_timeout": CONNECT_TIMEOUT_S}

_per_loop: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def sync_client(url: str | None = None, timeout: float = TIMEOUT_S) -> redis.Redis:
    """A new sync client; the caller closes it."""
    return redis.Redis.from_url(
        url or _default_url(),
        decode_responses=True,
        socket_timeout=timeout,
        socket_connect_timeout=min(timeout, CONNECT_TIMEOUT_S),
    )


def feed_client(url: str) -> aioredis.Redis:
    """A client that fails fast: the feed keeps its state and retries by itself."""
    return aioredis.Redis.from_url(
        url, retry=Retry(NoBackoff(), 0), health_check_interval=0, **_TIMEOUTS
    )


def async_client() -> aioredis.Redis:
    """The running loop's asyncio client for settings.REDIS_URL."""
    clients = _loop_clients()
    if "async" not in clients:
        clients["async"] = aioredis.Redis.from_url(
            clients["url"], decode_responses=True, **_TIMEOUTS
        )
    return clients["async"]


def bulk_reader() -> BulkReader | None:
    """The running loop's BulkReader for settings.REDIS_URL; None where the URL is
    not plain redis:// (then async_client()'s pipeline serves)."""
    clients = _loop_clients()
    if "bulk" not in clients:
        try:
            clients["bulk"] = BulkReader(clients["url"], timeout=TIMEOUT_S)
        except ValueError:
            clients["bulk"] = None
    return clients["bulk"]


def _loop_clients() -> dict:
    """The running loop's clients, dropped when settings.REDIS_URL changes."""
    url = _default_url()
    clients = _per_loop.get(asyncio.get_running_loop())
    if clients is None or clients["url"] != url:
        clients = _per_loop[asyncio.get_running_loop()] = {"url": url}
    return clients


def _default_url() -> str:
    from django.conf import settings

    return settings.REDIS_URL
