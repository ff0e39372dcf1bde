"""`run_feed --refresh-minutes` and `python -m feed --refresh-minutes`: the minimal
deployment keeps its universe current without Celery (with a database or, for the
core, without one), and a failing refresh leaves the universe as it was."""

from datetime import UTC, datetime, timedelta

import pytest

from devtools.processes import wait_for

ENTRIES = pytest.mark.parametrize("core", [False, True], ids=["run_feed", "core"])


@ENTRIES
def test_the_feed_refreshes_the_universe_itself(feed_for, core):
    feed = feed_for("--refresh-minutes", "0.05", core=core).start()  # every 3 s
    feed.wait_streaming()
    wait_for(lambda: feed.status().get("refresh_state") == "ok", 10, "a refresh")
    expiry = (datetime.now(UTC) + timedelta(days=450)).strftime("%Y-%m-%d")
    feed.sim.control("list", base="SOL", expiry=expiry, strikes="500,510")
    new = wait_for(
        lambda: feed.redis.zrange(f"ot:chain:bybit:SOL:{expiry}", 0, -1), 15, "listed"
    )
    wait_for(
        lambda: all(feed.redis.exists(f"ot:tick:bybit:{s}") for s in new), 5, "ticks"
    )
    assert len(new) == 4 and feed.status()["reconnects"] == "0"


@ENTRIES
def test_a_failing_refresh_keeps_the_universe_and_shows_in_the_status(feed_for, core):
    feed = feed_for("--refresh-minutes", "0.05", core=core).start()
    feed.wait_streaming()
    subscribed = feed.status()["subscribed"]
    feed.sim.control("fail", mode="malformed", count=1000)  # a permanent error
    wait_for(lambda: feed.status().get("refresh_state") == "failed", 20, "failure")
    assert "BTC" in feed.status()["refresh_error"]
    assert feed.status()["subscribed"] == subscribed
    assert feed.status()["state"] == "streaming"
    feed.sim.control("fail", mode="clear")
    wait_for(lambda: feed.status().get("refresh_state") == "ok", 60, "recovery")
    assert "universe refresh failed" in feed.log_tail()
