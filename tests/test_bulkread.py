"""options.bulkread against a real Redis: many replies in one round trip."""

import pytest
import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from options.bulkread import BulkReader


async def test_it_reads_many_hashes_and_an_index_in_order(redis_url):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    for n in range(300):
        client.hset(f"h:{n}", mapping={"a": str(n), "b": "caf\u00e9"})
    client.zadd("z", {"x": 2.5, "y": 1})
    reader = BulkReader(redis_url)
    rows = await reader.hgetall([f"h:{n}" for n in range(300)] + ["missing"])
    assert rows[:2] == [{"a": "0", "b": "caf\u00e9"}, {"a": "1", "b": "caf\u00e9"}]
    assert len(rows) == 301 and rows[-1] == {}
    assert await reader.hmget(["h:7"], ["b", "nope"]) == [["caf\u00e9", None]]
    assert await reader.zrange_withscores("z") == [("y", 1.0), ("x", 2.5)]
    await reader.close()


async def test_it_selects_the_database_of_the_url(redis_url):
    redis.Redis.from_url(redis_url.rsplit("/", 1)[0] + "/3").hset("k", "f", "db3")
    reader = BulkReader(redis_url.rsplit("/", 1)[0] + "/3")
    assert await reader.hgetall(["k"]) == [{"f": "db3"}]


async def test_errors_are_raised_as_redis_errors(own_redis):
    redis.Redis.from_url(own_redis.url).set("s", "not a hash")
    reader = BulkReader(own_redis.url)
    with pytest.raises(ResponseError):
        await reader.hgetall(["s"])
    own_redis.stop()
    with pytest.raises(RedisConnectionError):
        await reader.hgetall(["s"])
    with pytest.raises(ValueError):
        BulkReader("unix:///tmp/redis.sock")
