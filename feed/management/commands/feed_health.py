"""`manage.py feed_health`: exit 0 when the feed is alive, 1 when its heartbeat is
stale or Redis does not answer; for container health checks (docker-compose
`healthcheck`) in deployments without the web process. One line says why."""

import asyncio

from django.conf import settings
from django.core.management.base import BaseCommand
from redis.exceptions import RedisError

from options.read import read_feed_health


class Command(BaseCommand):
    help = "Exit non-zero when the feed's heartbeat is stale or Redis is down."
    requires_system_checks = []  # a health check every few seconds: keep it lean

    def add_arguments(self, parser):
        parser.add_argument("--exchange", default="bybit")
        parser.add_argument(
            "--max-age", type=float, default=settings.ALERT_STALE_AFTER,
            help="seconds a heartbeat may be old (default: ALERT_STALE_AFTER, "
            "%(default)s)",
        )  # fmt: skip

    def handle(self, *args, exchange, max_age, **opts):
        try:
            health = asyncio.run(read_feed_health(exchange))
        except (RedisError, OSError) as exc:
            self._exit(f"unhealthy: Redis unreachable: {exc}")
        age = health.heartbeat_age_ms
        if health.state is None:
            self._exit(f"unhealthy: feed {exchange} has no status in Redis")
        if age is None or age > max_age * 1000:
            old = "never" if age is None else f"{age / 1000:.0f} s old"
            self._exit(f"unhealthy: feed {exchange} heartbeat {old}")
        self.stdout.write(
            f"ok: feed {exchange} {health.state}, heartbeat {age} ms old, "
            f"{health.msgs_per_s or 0:g} msg/s"
        )

    def _exit(self, message: str) -> None:
        self.stderr.write(message)
        raise SystemExit(1)
