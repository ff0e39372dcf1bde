"""The chain socket (dashboard.consumers.ChainConsumer) with the real pub/sub channel
layer on the private Redis, fed by a real `run_feed` process and the simulator."""

import asyncio
import itertools
import statistics
import time

import orjson
import pytest
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.urls import re_path

from dashboard.chain import CHAIN_FIELDS
from dashboard.consumers import ChainConsumer
from dashboard.routing import websocket_urlpatterns
from devtools.processes import wait_for
from options import keys, live
from tracker_project.asgi import application

ORIGIN = [(b"origin", b"http://127.0.0.1")]


def layer_settings(redis_url: str) -> dict:
    return {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [redis_url],
                "prefix": "asgi",
                "serializer_format": "json",
            },
        }
    }


@pytest.fixture
def live_settings(settings, redis_url):
    """The store readers and the channel layer on this test's private Redis."""
    settings.REDIS_URL = redis_url
    settings.CHANNEL_LAYERS = layer_settings(redis_url)
    return settings


SHARED_RATE, IDLE_RATE = 4000, 20  # msg/s over 200 contracts


@pytest.fixture(scope="module")
def module_feed(start_module_feed):
    """One feed for the tests that only read: 200 contracts, on a Redis of its own.
    The consumers under test run in this process: the simulator gets its own."""
    feed = start_module_feed("consumers", rate=SHARED_RATE, simulator="process")
    yield feed
    feed.stack.close()


@pytest.fixture
def shared_feed(module_feed, settings):
    """The module's feed, with the store readers and the channel layer on its Redis.
    The exchange streams at SHARED_RATE during the test and is speaking again after
    it; between such tests it trickles, so that it costs the others no CPU (the
    trickle still keeps the feed's sockets from going stale)."""
    settings.REDIS_URL = module_feed.stack.redis_url
    settings.CHANNEL_LAYERS = layer_settings(module_feed.stack.redis_url)
    module_feed.sim.control("config", rate=SHARED_RATE)
    yield module_feed
    module_feed.sim.control("silence", seconds=0)
    module_feed.sim.control("config", rate=IDLE_RATE)


def streaming_feed(feed_for, **kwargs):
    # The consumers under test run in this process: the simulator gets its own.
    feed = feed_for(simulator="process", **kwargs).start()
    feed.wait_streaming()
    return feed


def chains(feed, base: str = "BTC") -> list[tuple[str, list[str]]]:
    """(expiry, symbols by strike) of every expiry of one base."""
    return [
        (day, feed.redis.zrange(keys.chain("bybit", base, day), 0, -1))
        for day in feed.redis.zrange(keys.expiries("bybit", base), 0, -1)
    ]


async def connect(path: str, app=application) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(app, path, headers=ORIGIN)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator


async def receive(communicator, wait: float = 3) -> dict:
    """The next message, acknowledged as the page does once it applied it."""
    message = await communicator.receive_json_from(timeout=wait)
    await communicator.send_json_to({"type": "ack", "seq": message["seq"]})
    return message


async def close_code(communicator) -> int:
    while True:
        output = await communicator.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            return output["code"]


async def test_the_snapshot_on_connect_equals_redis(shared_feed):
    feed = shared_feed
    expiry, symbols = chains(feed)[0]
    # Quiet exchange, exact Redis: then the snapshot must be Redis, field for field.
    feed.sim.control("silence", seconds=30)
    wait_for(lambda: not feed.sim.mismatches(feed.redis), 15, "exact state")
    expected = [
        {f: v for f, v in feed.redis.hgetall(keys.tick("bybit", s)).items()
         if f in CHAIN_FIELDS}
        for s in symbols
    ]  # fmt: skip

    communicator = await connect(f"/ws/chain/bybit/BTC/{expiry}/")
    snapshot = await receive(communicator)

    assert snapshot["type"] == "snapshot"
    assert [c[0] for c in snapshot["contracts"]] == symbols
    assert {c[2] for c in snapshot["contracts"]} == {"C", "P"}
    assert snapshot["rows"] == dict(zip(symbols, expected, strict=True))
    assert snapshot["status"]["state"] == "streaming"
    assert not snapshot["status"]["stale"]
    assert expiry in [tab["expiry"] for tab in snapshot["expiries"]]
    await communicator.disconnect()


