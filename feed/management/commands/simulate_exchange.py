"""`manage.py simulate_exchange`: run the Bybit option exchange simulator."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import TYPE_CHECKING

from django.core.management.base import BaseCommand, CommandParser

if TYPE_CHECKING:
    from feed.simulator import SimulatorServer


class Command(BaseCommand):
    help = (
        "Serve a simulated Bybit v5 option exchange (REST, WebSocket, /sim/ control)."
    )
    requires_system_checks = []  # a lean feed-only process: URL checks need other apps

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument(
            "--port", type=int, default=9100, help="0 picks a free port"
        )
        parser.add_argument("--contracts", type=int, default=2100)
        parser.add_argument(
            "--rate",
            type=float,
            default=5000.0,
            help="ticker frames/s over all subscribed topics; 0 = as fast as read",
        )
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--unknown-topic-mode", choices=("strict", "silent"), default="strict"
        )
        parser.add_argument("--idle-timeout", type=float, default=600.0, metavar="S")
        parser.add_argument("--emit-deltas", action="store_true")
        parser.add_argument(
            "--rest-rate-limit",
            type=int,
            default=0,
            metavar="N",
            help="answer HTTP 403 after N REST requests within 5 s (0 = off)",
        )
        parser.add_argument(
            "--compression",
            action="store_true",
            help="accept permessage-deflate (slower)",
        )

    def handle(self, *args: object, **options: object) -> None:
        # Imported here so `manage.py help` stays cheap and Django is fully set up.
        from feed.simulator import SimulatorServer

        if (
            int(options["verbosity"]) >= 2
        ):  # every HTTP request and WebSocket open/close
            logging.getLogger("feed.simulator.wire").setLevel(logging.INFO)
        server = SimulatorServer(
            host=options["host"],
            port=options["port"],
            contracts=options["contracts"],
            rate=options["rate"],
            seed=options["seed"],
            compression=options["compression"],
            unknown_topic_mode=options["unknown_topic_mode"],
            idle_timeout_s=options["idle_timeout"],
            emit_deltas=options["emit_deltas"],
            rest_rate_limit=options["rest_rate_limit"],
        )
        asyncio.run(self._run(server))

    async def _run(self, server: SimulatorServer) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await server.start()
        self.stdout.write(
            f"simulator listening: rest={server.rest_url} ws={server.url} "
            f"contracts={server.market.live_count()} rate={server.switches.rate:g}"
        )
        self.stdout.flush()
        await stop.wait()
        await server.stop()
        self.stdout.write("simulator stopped")
