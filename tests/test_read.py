"""The read model's readers (options.read) against a private real Redis holding the
documented schema (docs/redis-schema.md), written here key by key as a feed would."""

import pytest
import redis

from devtools.localredis import LocalRedis
from options import clients, read

EXPIRY, LATER = "2026-03-27", "2026-06-26"
MAR_MS, JUN_MS = 1_774_598_400_000, 1_782_460_800_000  # 08:00 UTC on those days
ALL_STRIKES = [60000, 65000, 70000, 75000, 80000]


@pytest.fixture
def store(settings, redis_url):
    return fill_store(settings, redis_url)


def fill_store(settings, redis_url: str) -> redis.Redis:
    """Two BTC expiries and one ETH expiry, as docs/redis-schema.md lays them out."""
    settings.REDIS_URL = redis_url
    now = read.now_ms()
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    r.sadd("ot:bases:bybit", "BTC", "ETH")
    r.zadd("ot:expiries:bybit:BTC", {EXPIRY: MAR_MS, LATER: JUN_MS})
    r.zadd("ot:expiries:bybit:ETH", {EXPIRY: MAR_MS})
    for strike in (60000, 65000, 70000, 75000):
        for kind in "CP":
            symbol = f"BTC-27MAR26-{strike}-{kind}-USDT"
            r.zadd(f"ot:chain:bybit:BTC:{EXPIRY}", {symbol: strike})
            r.hset(f"ot:tick:bybit:{symbol}", mapping={
                "bid": f"{strike // 100}.5", "mark": "12.5", "underlying": "66100.5",
                "index": "66000", "ts": str(now - 900), "recv_ts": str(now - 800),
            })  # fmt: skip
    r.zadd(f"ot:chain:bybit:BTC:{LATER}", {"BTC-26JUN26-80000-C-USDT": 80000})
    r.zadd(f"ot:chain:bybit:ETH:{EXPIRY}", {"ETH-27MAR26-3000-C-USDT": 3000})
    r.hset("ot:tick:bybit:ETH-27MAR26-3000-C-USDT", mapping={"index": "2500.5"})
    return r


async def test_a_chain_pairs_calls_and_puts_by_strike_with_the_stored_strings(store):
    chain = await read.read_chain("bybit", "BTC", EXPIRY)
    assert [row.strike for row in chain.rows] == [60000, 65000, 70000, 75000]
    row = chain.rows[1]
    assert row.call.symbol == "BTC-27MAR26-65000-C-USDT" and row.call.strike == 65000
    assert row.put.option_type == "P"
    assert row.call.values == store.hgetall(f"ot:tick:bybit:{row.call.symbol}")
    # Centred on the forward (underlying), not the spot (index).
    assert chain.price == "66100.5" and chain.atm_strike == 65000


async def test_a_chain_narrowed_to_strikes_and_fields_still_finds_its_atm(store):
    chain = await read.read_chain(
        "bybit", "BTC", EXPIRY, strike_min=65000, strike_max=70000, fields=["bid"]
    )
    assert [row.strike for row in chain.rows] == [65000, 70000]
    assert chain.rows[0].call.values == {"bid": "650.5"}  # the prices read, not kept
    assert chain.atm_strike == 65000 and chain.price == "66100.5"
    bare = await read.read_chain("bybit", "BTC", EXPIRY, fields=())  # symbols only
    assert bare.rows[0].call.values == {} and bare.atm_strike == 65000
    empty = await read.read_chain("bybit", "BTC", EXPIRY, strike_min=1e9)
    assert empty.rows == [] and empty.atm is None


async def test_unknown_names_say_which_one_is_unknown(store):
    cases = [
        (read.read_chain("kraken", "BTC", EXPIRY), "exchange"),
        (read.read_chain("bybit", "DOGE", EXPIRY), "base"),
        (read.read_chain("bybit", "BTC", "2020-01-03"), "expiry"),
        (read.read_tick("bybit", "BTC-1JAN20-1-C"), "symbol"),
        (read.read_expiries("bybit", "XRP"), "base"),
        (read.read_strikes("bybit", "BTC", "2020-01-03"), "expiry"),
    ]
    for reader, field in cases:
        with pytest.raises(read.NotFound) as raised:
            await reader
        assert raised.value.field == field
    with pytest.raises(read.NotFound, match="known: BTC, ETH"):
        await read.read_expiries("bybit", "XRP")


