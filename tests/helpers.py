"""Helpers for tests that run the real processes."""

import contextlib
import time

import redis

from tracker_project.devprocs import ManagedCommand


def wait_for(predicate, timeout: float, message: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s: {message}")


class Feed:
    """A `manage.py run_feed` process with its database, Redis and simulator."""

    def __init__(self, tmp_path, redis_url: str, sim, *args: str):
        self.sim = sim
        self.redis = redis.Redis.from_url(redis_url, decode_responses=True)
        self.env = {
            "REDIS_URL": redis_url,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'feed.sqlite3'}",
            "BYBIT_REST_URL": sim.rest_url,
            "BYBIT_WS_URL": sim.ws_url,
            "TRACKER_FEED_ONLY": "1",
        }
        self.log = tmp_path / "feed.log"
        # Only the options tables: the feed reads nothing else.
        migrate = ManagedCommand(
            "migrate", "options", "-v", "0", env={**self.env, "TRACKER_FEED_ONLY": "0"},
            log_path=self.log,
        )  # fmt: skip
        assert migrate.start().proc.wait(60) == 0, self.log.read_text()
        self.process = ManagedCommand(
            "run_feed", *args, env=self.env, log_path=self.log
        )

    def start(self) -> "Feed":
        self.process.start()
        return self

    def status(self) -> dict[str, str]:
        try:
            return self.redis.hgetall("ot:feed:bybit")
        except redis.ConnectionError:
            return {}

    def counter(self, name: str) -> int:
        return int(self.status().get(name, 0))

    def wait_streaming(self, timeout: float = 60):
        return wait_for(
            lambda: self.counter("msgs_total") > 0, timeout, self.log_tail()
        )

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

    def stop(self) -> int:
        return self.process.stop()
