"""The analytics the dashboard shows: the chain page's strip and GEX chart (pushed
with the chain by consumers.ChainConsumer), and the term-structure page.

A chain's analytics are computed at most once every ANALYTICS_EVERY_S per process,
whatever the number of its sockets and the rate of its ticks (dashboard.latest): every
socket sends the latest finished computation, so no message waits on it.
"""

import logging

from redis.exceptions import RedisError

from dashboard.latest import latest
from options import read, samples
from options.analytics_read import read_analytics, read_expiry_analytics

log = logging.getLogger(__name__)

ANALYTICS_EVERY_S = 1.0


async def chain_analytics(exchange: str, base: str, expiry: str) -> dict | None:
    """One expiry's analytics (options.analytics_read); None when Redis has no such
    chain or cannot be read. Computed at most once every ANALYTICS_EVERY_S per
    process (dashboard.latest): a socket's message never waits on the computation,
    except when none has finished yet."""
    return await latest(
        ("analytics", exchange, base, expiry),
        ANALYTICS_EVERY_S,
        lambda: _compute(exchange, base, expiry),
    )


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
