"""API figures: the chain and ticks endpoints under daphne, beside a reference.

    .venv/bin/python bench/api_bench.py [--seconds 8] [--rate 2000]

Starts a private Redis, the simulator (2,100 contracts) and run_feed (bench/harness.py),
serves the project with daphne on loopback, and loads it with wrk (`make bench-tools`):
one connection for p50, then 50 connections for requests/s and p99. The
reference is the same daphne serving the same response bytes from one async Django view
with no app and no middleware (bench/api_reference.py), measured in the same run; the
ratios are the figures that hold from day to day. Concurrent requests for the same
chain share their reads (api/coalesce.py), so the chain is measured twice: every
connection asking for the same chain, then each request for a different window of
half the strikes (`chain_distinct`), which no two connections share. Chain and ticks
are measured once more through Django's whole handler and middleware, without the
ASGI shortcut (`*_no_shortcut`), to show what the shortcut earns. Also prints the
server time of one chain read through the read model (options.read). Prints figures;
not a test.
"""

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from harness import Stack, percentile  # noqa: I001  (bench/ is on sys.path)

from devtools.processes import Daphne, free_port
from options import keys

STRIKES = 100  # the chain: 100 strikes, 200 contracts
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8, help="per wrk run")
    parser.add_argument("--rate", type=int, default=2000, help="simulator frames/s")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: make bench-tools (or apt-get install -y wrk)")

    stack = Stack(contracts=2100, rate=args.rate)
    feed = stack.feed("--fields", "full")
    servers: list[Daphne] = []
    try:
        feed.wait_streaming()
        expiry, strikes = widest_expiry(stack)
        low, high = middle(strikes, STRIKES)
        chain_key = keys.chain("bybit", "BTC", expiry)
        chain = stack.client.zrangebyscore(chain_key, low, high)
        symbol = chain[len(chain) // 2]  # a contract near the middle
        app_port = serve(servers, "tracker_project.asgi:application", stack)
        base = f"http://127.0.0.1:{app_port}"
        paths = {
            "chain": f"/api/chain/bybit/BTC/{expiry}/"
            f"?strike_min={low}&strike_max={high}",
            "ticks": f"/api/ticks/bybit/{symbol}/",
        }
        rows = len(httpx.get(base + paths["chain"]).json()["rows"])
        print(f"chain: BTC {expiry}, {rows} strikes, {2 * rows} contracts")
        store_ms = store_read_ms(stack.redis_url, expiry, low, high)
        results = {"store_chain_read_ms": store_ms}
        for name, path in paths.items():
            results[name] = compare(servers, base + path, stack, args.seconds)
        # Polling clients of one chain share reads (api/coalesce.py); here none can.
        chain_path = f"/api/chain/bybit/BTC/{expiry}/"
        distinct = [
            base + f"{chain_path}?strike_min={lo}&strike_max={hi}"
            for lo, hi in windows(strikes)
        ]
        results["chain_distinct"] = compare(
            servers, distinct[0], stack, args.seconds, rotate=distinct
        )
        # What the ASGI shortcut (api/asgi.py) earns: the same requests through
        # Django's whole handler and middleware.
        django_port = serve(servers, "tracker_project.asgi:django_asgi_app", stack.env)
        for name, path in paths.items():
            url = f"http://127.0.0.1:{django_port}{path}"
            results[f"{name}_no_shortcut"] = compare(servers, url, stack, args.seconds)
        report(results)
    finally:
        for server in servers:
            server.stop()
        feed.stop()
        stack.close()


def widest_expiry(stack: Stack) -> tuple[str, list[float]]:
    """The BTC expiry with the most strikes, and its strikes."""
    client = stack.client
    days = client.zrange(keys.expiries("bybit", "BTC"), 0, -1)
    best = max(days, key=lambda d: client.zcard(keys.chain("bybit", "BTC", d)))
    index = client.zrange(keys.chain("bybit", "BTC", best), 0, -1, withscores=True)
    strikes = sorted({strike for _, strike in index})
    return best, strikes


def middle(strikes: list[float], count: int) -> tuple[float, float]:
    """Bounds around the middle `count` strikes (all of them when there are fewer:
    the simulated listing follows the calendar)."""
    count = min(count, len(strikes))
    start = (len(strikes) - count) // 2
    return strikes[start], strikes[start + count - 1]


def windows(strikes: list[float], count: int = 50) -> list[tuple[float, float]]:
    """Up to `count` different windows of half the strikes each, one strike apart:
    requests that no two connections share."""
    width = len(strikes) // 2
    return [
        (strikes[i], strikes[i + width - 1])
        for i in range(min(count, len(strikes) - width + 1))
    ]


def serve(servers: list, app: str, stack: Stack, extra_env=None) -> int:
    """daphne serving `app` on a free port (logging only errors); its port."""
    server = Daphne(
        free_port(), {**stack.env, **(extra_env or {})}, stack.workdir / "daphne.log",
        app=app, options=("-v", "0"),
    )  # fmt: skip
    servers.append(server.start())
    return server.port


def compare(
    servers: list, url: str, stack: Stack, seconds: float, rotate: list[str] = ()
) -> dict:
    """The endpoint and its reference (same bytes, bare Django view), interleaved.
    With `rotate`, the API's requests go round those URLs, one after the other."""
    body = httpx.get(url).content
    path = Path(tempfile.mkdtemp(prefix="ot-api-ref-")) / "body"
    path.write_bytes(body)
    ref_env = {"DJANGO_SETTINGS_MODULE": "bench.api_reference",
               "API_REFERENCE_BODY": str(path)}  # fmt: skip
    ref_port = serve(servers, "bench.api_reference:application", stack, ref_env)
    ref_url = f"http://127.0.0.1:{ref_port}/" + url.split("/", 3)[3]
    assert httpx.get(ref_url).content == body
    out = {"bytes": len(body)}
    script = rotation_script(rotate) if rotate else None
    for label, conns in (("single", 1), ("c50", 50)):
        for who, target in (("api", url), ("ref", ref_url)):
            extra = script if who == "api" else None
            wrk(target, 1, min(seconds, 2), extra)  # warm-up
            out[f"{who}_{label}"] = wrk(target, conns, seconds, extra)
    servers.pop().stop()  # SIGTERM; killed when it lingers on open keep-alives
    return out


def rotation_script(urls: list[str]) -> Path:
    """A wrk script whose requests go round the URLs' paths."""
    paths = ", ".join(f'"/{u.split("/", 3)[3]}"' for u in urls)
    script = Path(tempfile.mkdtemp(prefix="ot-api-wrk-")) / "rotate.lua"
    script.write_text(
        f"local paths = {{{paths}}}\nlocal n = 0\n"
        "request = function()\n  n = n + 1\n"
        '  return wrk.format("GET", paths[n % #paths + 1])\nend\n'
    )
    return script


def wrk(url: str, connections: int, seconds: float, script: Path | None = None) -> dict:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{max(int(seconds), 1)}s",
         "--latency", *(["-s", str(script)] if script else []), url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    latency = {
        q: float(v) * UNITS[unit]
        for q, v, unit in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
    }
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": latency.get("50", float("nan")),
        "p99_ms": latency.get("99", float("nan")),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def store_read_ms(url: str, expiry: str, low: float, high: float) -> dict:
    """Server time of one 100-strike chain read through the read model (the index,
    then the contracts in one round trip, into typed rows), and of the whole handler
    (read, formatting, orjson)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker_project.settings")
    os.environ["REDIS_URL"] = url
    import django

    django.setup()
    import orjson

    from api.chain import chain
    from api.params import ChainParams
    from options.read import read_chain

    params = ChainParams(strike_min=low, strike_max=high)

    async def read():
        return await read_chain("bybit", "BTC", expiry, strike_min=low, strike_max=high)

    async def handler():
        return orjson.dumps(await chain("bybit", "BTC", expiry, params))

    async def run() -> dict:
        times = {}
        for name, step in (("store_read", read), ("handler", handler)):
            samples = []
            for _ in range(300):
                started = time.perf_counter()
                await step()
                samples.append((time.perf_counter() - started) * 1000)
            samples = samples[50:]
            times[name] = {"p50": statistics.median(samples),
                           "p99": percentile(samples, 99)}  # fmt: skip
        return times

    return asyncio.run(run())


def report(results: dict) -> None:
    store_ms = results["store_chain_read_ms"]
    print(
        f"one chain read through the read model: p50"
        f" {store_ms['store_read']['p50']:.2f} ms"
        f" (p99 {store_ms['store_read']['p99']:.2f});"
        f" whole async handler incl. formatting + orjson: p50"
        f" {store_ms['handler']['p50']:.2f} ms"
    )
    for name in ("chain", "ticks", "chain_distinct", "chain_no_shortcut",
                 "ticks_no_shortcut"):  # fmt: skip
        r = results[name]
        a1, r1, a50, r50 = r["api_single"], r["ref_single"], r["api_c50"], r["ref_c50"]
        print(f"\n/{name}/ ({r['bytes']} bytes)")
        print(f"  single client p50: api {a1['p50_ms']:.2f} ms, ref"
              f" {r1['p50_ms']:.2f} ms"
              f" -> {a1['p50_ms'] / r1['p50_ms']:.2f}x (target <= 4x)")  # fmt: skip
        print(f"  50 connections:    api {a50['rps']:.0f} req/s"
              f" (p99 {a50['p99_ms']:.1f} ms),"
              f" ref {r50['rps']:.0f} req/s (p99 {r50['p99_ms']:.1f} ms)"
              f" -> {a50['rps'] / r50['rps']:.2f}x (target >= 0.4x)")  # fmt: skip
        bad = sum(r[k]["non_2xx"] for k in ("api_single", "api_c50"))
        if bad:
            print(f"  WARNING: {bad} non-2xx responses from the API")
    print("\n" + json.dumps(results))


if __name__ == "__main__":
    main()
