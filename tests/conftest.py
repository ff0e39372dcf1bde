"""Shared fixtures: a private Redis on a free port and the exchange simulator process.

Every test that matters talks to real servers over real sockets; nothing here reaches
outside 127.0.0.1.
"""

import pytest
import redis

from options.store import universe_channel
from tests.helpers import Feed
from tracker_project.devprocs import SimulatorProcess
from tracker_project.localredis import LocalRedis, free_port


@pytest.fixture(scope="session")
def redis_server():
    server = LocalRedis().start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server):
    """The session's private Redis, emptied for this test."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


@pytest.fixture
def announcements(redis_url):
    """Messages on bybit's universe channel, subscribed before the test acts: call
    it after acting."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(universe_channel("bybit"))

    def received() -> list[str]:
        found = [pubsub.get_message(timeout=0.3) for _ in range(5)]
        return [m["data"] for m in found if m]

    yield received
    pubsub.close()
    client.close()


@pytest.fixture
def own_redis():
    """A private Redis for this test alone: it may stop and restart it."""
    server = LocalRedis().start()
    yield server
    server.stop()


@pytest.fixture
def make_simulator(tmp_path):
    """Start simulator processes: make_simulator(contracts=..., rate=...)."""
    started = []

    def make(**kwargs) -> SimulatorProcess:
        sim = SimulatorProcess(
            free_port(), log_path=tmp_path / "simulator.log", **kwargs
        )
        started.append(sim.start())
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def feed_for(tmp_path, redis_url, make_simulator):
    """Start `run_feed` against a new simulator: feed_for(*run_feed_args, contracts=,
    rate=, redis_url=). The feed's process, database and log live in tmp_path."""
    feeds = []

    def make(*args: str, contracts: int = 200, rate: int = 4000, redis_url=redis_url):
        sim = make_simulator(contracts=contracts, rate=rate)
        feed = Feed(tmp_path, redis_url, sim, "--stale-after", "3", *args)
        feeds.append(feed)
        return feed

    yield make
    for feed in feeds:
        feed.stop()