async def test_a_price_set_at_the_exchange_arrives_as_a_diff(shared_feed):
    feed = shared_feed
    expiry, symbols = chains(feed)[0]
    communicator = await connect(f"/ws/chain/bybit/BTC/{expiry}/")
    assert (await receive(communicator))["type"] == "snapshot"

    symbol = symbols[len(symbols) // 2]
    set_at = time.monotonic()
    await asyncio.to_thread(feed.sim.control, "set", symbol=symbol, markPrice="4321.5")
    # The feed flushes and publishes within 100 ms; the socket within 100 ms more.
    while True:
        message = await receive(communicator, wait=2)
        assert message["type"] == "diff"
        row = message["rows"].get(symbol)
        if row and row["mark"] == "4321.5":
            break
    assert time.monotonic() - set_at < 1.0
    assert set(row) <= set(CHAIN_FIELDS)
    assert feed.redis.hget(keys.tick("bybit", symbol), "mark") == "4321.5"
    await communicator.disconnect()


def rows_ahead_of_redis(client, rows: dict) -> list[str]:
    """Symbols whose published row is newer than the one Redis holds."""
    pipe = client.pipeline(transaction=False)
    for symbol in rows:
        pipe.hget(keys.tick("bybit", symbol), "ts")
    return [
        symbol
        for (symbol, row), stored in zip(rows.items(), pipe.execute(), strict=True)
        if int(row["ts"]) > int(stored or 0)
    ]


async def test_the_feed_publishes_what_each_flush_wrote_and_a_page_gets_10_a_second(
    feed_for, live_settings
):
    feed = streaming_feed(feed_for, contracts=200, rate=5000)
    expiry, _ = chains(feed)[0]
    points, ahead = [], []

    def on_publish(message):  # compares with Redis the moment it is published
        event = orjson.loads(message["data"])
        points.append(event["at"])
        ahead.extend(rows_ahead_of_redis(feed.redis, event["rows"]))

    pubsub = feed.redis.pubsub(ignore_subscribe_messages=True)
    channel = live.group_channel(live.chain_group("bybit", "BTC", expiry))
    pubsub.subscribe(**{channel: on_publish})
    watcher = pubsub.run_in_thread(sleep_time=0.1, daemon=True)
    communicator = await connect(f"/ws/chain/bybit/BTC/{expiry}/")
    assert (await receive(communicator))["type"] == "snapshot"

    sent = []
    started = time.monotonic()
    while time.monotonic() - started < 2.0:
        sent.append((await receive(communicator))["server_ts"])
    watcher.stop()
    watcher.join(5)

    # One message per flush and chain, at the flush's point on the 100 ms grid, and
    # only once the rows are in Redis.
    assert len(points) >= 10
    assert all(at % 100 == 0 for at in points)
    assert points == sorted(set(points))
    assert ahead == []
    # The page gets them as they come, at most 10 a second: one per 100 ms slot of
    # its schedule, none more than 50 ms ahead of its slot (server_ts: whole ms).
    assert len(sent) >= 10  # the 250 ms grid gave 8
    assert min(b - a for a, b in itertools.pairwise(sent)) >= 49
    assert all(b - a >= 949 for a, b in zip(sent, sent[10:], strict=False))
    await communicator.disconnect()


def publishes_in(client, seconds: float) -> int:
    """PUBLISH commands that Redis ran in the next `seconds`."""

    def calls() -> int:
        return client.info("commandstats").get("cmdstat_publish", {}).get("calls", 0)

    before = calls()
    time.sleep(seconds)
    return calls() - before


def test_the_feed_publishes_only_chains_someone_watches(feed_for, own_redis):
    feed = streaming_feed(feed_for, contracts=200, rate=5000, redis_url=own_redis.url)
    expiry, symbols = max(chains(feed), key=lambda chain: len(chain[1]))
    time.sleep(0.5)  # past the first flush, published to every chain
    assert publishes_in(feed.redis, 1.0) == 0  # nobody watches

    # A viewer arrives: its chain's first message has every contract of the chain,
    # then it gets one message per flush, and no other chain gets any.
    messages = []
    pubsub = feed.redis.pubsub(ignore_subscribe_messages=True)
    channel = live.group_channel(live.chain_group("bybit", "BTC", expiry))
    pubsub.subscribe(**{channel: messages.append})
    watcher = pubsub.run_in_thread(sleep_time=0.1, daemon=True)
    wait_for(lambda: messages, 5, "a message for the new viewer")
    assert set(orjson.loads(messages[0]["data"])["rows"]) == set(symbols)
    assert 3 <= publishes_in(feed.redis, 1.0) <= 12  # 10 or 11 flushes a second

    # A pattern subscriber (redis-cli psubscribe) counts as watching every chain.
    pattern = feed.redis.pubsub()
    pattern.psubscribe("asgi__group__chain.*")
    time.sleep(0.5)
    assert publishes_in(feed.redis, 1.0) > 30
    pattern.close()
    watcher.stop()
    watcher.join(5)


def test_a_flush_writes_and_publishes_the_watched_chain_before_the_rest(
    feed_for, own_redis
):
    """Redis's MONITOR shows each flush's order: the watched chain's contracts are
    written (one EVALSHA), published, and only then is the rest written."""
    feed = streaming_feed(feed_for, contracts=200, rate=5000, redis_url=own_redis.url)
    expiry, symbols = max(chains(feed), key=lambda chain: len(chain[1]))
    watched = {keys.tick("bybit", symbol) for symbol in symbols}
    pubsub = feed.redis.pubsub(ignore_subscribe_messages=True)
    channel = live.group_channel(live.chain_group("bybit", "BTC", expiry))
    pubsub.subscribe(**{channel: lambda message: None})
    viewer = pubsub.run_in_thread(sleep_time=0.1, daemon=True)
    time.sleep(0.5)  # the feed has seen the viewer
    written = []  # per EVALSHA: whether its keys are all, none or some of the chain
    with feed.redis.monitor() as monitor:
        until = time.monotonic() + 1.5
        while time.monotonic() < until:
            command = monitor.next_command()["command"]
            if command.startswith("PUBLISH ") and channel in command:
                written.append("published")
            elif command.startswith("EVALSHA "):
                ticks = {a for a in command.split() if a.startswith("ot:tick:")}
                mine = len(ticks & watched)
                written.append(
                    "all" if mine == len(ticks) else "none" if not mine else "some"
                )
    viewer.stop()
    viewer.join(5)

    flushes = "".join(w[0] for w in written).split("p")[1:-1]  # a: all, n: none
    assert len(flushes) >= 8
    # Between two publishes: the rest of one flush, then the chain of the next.
    assert all(f.endswith("a") and set(f[:-1]) <= {"n"} for f in flushes), flushes
    assert sum(f.count("n") for f in flushes) >= len(flushes)


async def receive_status(communicator) -> None:
    """Until the status alone arrives (every second on a quiet chain)."""
    while (await receive(communicator, wait=3))["rows"]:
        pass


async def test_a_change_after_a_quiet_spell_leaves_at_once_and_a_burst_merges(
    feed_for, live_settings
):
    feed = streaming_feed(feed_for)
    expiry, symbols = max(chains(feed), key=lambda chain: len(chain[1]))
    feed.sim.control("silence", seconds=60)  # the feed has nothing more to publish
    wait_for(lambda: not feed.sim.mismatches(feed.redis), 15, "exact state")
    rows = {s: feed.redis.hgetall(keys.tick("bybit", s)) for s in symbols}
    channel = live.group_channel(live.chain_group("bybit", "BTC", expiry))
    points = itertools.count(int(time.time() * 1000))  # unique `at`s

    def publish(symbol: str, mark: str) -> None:  # as the feed does after a flush
        row = {**rows[symbol], "mark": mark}
        at = next(points)
        feed.redis.publish(
            channel, live.chain_message("bybit", "BTC", expiry, {symbol: row}, at)
        )

    communicator = await connect(f"/ws/chain/bybit/BTC/{expiry}/")
    assert (await receive(communicator))["type"] == "snapshot"
    delays = []
    for n in range(3):
        await receive_status(communicator)
        await asyncio.sleep(0.2)  # the last message left 200 ms ago
        started = time.monotonic()
        publish(symbols[n], f"{n}.5")
        message = await receive(communicator)
        delays.append(time.monotonic() - started)
        assert message["rows"][symbols[n]]["mark"] == f"{n}.5"
    # Leading edge: sent as it came, not after the 100 ms spacing.
    assert statistics.median(delays) < 0.06

    # Changes right after a message wait for the page's schedule (at least 50 ms)
    # and leave in one message.
    await receive_status(communicator)
    await asyncio.sleep(0.2)
    publish(symbols[0], "10.5")
    first = await receive(communicator)
    publish(symbols[1], "11.5")
    publish(symbols[2], "12.5")
    second = await receive(communicator)
    assert {s: r["mark"] for s, r in first["rows"].items()} == {symbols[0]: "10.5"}
    marks = {s: r["mark"] for s, r in second["rows"].items()}
    assert marks == {symbols[1]: "11.5", symbols[2]: "12.5"}
    assert second["server_ts"] - first["server_ts"] >= 49
    await communicator.disconnect()


async def test_each_socket_gets_only_its_own_expiry(shared_feed):
    feed = shared_feed
    (expiry_a, symbols_a), (expiry_b, symbols_b) = chains(feed)[:2]
    socket_a = await connect(f"/ws/chain/bybit/BTC/{expiry_a}/")
    socket_b = await connect(f"/ws/chain/bybit/BTC/{expiry_b}/")
    assert set((await receive(socket_a))["rows"]) <= set(symbols_a)
    assert set((await receive(socket_b))["rows"]) <= set(symbols_b)

    seen_a: set[str] = set()
    seen_b: set[str] = set()
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        seen_a |= set((await receive(socket_a))["rows"])
        seen_b |= set((await receive(socket_b))["rows"])
    # Both chains moved, and neither socket heard of the other's contracts.
    assert seen_a and seen_b
    assert seen_a <= set(symbols_a)
    assert seen_b <= set(symbols_b)
    await socket_a.disconnect()
    await socket_b.disconnect()


async def test_a_change_made_while_redis_was_down_reaches_the_page_after(
    feed_for, own_redis, settings
):
    settings.REDIS_URL = own_redis.url
    settings.CHANNEL_LAYERS = layer_settings(own_redis.url)
    feed = streaming_feed(feed_for, redis_url=own_redis.url)
    expiry, symbols = chains(feed)[0]
    communicator = await connect(f"/ws/chain/bybit/BTC/{expiry}/")
    assert (await receive(communicator))["type"] == "snapshot"
    symbol = symbols[len(symbols) // 2]

    own_redis.stop()
    await asyncio.sleep(1)  # the feed has failed a flush and is retrying
    await asyncio.to_thread(feed.sim.control, "set", symbol=symbol, markPrice="777.5")
    feed.sim.control("silence", seconds=60)  # nothing changes after this
    await asyncio.sleep(1)
    own_redis.start()  # empty: it keeps nothing on disk

    # Live updates published while the socket's channel layer was reconnecting are
    # lost; the consumer sends a fresh snapshot once Redis is back, which has the
    # price. (The feed's status goes out every second meanwhile, so no receive times
    # out, which would cancel the consumer.)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        row = (await receive(communicator, wait=5))["rows"].get(symbol)
        if row and row.get("mark") == "777.5":
            break
    else:
        pytest.fail("the change made during the outage never reached the socket")
    await communicator.disconnect()


class ProbeConsumer(ChainConsumer):
    """Keeps its instances so that the test can look at their buffers."""

    instances: list["ProbeConsumer"] = []

    async def connect(self):
        self.instances.append(self)
        await super().connect()


PROBE_APP = URLRouter(
    [re_path(r"^ws/chain/(?P<exchange>\w+)/(?P<base>\w+)/(?P<expiry>[\d-]+)/$",
             ProbeConsumer.as_asgi())]
)  # fmt: skip


async def test_a_page_that_stops_reading_costs_bounded_memory(feed_for, live_settings):
    # Every contract changes at every flush: the worst case for a reader that lags.
    feed = streaming_feed(feed_for, contracts=200, rate=20000)
    expiry, symbols = chains(feed)[0]
    communicator = await connect(f"/ws/chain/bybit/BTC/{expiry}/", PROBE_APP)
    consumer = ProbeConsumer.instances[-1]
    layer_queue = get_channel_layer()._get_layer().channels[consumer.channel_name]

    # The page reads nothing for 3.5 s (longer than STALL_S).
    sent, pending, queued = [], [], []
    for _ in range(35):
        await asyncio.sleep(0.1)
        sent.append(communicator.output_queue.qsize())
        pending.append(len(consumer.pending))
        queued.append(layer_queue.qsize())

    assert max(sent) == ChainConsumer.MAX_IN_FLIGHT  # the snapshot and one diff
    assert max(pending) <= len(symbols)  # one merged row per contract at most
    assert len(consumer.book.latest) <= len(symbols)  # and the shared book no more
    assert max(queued) <= 5  # the layer's queue is drained as fast as it fills
    # Past STALL_S the merged rows were dropped for a fresh snapshot.
    assert consumer.resync
    assert consumer.pending == {}

    first = await communicator.receive_json_from()
    second = await communicator.receive_json_from()
    assert (first["type"], second["type"]) == ("snapshot", "diff")
    await communicator.send_json_to({"type": "ack", "seq": second["seq"]})
    fresh = await receive(communicator)
    assert fresh["type"] == "snapshot"
    assert fresh["seq"] == second["seq"] + 1
    assert (await receive(communicator))["type"] == "diff"  # and it streams again
    await communicator.disconnect()


async def test_the_sockets_of_a_chain_share_each_event(feed_for, live_settings):
    feed = streaming_feed(feed_for, contracts=200, rate=5000)
    expiry, _ = chains(feed)[0]
    published = []
    pubsub = feed.redis.pubsub(ignore_subscribe_messages=True)
    channel = live.group_channel(live.chain_group("bybit", "BTC", expiry))
    pubsub.subscribe(**{channel: published.append})
    watcher = pubsub.run_in_thread(sleep_time=0.1, daemon=True)
    path = f"/ws/chain/bybit/BTC/{expiry}/"
    sockets = [await connect(path, PROBE_APP) for _ in range(3)]
    consumers = ProbeConsumer.instances[-3:]

    started = time.monotonic()
    while time.monotonic() - started < 1.5:
        for socket in sockets:
            await receive(socket)
    await asyncio.sleep(0.3)  # the watcher has seen all that the sockets got
    watcher.stop()
    watcher.join(5)

    # One book for the three sockets, which applied each published event once (a
    # copy per socket would have counted each event three times).
    book = consumers[0].book
    assert all(consumer.book is book for consumer in consumers)
    assert 10 <= book.version <= len(published)
    for socket in sockets:
        await socket.disconnect()


@pytest.mark.parametrize(
    "path",
    [
        "/ws/chain/bybit/BTC/2020-01-03/",  # no such expiry
        "/ws/chain/bybit/BTC/2026-13-45/",  # no such date
        "/ws/chain/nowhere/BTC/2026-03-27/",  # no such exchange
        "/ws/chain/by%20bit/BTC/2026-03-27/",  # not a name at all
    ],
)
async def test_a_socket_for_an_unknown_chain_is_closed_with_4404(live_settings, path):
    communicator = await connect(path)
    assert await close_code(communicator) == 4404


async def test_login_only_mode_refuses_anonymous_sockets_and_pages(
    live_settings, client
):
    live_settings.DASHBOARD_LOGIN_REQUIRED = True
    communicator = await connect("/ws/chain/bybit/BTC/2026-03-27/")
    assert await close_code(communicator) == 4403

    response = await asyncio.to_thread(client.get, "/chain/bybit/BTC/2026-03-27/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=/chain/")


async def test_login_only_mode_lets_a_logged_in_user_in(shared_feed, settings):
    settings.DASHBOARD_LOGIN_REQUIRED = True
    feed = shared_feed
    expiry, _ = chains(feed)[0]
    communicator = WebsocketCommunicator(
        URLRouter(websocket_urlpatterns), f"/ws/chain/bybit/BTC/{expiry}/"
    )
    communicator.scope["user"] = type("User", (), {"is_authenticated": True})()
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    assert (await receive(communicator))["type"] == "snapshot"
    await communicator.disconnect()
