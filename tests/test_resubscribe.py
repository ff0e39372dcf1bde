"""A running feed follows the universe: new listings stream in, expired contracts
leave the chain indexes, and no untouched connection reconnects.

`manage.py refresh_symbols`, the command the README and the admin point to, is all an
operator runs: it tells the running feed itself."""

import time
from datetime import UTC, datetime, timedelta

from devtools.processes import ManagedCommand, wait_for


def refresh(feed) -> float:
    """Run the command as an operator would; when it returned (monotonic)."""
    command = ManagedCommand("refresh_symbols", env=feed.env, log_path=feed.log)
    assert command.start().proc.wait(60) == 0, feed.log_tail()
    return time.monotonic()


def connections(sim) -> dict[str, int]:
    return {c["conn_id"]: c["connected_at"] for c in sim.control("state")["conns"]}


def test_new_listings_stream_and_expired_ones_leave_without_reconnects(feed_for):
    feed = feed_for(contracts=200, rate=4000).start()
    feed.wait_streaming()
    before = connections(feed.sim)
    expiry = (datetime.now(UTC) + timedelta(days=400)).strftime("%Y-%m-%d")
    feed.sim.control("list", base="BTC", expiry=expiry, strikes="150000,160000")
    returned = refresh(feed)
    new = wait_for(
        lambda: feed.redis.zrange(f"ot:chain:bybit:BTC:{expiry}", 0, -1), 5, "index"
    )
    assert len(new) == 4
    wait_for(
        lambda: all(feed.redis.exists(f"ot:tick:bybit:{s}") for s in new), 5, "ticks"
    )
    assert time.monotonic() - returned < 5
    assert expiry in feed.redis.zrange("ot:expiries:bybit:BTC", 0, -1)
    # The command recorded its outcome where the feed's status shows it.
    wait_for(lambda: feed.status().get("refresh_state") == "ok", 3, "recorded")

    gone = feed.redis.zrange("ot:expiries:bybit:ETH", 0, 0)[0]
    gone_symbols = feed.redis.zrange(f"ot:chain:bybit:ETH:{gone}", 0, -1)
    feed.sim.control("expire", expiry=gone, base="ETH")
    returned = refresh(feed)
    wait_for(
        lambda: gone not in feed.redis.zrange("ot:expiries:bybit:ETH", 0, -1), 5, "gone"
    )
    assert time.monotonic() - returned < 5
    assert not feed.redis.exists(f"ot:chain:bybit:ETH:{gone}")
    assert 0 < feed.redis.ttl(f"ot:tick:bybit:{gone_symbols[0]}") <= 86400

    # The sockets that were open at the start are still the same ones.
    after = connections(feed.sim)
    assert all(after.get(conn_id) == at for conn_id, at in before.items())
    assert feed.status()["reconnects"] == "0"
    assert feed.status()["malformed"] == "0"  # in-flight frames of gone topics
    subscribed = str(200 + 4 - len(gone_symbols))
    wait_for(lambda: feed.status()["subscribed"] == subscribed, 3, "status")
    feed.converges()
