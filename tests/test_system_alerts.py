"""System alerts reach a local notification service (apprise `json://` URL): from a
real `run_feed` when the simulator goes silent and when Redis stops, and from
alerts.system's checks on the feed's status, sent once across processes."""

import asyncio
import subprocess
import sys
import time

import pytest
import redis.asyncio as aioredis

from alerts.checks import REFRESH_FAILURES, STORM_COUNT
from alerts.delivery import Notifier
from alerts.system import SystemAlerts
from devtools.processes import BASE_DIR
from options import keys, store
from options.clients import sync_client

STALE = "[optiontracker] bybit: feed stale"
REDIS_DOWN = "[optiontracker] bybit: Redis unreachable"


def alert_env(receiver, stale_after=3) -> dict[str, str]:
    return {"NOTIFY_URLS": receiver.url, "ALERT_STALE_AFTER": str(stale_after)}


def test_a_silent_exchange_alerts_once_and_its_recovery_once(feed_for, receiver):
    feed = feed_for(contracts=50, rate=500, env=alert_env(receiver)).start()
    feed.wait_streaming()
    time.sleep(2)
    feed.sim.control("silence", seconds=60)
    # How soon it arrives is a benchmark's business (bench/alert_latency.py).
    receiver.wait_for_titles(lambda titles: STALE in titles, 60)
    alert = receiver.received[receiver.titles().index(STALE)]
    assert "Feed stale since" in alert["message"]
    assert "Last exchange message" in alert["message"]
    time.sleep(3)  # still silent: nothing more about it
    feed.sim.control("silence", seconds=0)
    receiver.wait_for_titles(lambda titles: f"{STALE} - resolved" in titles, 60)
    time.sleep(3)
    stale = [t for t in receiver.titles() if t.startswith(STALE)]
    assert stale == [STALE, f"{STALE} - resolved"]
    resolved = receiver.received[receiver.titles().index(f"{STALE} - resolved")]
    assert "msg/s" in resolved["message"] and "after" in resolved["message"]


def test_redis_down_alerts_once_and_its_recovery_once(feed_for, own_redis, receiver):
    feed = feed_for(redis_url=own_redis.url, env=alert_env(receiver)).start()
    feed.wait_streaming()
    own_redis.stop()
    receiver.wait_for_titles(lambda titles: REDIS_DOWN in titles, 60)
    time.sleep(2)
    own_redis.start()
    receiver.wait_for_titles(lambda titles: f"{REDIS_DOWN} - resolved" in titles, 60)
    time.sleep(2)
    down = [t for t in receiver.titles() if t.startswith(REDIS_DOWN)]
    assert down == [REDIS_DOWN, f"{REDIS_DOWN} - resolved"]
    assert "failed Redis writes" in receiver.received[0]["message"]
    # The feed was never silent meanwhile: the exchange kept talking.
    assert STALE not in receiver.titles()


# The checks on a status, as the feed's runner reports it (feed.runner.status) -----


def streaming(**changes) -> dict:
    now = int(time.time() * 1000)
    status = {
        "state": "streaming", "connections": 1, "subscribed": 200,
        "msgs_total": 1000, "msgs_per_s": 400.0, "reconnects": 0,
        "last_msg_ts": now, "heartbeat_ts": now, "started_ts": now - 60_000,
        "silent_topics": 0, "redis_errors": 0,
    }  # fmt: skip
    return {**status, **changes}


@pytest.fixture
async def checking(redis_url, receiver):
    """checking(status) -> SystemAlerts on the status dict (changed in place by the
    test), its notifier delivering to the receiver; several share one Redis."""
    made = []

    def make(status: dict) -> SystemAlerts:
        client = aioredis.Redis.from_url(redis_url)
        notifier = Notifier([receiver.url])
        alerts = SystemAlerts("bybit", client, lambda: status, notifier, 30.0)
        made.append((alerts, client, asyncio.create_task(notifier.run())))
        return alerts

    yield make
    for _, client, task in made:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.aclose()


