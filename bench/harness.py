"""Shared set-up for the benchmarks: the stack the tests use (devtools/stack.py) with
the simulator in its own process and its universe in the database before any feed
starts; the reference client; figures.

Everything runs as real processes on 127.0.0.1, as in production.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools import stack  # noqa: E402
from feed.exchanges.bybit.listing import BybitListing  # noqa: E402


class Stack(stack.Stack):
    """Redis + simulator + a migrated SQLite database with the simulator's universe."""

    def __init__(
        self, contracts: int = 2100, rate: int = 0, workdir: Path | None = None
    ):
        workdir = workdir or tempfile.mkdtemp(prefix="ot-bench-")
        super().__init__(
            workdir, contracts, rate, simulator="process", env={"LOG_LEVEL": "WARNING"}
        )
        try:
            self.run("refresh_symbols")
            self.symbols = self.fetch_symbols()
        except BaseException:
            self.close()
            raise
        self.symbols_file = self.workdir / "symbols.txt"
        self.symbols_file.write_text("\n".join(self.symbols))

    def fetch_symbols(self) -> list[str]:
        with BybitListing(self.sim.rest_url) as listing:
            return sorted(
                i.symbol for base in ("BTC", "ETH", "SOL") for i in listing.fetch(base)
            )

    def bare_client(self, seconds: float, warmup: float = 3.0) -> dict:
        out = subprocess.run(
            [sys.executable, str(ROOT / "bench/bare_client.py"), self.sim.ws_url,
             str(self.symbols_file), str(seconds), str(warmup)],
            capture_output=True, text=True, check=True, timeout=seconds + warmup + 60,
        )  # fmt: skip
        return json.loads(out.stdout.strip().splitlines()[-1])


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


def count_instructions(*argv: str) -> tuple[int, str]:
    """(CPU instructions, stdout) of `python argv...` under valgrind: a count that
    does not move with the load of a shared machine."""
    out = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no",
         "--cachegrind-out-file=/dev/null", sys.executable, *argv],
        capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )  # fmt: skip
    refs = re.search(r"I\s+refs:\s+([\d,]+)", out.stderr).group(1)
    return int(refs.replace(",", "")), out.stdout
