"""/healthz, /readyz and `manage.py feed_health` against a real feed, its simulator
and a private Redis that the tests stop and start again."""

import subprocess
import sys

import pytest
from django.test import Client

from devtools.processes import BASE_DIR, wait_for

STALE_AFTER = 3


@pytest.fixture
def web(settings, db):
    """/readyz reads the test's Redis, with a 3 s staleness limit."""
    settings.ALERT_STALE_AFTER = STALE_AFTER

    def point_at(redis_url: str) -> Client:
        settings.REDIS_URL = redis_url  # options.clients follows the setting
        return Client()

    return point_at


def readyz(client: Client) -> tuple[int, dict]:
    response = client.get("/readyz")
    assert response["Content-Type"] == "application/json"
    return response.status_code, response.json()


def becomes(client: Client, status: int, timeout: float = 30) -> dict:
    """The /readyz body once it answers `status`."""
    found = wait_for(
        lambda: (r := readyz(client))[0] == status and r, timeout,
        lambda: f"/readyz never answered {status}: {readyz(client)}",
    )  # fmt: skip
    return found[1]


def feed_health(redis_url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "feed_health", *args], cwd=BASE_DIR,
        env={"REDIS_URL": redis_url, "PATH": ""}, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip


def test_healthz_answers_without_looking_at_anything(web, own_redis):
    own_redis.stop()
    response = web(own_redis.url).get("/healthz")
    assert (response.status_code, response.json()) == (200, {"ok": True})


def test_readyz_without_a_feed_names_the_feed(web, redis_url):
    status, body = readyz(web(redis_url))
    assert status == 503 and body["failing"] == ["feed"]
    assert body["checks"]["feed"] == "feed bybit: no status in Redis (never ran)"
    assert body["checks"]["redis"] == body["checks"]["database"] == "ok"


def test_readyz_follows_a_stalled_feed_and_its_recovery(web, feed_for, redis_url):
    feed = feed_for().start()
    feed.wait_streaming()
    client = web(redis_url)
    body = becomes(client, 200)
    assert body == {
        "ready": True, "failing": [],
        "checks": {"database": "ok", "redis": "ok", "feed": "ok"},
    }  # fmt: skip
    feed.sim.control("silence", seconds=60)
    body = becomes(client, 503)
    assert body["failing"] == ["feed"]
    assert body["checks"]["feed"].startswith("feed bybit: no exchange message for")
    feed.sim.control("silence", seconds=0)
    becomes(client, 200)


def test_readyz_and_feed_health_follow_redis_going_and_coming(web, feed_for, own_redis):
    feed = feed_for(redis_url=own_redis.url).start()
    feed.wait_streaming()
    client = web(own_redis.url)
    becomes(client, 200)
    healthy = feed_health(own_redis.url)
    assert healthy.returncode == 0, healthy.stderr
    assert healthy.stdout.startswith("ok: feed bybit streaming")
    own_redis.stop()
    body = becomes(client, 503)
    assert body["failing"] == ["redis"]
    assert body["checks"]["redis"].startswith("Redis unreachable")
    assert body["checks"]["feed"] == "unknown: Redis does not answer"
    down = feed_health(own_redis.url)
    assert down.returncode == 1 and "Redis unreachable" in down.stderr
    own_redis.start()
    becomes(client, 200)
    assert feed_health(own_redis.url).returncode == 0


def test_feed_health_fails_once_the_heartbeat_is_stale(feed_for, redis_url):
    feed = feed_for().start()
    feed.wait_streaming()
    assert feed_health(redis_url).returncode == 0
    feed.stop()  # its last status stays in Redis, and ages
    wait_for(
        lambda: feed_health(redis_url, "--max-age", "2").returncode == 1, 30,
        "a stale heartbeat",
    )  # fmt: skip
    stale = feed_health(redis_url, "--max-age", "2")
    assert "unhealthy: feed bybit heartbeat" in stale.stderr


def test_feed_health_without_any_feed_fails(redis_url):
    result = feed_health(redis_url)
    assert result.returncode == 1
    assert result.stderr.strip() == "unhealthy: feed bybit has no status in Redis"
