"""`python -m simulator`: serve the simulated Bybit option exchange until SIGTERM/^C.

Prints one line, `simulator listening: rest=... ws=... contracts=... rate=...`, once
the port is open (the test and benchmark tooling read the port from it when it was 0).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

from .server import SimulatorServer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m simulator",
        description="Serve a simulated Bybit v5 option exchange "
        "(REST, WebSocket, /sim/ control) on one port.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100, help="0 picks a free port")
    parser.add_argument("--contracts", type=int, default=2100)
    parser.add_argument(
        "--rate", type=float, default=5000.0,
        help="ticker frames/s over all subscribed topics; 0 = as fast as read",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--unknown-topic-mode", choices=("strict", "silent"), default="strict"
    )
    parser.add_argument("--idle-timeout", type=float, default=600.0, metavar="S")
    parser.add_argument("--emit-deltas", action="store_true")
    parser.add_argument(
        "--rest-rate-limit", type=int, default=0, metavar="N",
        help="answer HTTP 403 after N REST requests within 5 s (0 = off)",
    )  # fmt: skip
    parser.add_argument(
        "--compression", action="store_true", help="accept permessage-deflate (slower)"
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true",
        help="log every HTTP request and WebSocket open/close",
    )  # fmt: skip
    return parser.parse_args(argv)


def build_server(args: argparse.Namespace) -> SimulatorServer:
    """The server these options describe; ValueError names a bad switch."""
    if args.contracts < 1:
        raise ValueError("--contracts must be at least 1")
    return SimulatorServer(
        host=args.host, port=args.port, contracts=args.contracts, rate=args.rate,
        seed=args.seed, compression=args.compression,
        unknown_topic_mode=args.unknown_topic_mode, idle_timeout_s=args.idle_timeout,
        emit_deltas=args.emit_deltas, rest_rate_limit=args.rest_rate_limit,
    )  # fmt: skip


async def serve_until_signalled(server: SimulatorServer) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    print(
        f"simulator listening: rest={server.rest_url} ws={server.url} "
        f"contracts={server.market.live_count()} rate={server.switches.rate:g}",
        flush=True,
    )
    await stop.wait()
    await server.stop()
    print("simulator stopped", flush=True)


def configure_logging(verbose: bool) -> None:
    """LOG_LEVEL as for the tracker's processes; ValueError for an unknown level."""
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    if verbose:
        logging.getLogger("simulator.wire").setLevel(logging.INFO)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        configure_logging(args.verbose)
        server = build_server(args)
    except ValueError as exc:
        print(f"python -m simulator: error: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(serve_until_signalled(server))
    except OSError as exc:  # the port is taken, or the host is not local
        print(f"python -m simulator: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
