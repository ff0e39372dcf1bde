"""Resident memory of the three deployment profiles, 2,100 contracts at Bybit's rate.

Each profile's processes run here as plain processes (no containers), against the
simulator; the figure is the sum of their RSS after a minute of streaming, Redis
included. The simulator stands in for the exchange and is not counted.

  full           feed + daphne (web) + Celery worker + Celery beat + Redis
  minimal        run_feed --no-publish --refresh-minutes 15 + Redis
  ultra-minimal  run_feed --no-publish --fields critical + Redis (latest state only)

usage: python bench/profiles_memory.py [--seconds 60]
"""

import argparse
import sys
import time
from pathlib import Path

import psutil

from harness import Stack, rss_mb

from devtools.processes import Daphne, ManagedProcess, free_port

BIN = Path(sys.executable).parent


def command(stack: Stack, name: str, *args: str) -> ManagedProcess:
    log = stack.workdir / f"{name}.log"
    return ManagedProcess(*args, env=stack.env, log_path=log).start()


def tree_rss_mb(pid: int) -> float:
    """A process and its children (the Celery worker's prefork child)."""
    proc = psutil.Process(pid)
    return (
        sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 1e6
    )


def measure(stack: Stack, name: str, processes: dict, seconds: float) -> None:
    stack.client.flushall()
    try:
        time.sleep(seconds)
        rows = {label: tree_rss_mb(p.pid) for label, p in processes.items()}
        rows["redis"] = rss_mb(stack.redis_server.pid)
    finally:
        for p in processes.values():
            p.stop()
    parts = ", ".join(f"{label} {mb:.0f}" for label, mb in rows.items())
    print(f"{name:14s} {sum(rows.values()):6.0f} MB  ({parts})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    stack = Stack(contracts=2100, rate=21000)
    py = sys.executable
    try:
        print("profile        total RSS  (per process, MB)")
        measure(stack, "ultra-minimal", {
            "feed": stack.feed("--no-publish", "--fields", "critical"),
        }, args.seconds)  # fmt: skip
        measure(stack, "minimal", {
            "feed": stack.feed("--no-publish", "--refresh-minutes", "15"),
        }, args.seconds)  # fmt: skip
        web = Daphne(free_port(), stack.env, stack.workdir / "web.log").start()
        celery = [py, "-m", "celery", "-A", "tracker_project"]
        measure(stack, "full", {
            "feed": stack.feed(),
            "web": web,
            "worker": command(stack, "worker", *celery, "worker", "--concurrency", "1"),
            "beat": command(stack, "beat", *celery, "beat"),
        }, args.seconds)  # fmt: skip
    finally:
        stack.close()


if __name__ == "__main__":
    main()
