"""Resident memory of the three deployments, started from their own compose files.

Each deployment's services run as native processes, every command as its compose
file spells it (devtools/compose.py): Redis, the one-off migrations, then the
servers, against the exchange simulator at Bybit's rate (every contract every
100 ms: 21,000 msg/s for 2,100 contracts). The full deployment also has one headless
Chromium on the dashboard and a client polling the API once a second. After
`--seconds` of streaming with every contract live, each process's resident (RSS) and
proportional (PSS) set size is read, children included; the simulator and the
browser are not counted. The totals stand beside the reference tracker's table.
Then the feed alone (the minimal deployment's command) with 10,000 contracts.

usage: python bench/measure_memory.py [--seconds 120] [--contracts 2100]
    [--rate 21000] [--only full|minimal|ultra-minimal|scale]
"""

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools import compose  # noqa: E402
from devtools.processes import wait_for  # noqa: E402
from devtools.simulators import start_simulator  # noqa: E402
from options import keys  # noqa: E402

REFERENCE = {  # MB, the reference tracker's published table (about 2,100 contracts)
    "full": (230, "tracker 39, Redis 27, web 95, API 68, symbol cron <1"),
    "minimal": (90, "tracker 50, Redis 40"),
    "ultra-minimal": (50, "tracker 30, Redis 20"),
}
TARGETS = {"full": 200, "minimal": 70, "ultra-minimal": 45}
CHROMIUM = "/usr/bin/chromium"
SECRET = {"DJANGO_SECRET_KEY": "measure-memory-only", "LOG_LEVEL": "WARNING"}


def memory_mb(pid: int) -> tuple[float, float]:
    """RSS and PSS of a process and its children, MB."""
    proc = psutil.Process(pid)
    infos = [p.memory_full_info() for p in [proc, *proc.children(recursive=True)]]
    return sum(i.rss for i in infos) / 1e6, sum(i.pss for i in infos) / 1e6


def exact_count(sim, client) -> int:
    """Contracts whose every stored field equals what the simulator last sent (a
    field profile stores a subset), once the silenced simulator's backlog has
    drained (up to 30 s on a loaded machine)."""
    sim.control("silence", seconds=60)
    try:
        deadline, wrong = time.monotonic() + 30, None
        while wrong != [] and time.monotonic() < deadline:
            time.sleep(1)
            wrong = _wrong(sim, client)
        return len(sim.control("last")["last"]) - len(wrong)
    finally:
        sim.control("silence", seconds=0)


def _wrong(sim, client) -> list[str]:
    return [
        symbol
        for symbol, (stored, expected) in sim.mismatches(client).items()
        if not stored or any(expected.get(k) != v for k, v in stored.items())
    ]


class Viewers:
    """One Chromium on the dashboard and a client polling the API every second."""

    def __init__(self, web_url: str, client):
        self.web_url = web_url
        self.expiry = client.zrange(keys.expiries("bybit", "BTC"), 0, 0)[0]
        self.polls = self.failures = 0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=t, daemon=True)
                         for t in (self._browse, self._poll)]  # fmt: skip
        self._ready = threading.Event()

    def start(self) -> "Viewers":
        for thread in self._threads:
            thread.start()
        if not self._ready.wait(90):
            raise RuntimeError("the dashboard's chain never became ready")
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def _browse(self) -> None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--headless"]
            )
            # bypass_csp: wait_for_function evaluates its expression with eval(),
            # which the dashboard's Content-Security-Policy forbids.
            page = browser.new_page(bypass_csp=True)
            page.goto(f"{self.web_url}/chain/bybit/BTC/{self.expiry}/")
            page.wait_for_function("window.chainReady === true", timeout=60000)
            self._ready.set()
            while not self._stop.wait(1):
                page.evaluate("window.lastUpdateTs")  # keeps the page's loop served
            browser.close()

    def _poll(self) -> None:
        urls = [f"/api/chain/bybit/BTC/{self.expiry}/", "/api/feed/"]
        with httpx.Client(base_url=self.web_url, timeout=10) as http:
            while not self._stop.wait(1):
                for url in urls:
                    ok = http.get(url).status_code == 200
                    self.polls, self.failures = self.polls + 1, self.failures + (not ok)


