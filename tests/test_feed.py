"""`run_feed` end to end: the real command against the simulator and a private Redis,
each in its own process, over real sockets."""

import signal
import time

from devtools.processes import wait_for
from feed.exchanges.bybit.listing import BybitListing
from simulator.frames import MALFORMED_KINDS


def test_every_contract_in_redis_equals_what_the_simulator_last_sent(feed_for):
    feed = feed_for(contracts=2100, rate=20000).start()
    feed.wait_streaming()
    wait_for(lambda: feed.counter("msgs_total") > 40_000, 30, "a busy feed")
    feed.converges()
    status = feed.status()
    assert status["state"] == "streaming" and status["subscribed"] == "2100"
    assert status["connections"] == "4" and status["malformed"] == "0"
    # The chain indexes let a reader build every chain from Redis alone.
    expiries = feed.redis.zrange("ot:expiries:bybit:BTC", 0, -1)
    chain = feed.redis.zrange(
        f"ot:chain:bybit:BTC:{expiries[0]}", 0, -1, withscores=True
    )
    assert chain and all(symbol.startswith("BTC-") for symbol, _ in chain)
    assert [strike for _, strike in chain] == sorted(strike for _, strike in chain)


def test_the_feed_reconnects_when_the_exchange_drops_every_connection(feed_for):
    feed = feed_for().start()
    feed.wait_streaming()
    feed.sim.control("drop", abrupt=1)
    wait_for(lambda: feed.counter("reconnects") >= 1, 15, "a reconnect")
    before = feed.counter("msgs_total")
    wait_for(lambda: feed.counter("msgs_total") > before + 1000, 20, "data again")
    feed.sim.control("drop", code=1001)
    wait_for(lambda: feed.counter("reconnects") >= 2, 15, "a second reconnect")
    wait_for(lambda: feed.counter("connections") == 1, 15, "connected again")
    feed.converges()


def test_a_silent_connection_is_detected_and_replaced(feed_for):
    feed = feed_for().start()
    feed.wait_streaming()
    feed.sim.control("silence", seconds=5, pings=1)  # pongs still come, data does not
    wait_for(lambda: feed.counter("reconnects") >= 1, 15, "a stale reconnect")
    before = feed.counter("msgs_total")
    wait_for(lambda: feed.counter("msgs_total") > before, 20, "data after the silence")
    assert "no data for" in feed.log_tail()


def test_refused_and_silent_topics_are_reported_while_the_rest_streams(feed_for):
    feed = feed_for()
    symbols = sorted(i.symbol for i in BybitListing(feed.sim.rest_url).fetch("BTC"))
    refused, muted = symbols[:2], symbols[2:5]
    feed.sim.control("reject", symbols=",".join(refused))
    feed.sim.control("mute", symbols=",".join(muted))
    feed.start().wait_streaming()
    wait_for(lambda: feed.counter("rejected_topics") == 2, 15, "refused topics")
    wait_for(lambda: feed.counter("silent_topics") == 3, 20, "silent topics")
    for symbol in refused + muted:
        assert not feed.redis.exists(f"ot:tick:bybit:{symbol}")
    assert feed.redis.exists(f"ot:tick:bybit:{symbols[10]}")
    assert "acknowledged but silent" in feed.log_tail()


def test_malformed_frames_are_counted_and_skipped_without_losing_the_connection(
    feed_for,
):
    feed = feed_for().start()
    feed.wait_streaming()
    kinds = MALFORMED_KINDS  # every kind the simulator can send
    for kind in kinds:
        feed.sim.control("malformed", kind=kind, count=3)
    wait_for(lambda: feed.counter("malformed") >= 3 * len(kinds), 15, "malformed count")
    status = feed.status()
    assert status["reconnects"] == "0" and status["state"] == "streaming"
    assert "malformed frame skipped" in feed.log_tail()
    feed.converges()


def test_a_redis_outage_neither_kills_the_feed_nor_loses_the_latest_state(
    feed_for, own_redis
):
    feed = feed_for(redis_url=own_redis.url).start()
    feed.wait_streaming()
    own_redis.stop()
    time.sleep(10)
    assert feed.process.alive()
    own_redis.start()  # empty: it keeps nothing on disk
    wait_for(lambda: feed.counter("msgs_total") > 0, 15, "status written again")
    assert feed.process.alive()
    feed.converges()
    assert feed.redis.zcard("ot:expiries:bybit:BTC") > 0
    assert "Redis unavailable" in feed.log_tail()
    assert feed.counter("redis_errors") > 0


def test_sigterm_flushes_and_exits_0_within_5_seconds(feed_for):
    # Nothing is flushed until the end (live updates would flush every 250 ms).
    feed = feed_for("--flush-ms", "60000", "--no-publish").start()
    wait_for(lambda: "1 connection" in feed.log_tail(), 30, "the feed started")
    wait_for(lambda: feed.sim.control("state")["frames_sent"] > 2000, 20, "frames sent")
    assert not feed.redis.keys("ot:tick:*")
    started = time.monotonic()
    feed.process.proc.send_signal(signal.SIGTERM)
    assert feed.process.proc.wait(5) == 0
    assert time.monotonic() - started < 5
    assert feed.status()["state"] == "stopped"
    assert len(feed.redis.keys("ot:tick:*")) == 200
