"""The web process's Prometheus metrics at /metrics: its HTTP requests (counted by
an ASGI wrapper around every HTTP request, the API's ASGI shortcut included), and
the figures of each feed of settings.HEALTH_EXCHANGES from their status in Redis
(options.metrics names them as the feed's own exporter does)."""

import asyncio

from django.conf import settings
from django.http import HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import generate_latest
from redis.exceptions import RedisError

from options.metrics import feed_families
from options.read import read_feed_status

REGISTRY = CollectorRegistry(auto_describe=False)
REQUESTS = Counter(
    "optiontracker_http_requests", "HTTP requests answered",
    ["method", "status"], registry=REGISTRY,
)  # fmt: skip
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


class CountRequests:
    """ASGI wrapper: counts each HTTP response by method and status."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        method = scope.get("method", "")
        method = method if method in METHODS else "other"

        async def counting_send(message):
            if message["type"] == "http.response.start":
                REQUESTS.labels(method, str(message["status"])).inc()
            await send(message)

        await self.app(scope, receive, counting_send)


class _Families:
    """A collector of metric families made beforehand (the async reads are done)."""

    def __init__(self, families):
        self.families = list(families)

    def collect(self):
        return self.families


async def metrics(request):
    statuses, redis_up = {}, 1
    exchanges = settings.HEALTH_EXCHANGES
    try:
        found = await asyncio.gather(*(read_feed_status(e) for e in exchanges))
        statuses = {e: s for e, s in zip(exchanges, found, strict=True) if s}
    except (RedisError, OSError):
        redis_up = 0
    up = GaugeMetricFamily("optiontracker_redis_up", "Redis answers the web process")
    up.add_metric([], redis_up)
    feeds = CollectorRegistry(auto_describe=False)
    feeds.register(_Families([up, *feed_families(statuses)]))
    body = generate_latest(REGISTRY) + generate_latest(feeds)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