def run_profile(profile: str, sim, seconds: float, contracts: int) -> dict:
    env = {**SECRET, "BYBIT_REST_URL": sim.rest_url, "BYBIT_WS_URL": sim.ws_url}
    workdir = Path(tempfile.mkdtemp(prefix=f"ot-memory-{profile}-"))
    deployment = compose.NativeDeployment(profile, workdir, env).start()
    client = redis.Redis.from_url(deployment.redis_url, decode_responses=True)
    viewers = None
    try:
        wait_for(
            lambda: _streaming(client, contracts), 180,
            lambda: f"{profile}: no stream; logs in {workdir}",
        )  # fmt: skip
        if profile == "full":
            viewers = Viewers(deployment.web_url, client).start()
        time.sleep(seconds)
        rows = {n: memory_mb(p.pid) for n, p in deployment.processes.items()}
        status = client.hgetall(keys.feed("bybit"))
        exact = exact_count(sim, client)
    finally:
        if viewers:
            viewers.stop()
        deployment.stop()
        client.close()
    return {"rows": rows, "status": status, "exact": exact, "viewers": viewers}


def _streaming(client, contracts: int) -> bool:
    status = client.hgetall(keys.feed("bybit"))
    return (
        status.get("subscribed") == str(contracts)
        and int(status.get("msgs_total", 0)) > contracts
    )


def report(profile: str, result: dict, contracts: int) -> tuple[float, float]:
    rows = result["rows"]
    rss = sum(r for r, _ in rows.values())
    pss = sum(p for _, p in rows.values())
    parts = ", ".join(f"{n} {r:.0f}/{p:.0f}" for n, (r, p) in rows.items())
    status = result["status"]
    print(
        f"{profile:14s} RSS {rss:6.1f} MB  PSS {pss:6.1f} MB  ({parts}; RSS/PSS MB)\n"
        f"{'':14s} {status.get('msgs_per_s')} msg/s, {result['exact']}/{contracts} "
        f"contracts exact in Redis",
        flush=True,
    )
    if result["viewers"]:
        v = result["viewers"]
        print(f"{'':14s} API polls {v.polls}, failed {v.failures}", flush=True)
    return rss, pss


def scale(seconds: float, rate: int, contracts: int) -> float:
    """The minimal deployment's feed with this many contracts: its RSS, MB."""
    sim = start_simulator("process", contracts, rate)
    try:
        result = run_profile("minimal", sim, seconds, contracts)
    finally:
        sim.stop()
    rss = result["rows"]["feed"][0]
    print(f"feed, {contracts:,} contracts: RSS {rss:.1f} MB "
          f"({result['exact']}/{contracts} exact)", flush=True)  # fmt: skip
    return rss


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--contracts", type=int, default=2100)
    parser.add_argument("--rate", type=int, default=21000)
    parser.add_argument("--only", choices=[*compose.PROFILES, "scale"])
    args = parser.parse_args()
    wanted = [args.only] if args.only else [*reversed(compose.PROFILES), "scale"]
    totals = {}
    sim = start_simulator("process", args.contracts, args.rate)
    try:
        for profile in [p for p in wanted if p in compose.PROFILES]:
            result = run_profile(profile, sim, args.seconds, args.contracts)
            totals[profile] = report(profile, result, args.contracts)
    finally:
        sim.stop()
    if "scale" in wanted:
        scale(args.seconds, args.rate, 10_000)
    print("\n| deployment | ours: RSS (PSS) | target | reference |\n|---|---|---|---|")
    for profile, (rss, pss) in totals.items():
        ref, parts = REFERENCE[profile]
        print(f"| {profile} | **{rss:.0f} MB** ({pss:.0f}) | < {TARGETS[profile]} MB "
              f"| {ref} MB ({parts}) |")  # fmt: skip


if __name__ == "__main__":
    main()
