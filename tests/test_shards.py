"""Several feeds side by side on one Redis (`--shard NAME --underlyings ...`): each
streams its own base coins with its own status, neither touches the other's chain
indexes, and the API's feed status and the dashboard's badge show each."""

import asyncio

from api import status as api_status
from dashboard import chain
from devtools.processes import wait_for
from devtools.stack import CoreFeed
from options import keys, read, store


def shard_status(feed, shard: str) -> dict:
    return feed.redis.hgetall(store.status_key("bybit", shard))


def test_two_shards_stream_their_own_bases_exactly_with_their_own_status(
    feed_for, settings
):
    first = feed_for("--underlyings", "BTC", "--shard", "btc", core=True)
    first.stack.run("refresh_symbols")  # the universe, in the database and Redis
    second = CoreFeed(
        first.stack, "--stale-after", "3", "--underlyings", "ETH,SOL",
        "--shard", "eth-sol",
    )  # fmt: skip
    first.start(), second.start()
    for feed, name in ((first, "btc"), (second, "eth-sol")):
        wait_for(
            lambda f=feed, n=name: int(shard_status(f, n).get("msgs_total", 0)) > 0,
            30, feed.log_tail,
        )  # fmt: skip
    btc, rest = shard_status(first, "btc"), shard_status(first, "eth-sol")
    assert int(btc["subscribed"]) + int(rest["subscribed"]) == 200
    assert btc["pid"] != rest["pid"]
    assert not first.redis.exists(keys.feed("bybit"))  # no feed without a shard
    first.converges()  # every contract of both shards exact in Redis
    for base in ("BTC", "ETH", "SOL"):
        assert first.redis.zcard(keys.expiries("bybit", base)) > 0

    settings.REDIS_URL = first.stack.redis_url
    health = asyncio.run(read.read_feed_health("bybit"))
    assert [s.shard for s in health.shards] == ["btc", "eth-sol"]
    assert health.state == "streaming" and not health.stale
    assert health.subscribed == 200
    (body,) = asyncio.run(api_status.feeds(["bybit"]))
    assert [s["shard"] for s in body["shards"]] == ["btc", "eth-sol"]
    badge = chain.health(health)
    assert [s["shard"] for s in badge["shards"]] == ["btc", "eth-sol"]

    # One shard stops: the exchange is no longer streaming, and the badge says which.
    second.stop()
    health = asyncio.run(read.read_feed_health("bybit"))
    assert health.state == "stopped" and health.stale
    states = {s["shard"]: s["state"] for s in chain.health(health)["shards"]}
    assert states == {"btc": "streaming", "eth-sol": "stopped"}
    assert first.process.alive()
