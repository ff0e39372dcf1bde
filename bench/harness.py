"""Shared set-up for the benchmarks: private Redis, the simulator, a database, the feed.

Everything runs as real processes on 127.0.0.1, as in production.
"""

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from feed.exchanges.bybit.listing import BybitListing  # noqa: E402
from tracker_project.devprocs import ManagedCommand, SimulatorProcess  # noqa: E402
from tracker_project.localredis import LocalRedis, free_port  # noqa: E402


class Stack:
    """Redis + simulator + a migrated SQLite database with the simulator's universe."""

    def __init__(
        self, contracts: int = 2100, rate: int = 0, workdir: Path | None = None
    ):
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="ot-bench-"))
        self.redis = LocalRedis().start()
        self.sim = SimulatorProcess(
            free_port(), contracts=contracts, rate=rate,
            log_path=self.workdir / "simulator.log",
        ).start()  # fmt: skip
        self.env = {
            "REDIS_URL": self.redis.url,
            "DATABASE_URL": f"sqlite:///{self.workdir / 'bench.sqlite3'}",
            "BYBIT_REST_URL": self.sim.rest_url,
            "BYBIT_WS_URL": self.sim.ws_url,
            "LOG_LEVEL": "WARNING",
        }
        self.run("migrate", "--noinput", "-v", "0")
        self.run("refresh_symbols")
        self.symbols = self.fetch_symbols()
        self.symbols_file = self.workdir / "symbols.txt"
        self.symbols_file.write_text("\n".join(self.symbols))
        self.client = redis.Redis.from_url(self.redis.url, decode_responses=True)

    def run(self, *args: str) -> None:
        cmd = ManagedCommand(*args, env=self.env, log_path=self.workdir / "setup.log")
        cmd.start()
        if cmd.proc.wait(300) != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed; see {cmd.log_path}")

    def fetch_symbols(self) -> list[str]:
        with BybitListing(self.sim.rest_url) as listing:
            return sorted(
                i.symbol for base in ("BTC", "ETH", "SOL") for i in listing.fetch(base)
            )

    def feed(self, *extra: str) -> ManagedCommand:
        # The last feed's final status would pass wait_streaming() at once.
        self.client.delete("ot:feed:bybit")
        return ManagedCommand(
            "run_feed", *extra, env=self.env, log_path=self.workdir / "feed.log"
        ).start()

    def feed_status(self) -> dict[str, str]:
        return self.client.hgetall("ot:feed:bybit")

    def wait_streaming(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.feed_status()
            if status and int(status.get("msgs_total", 0)) > 0:
                return
            time.sleep(0.2)
        raise RuntimeError(f"the feed did not stream; see {self.workdir / 'feed.log'}")

    def bare_client(self, seconds: float, warmup: float = 3.0) -> dict:
        out = subprocess.run(
            [sys.executable, str(ROOT / "bench/bare_client.py"), self.sim.ws_url,
             str(self.symbols_file), str(seconds), str(warmup)],
            capture_output=True, text=True, check=True, timeout=seconds + warmup + 60,
        )  # fmt: skip
        return json.loads(out.stdout.strip().splitlines()[-1])

    def close(self) -> None:
        self.sim.stop()
        self.redis.stop()


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 1e6


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]