async def delivered(receiver, count: int) -> list[str]:
    """The titles, once `count` arrived (and a moment for any more to come)."""
    await asyncio.to_thread(receiver.wait_for_titles, lambda t: len(t) >= count, 20)
    await asyncio.sleep(1.5)
    return receiver.titles()


async def test_two_processes_seeing_a_problem_send_it_once(checking, receiver):
    status = streaming()
    first, second = checking(status), checking(status)
    for alerts in (first, second):
        await alerts.check()
    status["last_msg_ts"] = int(time.time() * 1000) - 31_000
    for alerts in (first, second, first, second):
        await alerts.check()
    status["last_msg_ts"] = int(time.time() * 1000)
    for alerts in (second, first):
        await alerts.check()
    # One of each; from two processes, they may arrive in either order.
    assert sorted(await delivered(receiver, 2)) == [STALE, f"{STALE} - resolved"]
    assert (first.sent, second.sent) == (1, 1)  # alert by one, all-clear by the other


async def test_a_failing_refresh_alerts_after_repeated_failures(
    checking, receiver, redis_url
):
    alerts = checking(streaming())
    client = sync_client(redis_url)
    for attempt in range(REFRESH_FAILURES):
        await alerts.check()  # not yet: a single failure is no alert
        store.record_refresh(client, "bybit", "", error=f"HTTP 503 ({attempt})")
    await alerts.check()
    store.record_refresh(client, "bybit", "12 added, 0 removed")
    await alerts.check()
    client.close()
    title = "[optiontracker] bybit: symbol refresh failing"
    assert await delivered(receiver, 2) == [title, f"{title} - resolved"]
    assert (
        f"{REFRESH_FAILURES} failed refresh(es) in a row"
        in receiver.received[0]["message"]
    )
    assert "HTTP 503 (2)" in receiver.received[0]["message"]


async def test_silent_topics_alert_and_clear(checking, receiver):
    status = streaming()
    alerts = checking(status)
    status["silent_topics"] = 3
    await alerts.check()
    await alerts.check()
    status["silent_topics"] = 0
    await alerts.check()
    title = "[optiontracker] bybit: topics acknowledged but silent"
    assert await delivered(receiver, 2) == [title, f"{title} - resolved"]
    assert "3 of 200 subscribed topics" in receiver.received[0]["message"]


async def test_a_reconnect_storm_with_data_flowing_alerts(checking, receiver):
    status = streaming()
    alerts = checking(status)
    await alerts.check()
    for _ in range(STORM_COUNT):  # each reconnect followed by data
        status["reconnects"] += 1
        status["msgs_total"] += 100
        await alerts.check()
    assert await delivered(receiver, 1) == ["[optiontracker] bybit: reconnect storm"]
    assert f"{STORM_COUNT} reconnects in the last" in receiver.received[0]["message"]


async def test_reconnects_without_data_are_the_stale_alerts_business(
    checking, receiver, redis_url
):
    status = streaming()
    alerts = checking(status)
    for _ in range(STORM_COUNT * 2):  # the exchange is down: no data between tries
        status["reconnects"] += 1
        await alerts.check()
    await asyncio.sleep(1.5)
    assert receiver.titles() == []
    # Nothing claimed either.
    client = sync_client(redis_url)
    assert not client.keys(keys.alert("bybit", "*"))
    client.close()


@pytest.mark.parametrize(
    "env, said",
    [
        ({"NOTIFY_URLS": "hooks.example/s3cret"}, "is not an apprise URL"),
        ({"TELEGRAM_BOT_TOKEN": "123:ABC"}, "need TELEGRAM_CHAT_ID as well"),
    ],
)
def test_run_feed_refuses_malformed_alert_settings_at_start(redis_url, env, said):
    result = subprocess.run(
        [sys.executable, "manage.py", "run_feed"], cwd=BASE_DIR, timeout=60,
        env={"REDIS_URL": redis_url, "PATH": "", **env}, capture_output=True,
        text=True,
    )  # fmt: skip
    assert result.returncode != 0
    assert said in result.stderr
    assert "s3cret" not in result.stderr + result.stdout
