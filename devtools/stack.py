"""What `run_feed` runs on, started together on 127.0.0.1: a Redis (private unless one
is given), the exchange simulator and a migrated database; and the feed as a process.

The tests (tests/conftest.py, tests/test_api.py, tests/test_tasks.py) and the
benchmarks (bench/harness.py) all build on this one stack.
"""

import contextlib
import sys
from pathlib import Path

import redis

from devtools.database import MigratedDatabase
from devtools.localredis import LocalRedis
from devtools.processes import ManagedCommand, ManagedProcess, wait_for
from devtools.simulators import start_simulator


class Stack:
    """Redis + simulator + database, with the environment that points the tracker's
    processes at them (`env`). `close()` stops what the stack started: its feeds, its
    simulator and its private Redis (a `redis_url` given stays its owner's)."""

    def __init__(
        self,
        workdir: Path,
        contracts: int = 2100,
        rate: int = 0,
        *,
        redis_url: str | None = None,
        simulator: str = "process",
        database: MigratedDatabase | None = None,
        env: dict[str, str] | None = None,
    ):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.feeds: list[Feed] = []
        self.sim = None
        self.redis_server = None if redis_url else LocalRedis().start()
        self.redis_url = redis_url or self.redis_server.url
        self.client = redis.Redis.from_url(self.redis_url, decode_responses=True)
        try:
            self.sim = start_simulator(
                simulator, contracts, rate, log_path=self.workdir / "simulator.log"
            )
            database = database or MigratedDatabase(self.workdir)
            self.env = {
                "REDIS_URL": self.redis_url,
                "DATABASE_URL": database.copy(self.workdir / "tracker.sqlite3"),
                "BYBIT_REST_URL": self.sim.rest_url,
                "BYBIT_WS_URL": self.sim.ws_url,
                **(env or {}),
            }
        except BaseException:
            self.close()
            raise

    def run(self, *args: str, timeout: float = 300) -> None:
        """`manage.py <args>` on this stack, to completion (RuntimeError unless 0)."""
        log = self.workdir / "setup.log"
        ManagedCommand(*args, env=self.env, log_path=log).run(timeout)

    def feed(self, *args: str) -> "Feed":
        """A started `run_feed <args>`. The last feed's status goes first: its final
        figures would pass Feed.wait_streaming() at once."""
        from options import keys

        self.client.delete(keys.feed("bybit"))
        return Feed(self, *args).start()

    def feed_status(self) -> dict[str, str]:
        """The feed's status hash ({} while Redis does not answer)."""
        from options import keys

        try:
            return self.client.hgetall(keys.feed("bybit"))
        except redis.ConnectionError:
            return {}

    def close(self) -> None:
        for feed in self.feeds:
            feed.stop()
        if self.sim is not None:
            self.sim.stop()
        if self.redis_server is not None:
            self.redis_server.stop()
        self.client.close()


class Feed:
    """`manage.py run_feed <args>` on a stack (not started yet), and what a caller
    watches it by: its status in Redis, its log, the simulator it reads."""

    def __init__(self, stack: Stack, *args: str):
        self.stack, self.sim, self.redis = stack, stack.sim, stack.client
        self.env = {**stack.env, "TRACKER_FEED_ONLY": "1"}
        self.log = stack.workdir / "feed.log"
        self.process = self.command(*args)
        stack.feeds.append(self)

    def command(self, *args: str) -> ManagedProcess:
        return ManagedCommand("run_feed", *args, env=self.env, log_path=self.log)

    def start(self) -> "Feed":
        self.process.start()
        return self

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> int:
        return self.process.stop()

    def status(self) -> dict[str, str]:
        return self.stack.feed_status()

    def counter(self, name: str) -> int:
        return int(self.status().get(name, 0))

    def wait_streaming(self, timeout: float = 60):
        return wait_for(lambda: self.counter("msgs_total") > 0, timeout, self.log_tail)

    def log_tail(self) -> str:
        return self.log.read_text()[-3000:] if self.log.exists() else ""

    @contextlib.contextmanager
    def still(self, timeout: float = 20):
        """For the block: the exchange silent, every contract exact in Redis."""
        self.sim.control("silence", seconds=30)
        try:
            wait_for(
                lambda: not self.sim.mismatches(self.redis), timeout, "exact state"
            )
            yield
        finally:
            self.sim.control("silence", seconds=0)

    def converges(self, timeout: float = 20) -> None:
        """Pause the simulator and check every contract is exact in Redis."""
        with self.still(timeout):
            pass


class CoreFeed(Feed):
    """`python -m feed <args>`: the feed without Django, its universe from Redis
    (written by a refresh, or by itself with `--refresh-minutes`)."""

    def command(self, *args: str) -> ManagedProcess:
        argv = [sys.executable, "-m", "feed", *args]
        return ManagedProcess(*argv, env=self.stack.env, log_path=self.log)