async def test_a_tick_expiries_strikes_bases_and_exchanges(store):
    tick = await read.read_tick("bybit", "BTC-27MAR26-70000-P-USDT")
    assert tick.values["bid"] == "700.5" and 800 <= tick.age_ms(read.now_ms()) < 60_000
    expiries = await read.read_expiries("bybit", "BTC")
    assert [(e.expiry, e.expires_ms) for e in expiries] == [
        (EXPIRY, MAR_MS), (LATER, JUN_MS)
    ]  # fmt: skip
    assert await read.read_strikes("bybit", "BTC", LATER) == [80000]
    assert await read.read_strikes("bybit", "BTC") == ALL_STRIKES
    assert await read.read_bases("bybit") == ["BTC", "ETH"]
    store.sadd("ot:bases:deribit", "BTC")
    assert await read.read_exchanges() == ["bybit", "deribit"]


async def test_index_prices_come_from_the_nearest_expiry(store):
    store.hset("ot:tick:bybit:BTC-27MAR26-75000-P-USDT",
               mapping={"index": "66010", "recv_ts": str(read.now_ms())})  # fmt: skip
    prices = await read.read_index_prices("bybit", ["BTC", "ETH", "XRP"])
    assert prices == {"BTC": "66010", "ETH": "2500.5", "XRP": None}


async def test_the_feed_health_of_a_running_and_of_an_absent_feed(store):
    store.hset("ot:feed:bybit", mapping={
        "state": "streaming", "heartbeat_ts": str(read.now_ms()), "msgs_per_s": "12.5",
    })  # fmt: skip
    health = await read.read_feed_health("bybit")
    assert health.state == "streaming" and not health.stale
    assert health.msgs_per_s == 12.5
    absent = await read.read_feed_health("deribit")
    assert absent.state is None and absent.stale


def test_the_admin_reads_tick_ages_in_seconds(store):
    client = clients.sync_client()
    now = int(store.hget("ot:tick:bybit:BTC-27MAR26-60000-C-USDT", "recv_ts")) + 800
    store.hset("ot:tick:bybit:ETH-27MAR26-3000-C-USDT", "ts", str(now - 3000))
    symbols = ["BTC-27MAR26-60000-C-USDT", "ETH-27MAR26-3000-C-USDT", "NONE"]
    ages = read.read_tick_ages(client, "bybit", symbols, now=now)
    assert ages == [0.8, 3.0, None]
    client.close()


@pytest.fixture
def unix_redis(tmp_path):
    """A private Redis that also listens on a unix socket (no BulkReader there)."""
    server = LocalRedis(extra_args=("--unixsocket", str(tmp_path / "r.sock"))).start()
    yield server, f"unix://{tmp_path / 'r.sock'}"
    server.stop()


async def test_readers_without_the_bulk_reader_read_the_same(unix_redis, settings):
    tcp, unix = unix_redis
    fill_store(settings, tcp.url)
    bulk = await read.read_chain("bybit", "BTC", EXPIRY, fields=["mark", "ts"])
    full = await read.read_chain("bybit", "BTC", EXPIRY)
    quotes = await read.read_quotes("bybit", "BTC")
    settings.REDIS_URL = unix
    assert clients.bulk_reader() is None  # the pipeline serves
    assert await read.read_chain("bybit", "BTC", EXPIRY, fields=["mark", "ts"]) == bulk
    assert await read.read_chain("bybit", "BTC", EXPIRY) == full
    assert await read.read_quotes("bybit", "BTC") == quotes and quotes[0][1]
    assert await read.read_strikes("bybit", "BTC") == ALL_STRIKES


async def test_clients_follow_the_redis_url_setting(store, settings, redis_url):
    first, bulk = clients.async_client(), clients.bulk_reader()
    assert clients.async_client() is first and clients.bulk_reader() is bulk
    settings.REDIS_URL = redis_url.rsplit("/", 1)[0] + "/2"
    other = clients.async_client()
    assert other is not first and clients.bulk_reader() is not bulk
    await other.set("where", "db2")
    assert store.get("where") is None  # another database, as the URL says
    settings.REDIS_URL = redis_url
    assert await clients.async_client().ping()
