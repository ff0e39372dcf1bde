"""The analytics the dashboard shows: the chain page's strip and GEX chart (pushed
with the chain by consumers.ChainConsumer), and the term-structure page.

A chain's analytics are computed at most once every ANALYTICS_EVERY_S per process,
whatever the number of its sockets and the rate of its ticks: the first socket that
asks after that reads the chain (only options.analytics.FIELDS) and computes; the
others share the result.
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

_computed: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


async def chain_analytics(exchange: str, base: str, expiry: str) -> dict | None:
    """One expiry's analytics (options.analytics_read), at most ANALYTICS_EVERY_S
    old; None when Redis has no such chain or cannot be read."""
    cache = _computed.setdefault(asyncio.get_running_loop(), {})
    key = (exchange, base, expiry)
    started, task = cache.get(key, (0.0, None))
    if task is None or time.monotonic() - started >= ANALYTICS_EVERY_S:
        if len(cache) > 256:  # chains nobody watches any more
            cache.clear()
        task = asyncio.ensure_future(_compute(exchange, base, expiry))
        cache[key] = (time.monotonic(), task)
    return await asyncio.shield(task)


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
