"""`python -m feed`: the feed without Django, its universe read from Redis, against
the simulator and a private Redis, each in its own process."""

import subprocess
import sys
import time

from devtools.processes import wait_for
from options import contracts, keys


def test_the_core_imports_neither_django_nor_the_http_client():
    code = (
        "import sys, feed.__main__, feed.core; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'django', 'httpx', "
        "'celery', 'channels'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr


def test_its_universe_in_redis_is_the_one_it_streams(feed_for):
    feed = feed_for("--refresh-minutes", "60", core=True).start()
    feed.wait_streaming()
    assert feed.status()["subscribed"] == "200"
    assert int(feed.redis.hget(keys.contract_bases("bybit"), "BTC")) > 0
    listed = contracts.read(feed.redis, "bybit", ["BTC", "ETH", "SOL"])
    assert sum(map(len, listed.values())) == 200
    feed.converges()


def test_without_a_universe_it_waits_then_streams_what_a_refresh_writes(
    feed_for,
):
    feed = feed_for(core=True).start()
    wait_for(lambda: feed.status().get("state") == "waiting", 20, feed.log_tail)
    assert feed.status()["subscribed"] == "0"
    # The full deployment's refresh: the database, then Redis.
    feed.stack.run("refresh_symbols")
    feed.wait_streaming(20)
    assert feed.status()["state"] == "streaming"
    feed.converges()


def test_a_redis_restart_keeps_the_universe_and_writes_it_back(feed_for, own_redis):
    feed = feed_for(
        "--refresh-minutes", "60", redis_url=own_redis.url, core=True
    ).start()
    feed.wait_streaming()
    own_redis.stop()
    own_redis.start()  # empty: it keeps nothing on disk
    wait_for(lambda: feed.counter("msgs_total") > 0, 15, "status written again")
    wait_for(
        lambda: feed.redis.hget(keys.contract_bases("bybit"), "BTC"), 10, "written back"
    )
    feed.converges()
    assert feed.status()["subscribed"] == "200"
    back = contracts.read(feed.redis, "bybit", ["BTC", "ETH", "SOL"])
    assert sum(map(len, back.values())) == 200


def test_bad_options_are_refused_with_a_message(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "feed", "--fields", "everything"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert out.returncode == 2
    assert "unknown field profile 'everything'" in out.stderr


def test_the_health_check_says_whether_the_heartbeat_is_fresh(feed_for):
    feed = feed_for("--refresh-minutes", "60", "--shard", "all", core=True)
    health = [sys.executable, "-m", "feed.health", "--redis-url", feed.stack.redis_url]

    def check(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*health, *args], capture_output=True, text=True, timeout=30
        )

    assert check("--shard", "all").returncode == 1  # no status yet
    feed.start()
    wait_for(lambda: check("--shard", "all").returncode == 0, 30, feed.log_tail)
    assert check().stdout.strip() == "no status for bybit in Redis"  # not that shard
    feed.stop()
    time.sleep(1)  # the stopped feed's last heartbeat ages
    stale = check("--shard", "all", "--max-age", "0.5")
    assert stale.returncode == 1 and "heartbeat" in stale.stdout
