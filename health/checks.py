"""What /readyz and `manage.py feed_health` check: the database, Redis, and each
feed's last exchange message and heartbeat (through the read model).

Each check answers None when all is well, else a short text saying what is wrong.
"""

from asgiref.sync import sync_to_async
from django.db import connection
from redis.exceptions import RedisError

from options import clients
from options.read import read_feed_health
from options.rows import FeedHealth


async def database_problem() -> str | None:
    try:
        await sync_to_async(_select_one)()
    except Exception as exc:  # any driver's error means the same: not ready
        return f"database unreachable: {exc}"
    return None


def _select_one() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


async def redis_problem() -> str | None:
    try:
        await clients.async_client().ping()
    except (RedisError, OSError) as exc:
        return f"Redis unreachable: {exc}"
    return None


async def feed_problem(exchange: str, max_age_s: float) -> str | None:
    """The feed's last exchange message or heartbeat older than max_age_s, or no
    feed ever ran; Redis must answer (RedisError otherwise)."""
    return feed_health_problem(await read_feed_health(exchange), max_age_s)


def feed_health_problem(health: FeedHealth, max_age_s: float) -> str | None:
    limit_ms = max_age_s * 1000
    name = f"feed {health.exchange}"
    if health.state is None:
        return f"{name}: no status in Redis (never ran)"
    if _older(health.heartbeat_age_ms, limit_ms):
        return f"{name}: no heartbeat for {_s(health.heartbeat_age_ms)}"
    if _older(health.last_msg_age_ms, limit_ms):
        return f"{name}: no exchange message for {_s(health.last_msg_age_ms)}"
    return None


def _older(age_ms: int | None, limit_ms: float) -> bool:
    return age_ms is None or age_ms > limit_ms


def _s(age_ms: int | None) -> str:
    return "ever" if age_ms is None else f"{age_ms / 1000:.0f} s"
