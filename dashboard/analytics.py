"""The analytics the dashboard shows: the chain page's strip and GEX chart (pushed
with the chain by consumers.ChainConsumer), and the term-structure page.

A chain's analytics are computed at most once every ANALYTICS_EVERY_S per process,
whatever the number of its sockets and the rate of its ticks: the first socket that
asks after that starts a computation (a read of options.quote.FIELDS only); every
socket sends the latest finished one, so no message waits on it.
"""

import asyncio
import logging
import time
import weakref

from redis.exceptions import RedisError

from options import read, samples
from options.analytics_read import read_analytics, read_expiry_analytics

log = logging.getLogger(__name__)

ANALYTICS_EVERY_S = 1.0


class Computed:
    """One chain's latest analytics in this process, and the computation under way."""

    __slots__ = ("started", "task", "latest")

    def __init__(self):
        self.started = 0.0
        self.task: asyncio.Future | None = None
        self.latest: dict | None = None


_computed: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


async def chain_analytics(exchange: str, base: str, expiry: str) -> dict | None:
    """One expiry's analytics (options.analytics_read); None when Redis has no such
    chain or cannot be read. Starts a new computation when the last one started
    ANALYTICS_EVERY_S ago, and answers with the latest finished one without
    waiting for it (a socket's message never waits on the computation), except
    when none has finished yet."""
    cache = _computed.setdefault(asyncio.get_running_loop(), {})
    key = (exchange, base, expiry)
    entry = cache.get(key)
    if entry is None:
        if len(cache) > 256:  # chains nobody watches any more
            cache.clear()
        entry = cache[key] = Computed()
    if entry.task is not None and entry.task.done():
        entry.latest, entry.task = entry.task.result(), None
    if entry.task is None and time.monotonic() - entry.started >= ANALYTICS_EVERY_S:
        entry.started = time.monotonic()
        entry.task = asyncio.ensure_future(_compute(exchange, base, expiry))
    if entry.latest is None and entry.task is not None:
        return await asyncio.shield(entry.task)
    return entry.latest


async def _compute(exchange: str, base: str, expiry: str) -> dict | None:
    try:
        return await read_expiry_analytics(exchange, base, expiry)
    except read.NotFound:
        return None
    except (RedisError, OSError) as exc:
        log.warning("analytics %s %s %s: %s", exchange, base, expiry, exc)
        return None


async def term_data(exchange: str, base: str) -> dict:
    """The term-structure page's data: the underlying's analytics now (without GEX
    by strike) and its minute samples of the last HISTORY_RETENTION seconds."""
    found = (await read_analytics(exchange, base)).as_dict()
    since, until = samples.window(None, None)
    history = await samples.read_samples(exchange, base, since, until)
    return {**found, "history": history}
