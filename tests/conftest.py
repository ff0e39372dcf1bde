"""Shared fixtures: private Redis servers on free ports, the exchange simulator, and
the Redis + simulator + database + feed stack (devtools/stack.py).

Every test that matters talks to real servers over real sockets; nothing here reaches
outside 127.0.0.1. What costs seconds is made once: the migrated database for the
session (each stack copies it), and a streaming feed for a module whose tests only
read (`start_module_feed`).
"""

import pytest
import redis

from devtools.database import MigratedDatabase
from devtools.localredis import LocalRedis
from devtools.processes import Daphne, ManagedCommand, free_port
from devtools.simulators import SimulatorThread
from devtools.stack import CoreFeed, Feed, Stack
from options import keys

# Up to this rate the simulator is served from a thread of the test process (no
# process to start); above it, it gets its own process and core. A module whose
# test process itself runs the component under test (API views, chain sockets), or
# times a path through the simulator, asks for a process (simulator="process").
THREAD_MAX_RATE = 5000


def simulator_home(rate: int) -> str:
    return "thread" if rate <= THREAD_MAX_RATE else "process"


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
    pubsub.subscribe(keys.universe_channel("bybit"))

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


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory):
    """Every app migrated once (on first use); stacks copy the file."""
    return MigratedDatabase(tmp_path_factory.mktemp("database"))


@pytest.fixture
def make_simulator():
    """Start simulators in this process: make_simulator(contracts=..., rate=...)."""
    started = []

    def make(**kwargs) -> SimulatorThread:
        started.append(SimulatorThread(**kwargs).start())
        return started[-1]

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def feed_for(tmp_path, redis_url, migrated_database):
    """`run_feed` (not started) against a new simulator: feed_for(*run_feed_args,
    contracts=, rate=, redis_url=, simulator="thread"|"process" (by default by the
    rate), env= (more environment), core=True for `python -m feed`). Its stack's
    database and logs live in tmp_path."""
    stacks = []

    def make(
        *args: str, contracts=200, rate=4000, redis_url=redis_url, simulator=None,
        env=None, core=False,
    ):  # fmt: skip
        stack = Stack(
            tmp_path / f"stack{len(stacks)}", contracts, rate, redis_url=redis_url,
            simulator=simulator or simulator_home(rate), database=migrated_database,
            env=env,
        )  # fmt: skip
        stacks.append(stack)
        return (CoreFeed if core else Feed)(stack, "--stale-after", "3", *args)

    yield make
    for stack in stacks:
        stack.close()


@pytest.fixture(scope="session")
def start_module_feed(tmp_path_factory, migrated_database):
    """For module fixtures: start_module_feed(name, *run_feed_args, contracts=,
    rate=, simulator=) starts a stack with its own Redis and a `run_feed` on it, and
    returns the feed once it streams; the caller closes `feed.stack`."""

    def start(name: str, *args, contracts=200, rate=4000, simulator=None) -> Feed:
        stack = Stack(
            tmp_path_factory.mktemp(name), contracts, rate,
            simulator=simulator or simulator_home(rate), database=migrated_database,
        )  # fmt: skip
        feed = Feed(stack, "--stale-after", "3", *args).start()
        try:
            feed.wait_streaming()
        except BaseException:
            stack.close()
            raise
        return feed

    return start


@pytest.fixture(scope="module")
def hostile_store():
    """A private Redis holding one BTC chain whose prices are formula strings
    (tests.test_hostile_requests.fill_hostile_chain), for a module's web server."""
    from tests.test_hostile_requests import fill_hostile_chain

    server = LocalRedis().start()
    fill_hostile_chain(server.url)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def start_web(tmp_path_factory, migrated_database):
    """For module fixtures: start_web(name, redis_url, **env) runs daphne serving the
    tracker on a fresh copy of the migrated database, with `env` (e.g.
    DJANGO_ALLOWED_HOSTS="*"); `web.manage(*args, **env)` runs a command on the
    same database. The caller kills it; its log is `web.log_path`."""

    def start(name: str, redis_url: str, **env: str) -> Daphne:
        workdir = tmp_path_factory.mktemp(name)
        env = {
            "REDIS_URL": redis_url,
            "DATABASE_URL": migrated_database.copy(workdir / "web.sqlite3"),
            "LOG_LEVEL": "INFO",
            **env,
        }
        log = workdir / "web.log"

        def manage(*args: str, **extra: str) -> None:
            log = workdir / "manage.log"
            ManagedCommand(*args, env={**env, **extra}, log_path=log).run()

        server = Daphne(free_port(), env, log)
        server.manage = manage
        return server.start()

    return start


@pytest.fixture
def receiver():
    """A local notification service (apprise `receiver.url`), stopped afterwards."""
    from devtools.receiver import Receiver

    with Receiver() as running:
        yield running
