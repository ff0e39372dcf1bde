"""Analytics figures: one underlying's analytics (every expiry) under daphne, beside
the chain endpoint of its widest expiry measured in the same run.

    .venv/bin/python bench/analytics_bench.py [--requests 300] [--rate 2000]

Starts a private Redis, the simulator (2,100 contracts) and run_feed (bench/harness.py),
serves the project with daphne on loopback, and times requests one after the other
from one keep-alive client (httpx): /api/analytics/bybit/BTC/ (every BTC expiry,
about half the contracts) and, as the same-run reference, the chain of the widest BTC
expiry. Also prints the server time of the analytics in this process: the read
(options.read.read_quotes, analytics fields only), the computation (options.
analytics over the quotes), and the whole (read_analytics and its dict). Target:
analytics p50 under 20 ms. Prints figures; not a test.
"""

import argparse
import asyncio
import os
import statistics
import time

import httpx
from api_bench import serve, widest_expiry  # noqa: I001  (bench/ is on sys.path)

from harness import Stack, percentile

from devtools.processes import Daphne

WARMUP = 30


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="per endpoint")
    parser.add_argument("--rate", type=int, default=2000, help="simulator frames/s")
    args = parser.parse_args()
    stack = Stack(contracts=2100, rate=args.rate)
    feed = stack.feed("--fields", "full")
    servers: list[Daphne] = []
    try:
        feed.wait_streaming()
        expiry, strikes = widest_expiry(stack)
        port = serve(servers, "tracker_project.asgi:application", stack)
        base = f"http://127.0.0.1:{port}"
        paths = {
            "analytics": "/api/analytics/bybit/BTC/",
            "analytics_expiry": f"/api/analytics/bybit/BTC/{expiry}/",
            "chain (reference)": f"/api/chain/bybit/BTC/{expiry}/",
        }
        with httpx.Client(base_url=base, timeout=10) as client:
            body = client.get(paths["analytics"]).json()
            contracts = sum(
                stack.client.zcard(f"ot:chain:bybit:BTC:{e['expiry']}")
                for e in body["expiries"]
            )
            print(f"BTC: {len(body['expiries'])} expiries, {contracts} contracts;"
                  f" widest {expiry}: {len(strikes)} strikes")  # fmt: skip
            # Interleaved rounds, so that the machine's load moves both alike.
            times = {name: [] for name in paths}
            for _ in range(WARMUP + args.requests):
                for name, path in paths.items():
                    times[name].append(timed_get(client, path))
        server = server_times(stack.redis_url)
    finally:
        for daphne in servers:
            daphne.stop()
        feed.stop()
        stack.close()
    report({name: t[WARMUP:] for name, t in times.items()}, server)


def timed_get(client: httpx.Client, path: str) -> float:
    started = time.perf_counter()
    response = client.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    return elapsed


def server_times(redis_url: str, rounds: int = 200) -> dict:
    """p50 of the read and of the computation of BTC's analytics, in this process."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker_project.settings")
    os.environ["REDIS_URL"] = redis_url
    import django

    django.setup()
    from options.analytics import strikes_analytics
    from options.analytics_read import read_analytics
    from options.read import read_quotes

    async def run() -> dict:
        read_ms, compute_ms, whole_ms = [], [], []
        for _ in range(rounds):
            started = time.perf_counter()
            expiries = await read_quotes("bybit", "BTC")
            read_done = time.perf_counter()
            for expiry, listed in expiries:
                strikes_analytics(expiry.expiry, listed)
            compute_done = time.perf_counter()
            (await read_analytics("bybit", "BTC")).as_dict()
            whole_done = time.perf_counter()
            read_ms.append((read_done - started) * 1000)
            compute_ms.append((compute_done - read_done) * 1000)
            whole_ms.append((whole_done - compute_done) * 1000)
        return {"read": read_ms, "compute": compute_ms, "whole": whole_ms}

    return asyncio.run(run())


def report(times: dict, server: dict) -> None:
    for name, values in times.items():
        p50, p99 = statistics.median(values), percentile(values, 99)
        print(
            f"{name:18s} p50 {p50:6.2f} ms, p99 {p99:6.2f} ms ({len(values)} requests)"
        )
    ratio = statistics.median(times["analytics"]) / statistics.median(
        times["chain (reference)"]
    )
    print(f"analytics / chain p50: {ratio:.2f}x; target: analytics p50 < 20 ms")
    print("in process: " + ", ".join(
        f"{name} p50 {statistics.median(v):.2f} ms" for name, v in server.items()
    ))  # fmt: skip


if __name__ == "__main__":
    main()
