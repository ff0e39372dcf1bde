"""daphne's memory across bursts of idle live-update sockets.

    .venv/bin/python bench/socket_bursts.py [--sockets 300] [--bursts 4] [--hold 3]

A real stack (Redis, the simulator streaming, run_feed) and daphne. Each burst opens
`--sockets` chain sockets from 20 each of as many loopback addresses (127.0.1.x, so
the default WS_MAX_PER_CLIENT of 20 holds), waits for every snapshot, keeps them open
and idle (the clients read nothing more) for `--hold` seconds, closes them all, and
prints daphne's resident memory once they are gone. Target: bursts 2 to 4 leave it
within 5 MB of where the first left it.
"""

import argparse
import asyncio
import contextlib
import json
import sys
import time
from pathlib import Path

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.dashboard_bench import biggest_chain, serving  # noqa: E402
from bench.harness import rss_mb  # noqa: E402

PER_ADDRESS = 20
HANDSHAKES = 50  # at once: a browser crowd arrives over time, not in one packet


async def burst(url: str, origin: str, count: int, hold: float) -> dict:
    """Open `count` sockets, hold them idle, close them; what they got first."""
    async with contextlib.AsyncExitStack() as stack:
        sources = [f"127.0.1.{1 + n // PER_ADDRESS}" for n in range(count)]
        handshakes = asyncio.Semaphore(HANDSHAKES)
        firsts = await asyncio.gather(
            *(
                first_message(stack, handshakes, url, origin, source)
                for source in sources
            )
        )
        await asyncio.sleep(hold)
    return {kind: firsts.count(kind) for kind in set(firsts)}


async def first_message(stack, handshakes, url: str, origin: str, source: str) -> str:
    try:
        async with handshakes:
            ws = await stack.enter_async_context(
                websockets.connect(
                    url,
                    origin=origin,
                    local_addr=(source, 0),
                    open_timeout=60,
                    max_size=None,
                    max_queue=1,
                )  # fmt: skip
            )
            message = await asyncio.wait_for(ws.recv(), 60)
    except websockets.ConnectionClosed as closed:
        return f"closed {closed.rcvd.code if closed.rcvd else None}"
    except (OSError, TimeoutError, websockets.InvalidHandshake) as exc:
        return type(exc).__name__
    return json.loads(message)["type"]


def settle(pid: int, seconds: float = 3.0) -> float:
    """daphne's RSS once the closed sockets' work is over (MB)."""
    time.sleep(seconds)
    return rss_mb(pid)


def run(sockets: int, bursts: int, hold: float, env: dict[str, str]) -> dict:
    with serving(600, 600, env) as (stack, _, daphne):
        expiry, index = biggest_chain(stack)
        url = f"ws://127.0.0.1:{daphne.port}/ws/chain/bybit/BTC/{expiry}/"
        origin = daphne.url
        asyncio.run(burst(url, origin, 1, 0.5))  # first-use imports and caches
        before = settle(daphne.proc.pid)
        after, got = [], []
        for _ in range(bursts):
            got.append(asyncio.run(burst(url, origin, sockets, hold)))
            after.append(round(settle(daphne.proc.pid), 1))
        return {
            "sockets_per_burst": sockets,
            "chain_contracts": len(index),
            "first_messages": got,
            "daphne_rss_mb_before": round(before, 1),
            "daphne_rss_mb_after_each_burst": after,
            "growth_after_first_mb": round(max(after[1:]) - after[0], 1),
            "env": env,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sockets", type=int, default=300)
    parser.add_argument("--bursts", type=int, default=4)
    parser.add_argument("--hold", type=float, default=3.0)
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE",
        help="extra environment for daphne (to compare settings)",
    )  # fmt: skip
    args = parser.parse_args()
    env = dict(item.split("=", 1) for item in args.env)
    print(json.dumps(run(args.sockets, args.bursts, args.hold, env), indent=2))


if __name__ == "__main__":
    main()
