"""/healthz: the process answers. /readyz: the database, Redis and every feed of
settings.HEALTH_EXCHANGES are fit to serve (200), else 503 with JSON naming what is
wrong:

    {"ready": false, "failing": ["feed"],
     "checks": {"database": "ok", "redis": "ok",
                "feed": "feed bybit: no exchange message for 41 s"}}

With Redis down the feeds cannot be read: `failing` names `redis`, and the feed's
check says it is unknown.
"""

import asyncio

from django.conf import settings
from django.http import JsonResponse
from redis.exceptions import RedisError

from health.checks import database_problem, feed_problem, redis_problem


async def healthz(request):
    return JsonResponse({"ok": True})


async def readyz(request):
    database, redis = await asyncio.gather(database_problem(), redis_problem())
    checks = {"database": database, "redis": redis, "feed": None}
    if redis is None:
        checks["feed"] = await _feeds_problem()
    failing = [name for name, problem in checks.items() if problem]
    if redis is not None:
        checks["feed"] = "unknown: Redis does not answer"
    body = {
        "ready": not failing,
        "failing": failing,
        "checks": {name: problem or "ok" for name, problem in checks.items()},
    }
    return JsonResponse(body, status=503 if failing else 200)


async def _feeds_problem() -> str | None:
    max_age = settings.ALERT_STALE_AFTER
    try:
        found = [await feed_problem(e, max_age) for e in settings.HEALTH_EXCHANGES]
    except (RedisError, OSError) as exc:
        return f"unknown: {exc}"
    return "; ".join(p for p in found if p) or None
