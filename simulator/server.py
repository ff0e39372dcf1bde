"""The simulator's network face: one port for Bybit REST, the option stream and /sim/.

websockets' asyncio server answers every GET: `process_request` serves REST and control
requests as plain HTTP and lets only `/v5/public/option` upgrade to a WebSocket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from email.utils import formatdate
from http import HTTPStatus
from urllib.parse import parse_qsl, urlsplit

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.frames import Close
from websockets.http11 import Request, Response

from .config import Switches
from .contract import Contract
from .control import Control, ControlError
from .frames import now_ms
from .market import Market
from .rest import JSON, RestApi
from .session import Session

WS_PATH = "/v5/public/option"
log = logging.getLogger("simulator")
wire_log = logging.getLogger("simulator.wire")
if wire_log.level == logging.NOTSET:
    wire_log.setLevel(
        logging.WARNING
    )  # websockets logs every plain HTTP answer at INFO


class SimulatorServer:
    """Bybit v5 option market data on 127.0.0.1, driven by a `Market` model."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        contracts: int = 2100,
        rate: float = 5000.0,
        seed: int = 1,
        *,
        compression: bool = False,
        now_ms: int | None = None,
        **switches: object,
    ) -> None:
        self.host, self.port, self.compression = host, port, compression
        self.switches = Switches()
        self.switches.update({"rate": rate, **switches})
        self.market = Market(contracts, seed, now_ms)
        self.rest = RestApi(self.market)
        self.control = Control(self)
        self.sessions: set[Session] = set()
        self.rejected: set[str] = set()
        self.rng = random.Random(seed)
        self.seq = 2_480_000_000  # frame sequence in ids, Bybit-sized
        self.frames_sent = 0
        self.push_topics = 0
        self._silenced_until = 0.0
        self._silence_pings = True
        self._connections = 0
        self._server: Server | None = None
        self._tasks: set[asyncio.Task] = set()

    # -- lifecycle -----------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}{WS_PATH}"

    @property
    def rest_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        """Listen (sets `.port` when it was 0) and start moving the market."""
        self._server = await serve(
            self._handle_ws,
            self.host,
            self.port,
            process_request=self._process_request,
            compression="deflate" if self.compression else None,
            ping_interval=None,  # the option stream is kept alive by JSON pings
            write_limit=256 * 1024,
            logger=wire_log,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._spawn(self._step_loop())

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> SimulatorServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def _spawn(self, coro) -> asyncio.Task:  # noqa: ANN001 - any coroutine
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _step_loop(self) -> None:
        while True:
            await asyncio.sleep(self.switches.step_ms / 1000.0)
            live = self.market.live_count()
            self.market.step(now_ms())
            if self.market.live_count() != live:
                self.refresh_sessions()

    # -- HTTP ----------------------------------------------------------------------

    async def _process_request(
        self, conn: ServerConnection, request: Request
    ) -> Response | None:
        parts = urlsplit(request.path)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        path = parts.path
        if path == WS_PATH:
            return None  # the handshake proper; websockets answers 426 to plain GETs
        if path.startswith("/v5/"):
            reply = await self.rest.handle(path, params, self.switches.rest_rate_limit)
            return _response(reply.status, reply.body, reply.content_type)
        if path.startswith("/sim/"):
            status, body = await self.control.handle(path[5:], params)
            return _response(status, orjson.dumps(body), JSON)
        body = {
            "ok": False,
            "error": "not found",
            "ws": self.url,
            "rest": self.rest_url,
        }
        return _response(404, orjson.dumps(body), JSON)

    # -- WebSocket -----------------------------------------------------------------

    async def _handle_ws(self, ws: ServerConnection) -> None:
        self._connections += 1
        conn_id = (
            f"{self.port:04x}sim{self.rng.getrandbits(32):08x}-{self._connections:08x}"
        )
        session = Session(self, ws, conn_id)
        self.sessions.add(session)
        pump = asyncio.get_running_loop().create_task(session.pump())
        try:
            await session.serve()
        except Exception as exc:  # ConnectionClosed and friends end the session
            log.debug("session %s ended: %r", conn_id, exc)
        finally:
            pump.cancel()
            self.sessions.discard(session)
            self.recount()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pump

    def recount(self) -> None:
        self.push_topics = sum(len(s.order) for s in self.sessions)

    def refresh_sessions(self) -> None:
        for session in list(self.sessions):
            session.rebuild()

    def silenced(self) -> bool:
        return time.monotonic() < self._silenced_until

    def answers_pings(self) -> bool:
        return self._silence_pings or not self.silenced()

    def silence(self, seconds: float, pings: bool = True) -> None:
        """Stop pushing for `seconds` (0 resumes); pongs go on unless `pings` is off."""
        self._silenced_until = time.monotonic() + seconds if seconds > 0 else 0.0
        self._silence_pings = pings

    async def push_now(self, contracts: list[Contract], ts: int | None = None) -> int:
        """Snapshot these contracts to every connection subscribed to them, now (with
        `ts` as the frames' exchange time, by default the clock's)."""
        pushed = 0
        if self.silenced():
            return pushed
        for session in list(self.sessions):
            mine = [c for c in contracts if session.topics.get(c.topic) is c and c.push]
            if mine:
                await session.snapshot(mine, ts)
                pushed += len(mine)
        return pushed

    async def resend_all(self) -> int:
        """A snapshot of every subscribed topic on every connection (even silenced)."""
        pushed = 0
        for session in list(self.sessions):
            await session.snapshot(list(session.order))
            pushed += len(session.order)
        return pushed

    def drop(self, code: int, reason: str, abrupt: bool, conn_id: str | None) -> int:
        """Close connections with `code`, or abort the TCP stream (client sees 1006)."""
        if not abrupt and code != 1006:
            try:
                Close(code, reason).check()
            except Exception:
                raise ControlError(f"close code {code} cannot be sent") from None
        targets = [s for s in self.sessions if conn_id in (None, s.conn_id)]
        for session in targets:
            if abrupt or code == 1006:
                session.ws.transport.abort()
            else:
                self._spawn(session.ws.close(code, reason))
        return len(targets)

    def state(self) -> dict:
        remaining = max(self._silenced_until - time.monotonic(), 0.0)
        return {
            "connections": len(self.sessions),
            "topics": sum(len(s.topics) for s in self.sessions),
            "push_topics": self.push_topics,
            "frames_sent": self.frames_sent,
            "contracts": self.market.live_count(),
            "rest_requests": self.rest.requests,
            "silenced_s": round(remaining, 3),
            "switches": self.switches.as_dict(),
            "conns": [s.info() for s in list(self.sessions)],
            "url": self.url,
            "rest_url": self.rest_url,
        }


def _response(status: int, body: bytes, content_type: str) -> Response:
    headers = Headers(
        [
            ("Date", formatdate(usegmt=True)),
            ("Connection", "close"),
            ("Content-Length", str(len(body))),
            ("Content-Type", content_type),
        ]
    )
    return Response(status, HTTPStatus(status).phrase, headers, body)
