"""One WebSocket client of `/v5/public/option`: its requests, topics and pushes.

Pushes bypass `ws.send()`: a batch of frames is framed by hand and handed to the
transport in one write, then `drain()` applies the socket's backpressure. That is what
lets one process produce well over 100k frames/s; with permessage-deflate negotiated
the frames go through the websockets protocol object instead.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import orjson
from websockets.asyncio.server import ServerConnection
from websockets.protocol import State

from .contract import Contract
from .frames import (
    command_resp,
    delta_frame,
    framed,
    linear_ack,
    now_ms,
    params_error,
    pong,
    ticker_frame,
)

if TYPE_CHECKING:
    from .server import SimulatorServer

TICK_S = 0.01  # pacing step of the rate-limited pusher
CHUNK = 1000  # frames per write for snapshots


class Session:
    """Subscriptions and push state of one connection."""

    def __init__(
        self, server: SimulatorServer, ws: ServerConnection, conn_id: str
    ) -> None:
        self.server, self.ws, self.conn_id = server, ws, conn_id
        self.connected_at = now_ms()
        self.topics: dict[str, Contract | None] = {}  # None: acked, never delivered
        self.chars = 0
        self.order: list[Contract] = []  # push rotation
        self.cursor = 0
        self.frames = 0
        self.sent: dict[Contract, dict[str, str]] = {}  # last data sent, for deltas
        self.fast = not ws.protocol.extensions

    def info(self) -> dict:
        return {
            "conn_id": self.conn_id,
            "topics": len(self.topics),
            "connected_at": self.connected_at,
            "frames_sent": self.frames,
        }

    # -- client frames -------------------------------------------------------------

    async def serve(self) -> None:
        """Read client frames until the socket closes or stays idle too long."""
        while True:
            idle = self.server.switches.idle_timeout_s or None
            try:
                async with asyncio.timeout(idle):
                    message = await self.ws.recv()
            except TimeoutError:
                await self.ws.close(1000, "idle timeout")
                return
            await self.handle(message)

    async def handle(self, message: str | bytes) -> None:
        request = None
        if isinstance(message, str):
            with contextlib.suppress(orjson.JSONDecodeError):
                request = orjson.loads(message)
        if not isinstance(request, dict):
            await self.reply(params_error(self.conn_id, ""))
            return
        op, args = request.get("op"), request.get("args")
        if op == "ping":
            if self.server.answers_pings():
                await self.reply(pong())
        elif op in ("subscribe", "unsubscribe") and _topic_list(args):
            if op == "subscribe":
                await self.subscribe(args)
            else:
                await self.unsubscribe(args, request.get("req_id"))
        else:
            await self.reply(params_error(self.conn_id, op))

    async def reply(self, text: bytes) -> None:
        await self.ws.send(text, text=True)

    async def subscribe(self, args: list[str]) -> None:
        """Ack (COMMAND_RESP), then one snapshot per newly delivered topic."""
        success, fail, fresh = [], [], []
        over = False
        for topic in args:
            verdict = self._admit(topic)
            (success if verdict == "ok" else fail).append(topic)
            over = over or verdict == "over"
            contract = self.topics.get(topic) if verdict == "ok" else None
            if contract is not None:
                fresh.append(contract)
        self.rebuild()
        await self.reply(command_resp(self.conn_id, success, fail))
        if over and self.server.switches.limit_mode == "close":
            await self.ws.close(1008, "args limit exceeded")
        elif fresh and not self.server.silenced():
            await self.snapshot(fresh)

    def _admit(self, topic: str) -> str:
        """Subscribe one topic if allowed: "ok", "fail" (unknown/rejected) or "over"."""
        if topic in self.topics:
            return "ok"
        switches = self.server.switches
        contract = self.server.market.by_topic(topic)
        strict = switches.unknown_topic_mode == "strict"
        if topic in self.server.rejected or (contract is None and strict):
            return "fail"
        if (
            len(self.topics) >= switches.max_topics
            or self.chars + len(topic) > switches.max_args_chars
        ):
            return "over"
        self.topics[topic] = contract
        self.chars += len(topic)
        return "ok"

    async def unsubscribe(self, args: list[str], req_id: object) -> None:
        for topic in args:
            if topic in self.topics:
                self.chars -= len(topic)
                self.sent.pop(self.topics.pop(topic), None)
        self.rebuild()
        if self.server.switches.unsub_ack == "linear":
            await self.reply(linear_ack(self.conn_id, req_id, "unsubscribe"))
        else:
            await self.reply(command_resp(self.conn_id, list(args), []))

    def rebuild(self) -> None:
        """Refresh the push rotation (only Trading contracts) and the server's count."""
        self.order = [
            c for c in self.topics.values() if c is not None and c.status == "Trading"
        ]
        self.cursor = 0
        self.server.recount()

    # -- pushes --------------------------------------------------------------------

    def build(self, count: int, ts: int) -> list[bytes]:
        """The next `count` rotation slots as frames (muted slots are skipped)."""
        order, out = self.order, []
        size = len(order)
        if not size:
            return out
        deltas = self.server.switches.emit_deltas
        if not deltas and self.sent:
            self.sent.clear()
        seq, cur = self.server.seq, self.cursor
        append = out.append
        for _ in range(count):
            contract = order[cur]
            cur += 1
            if cur == size:
                cur = 0
            if contract.push:
                seq += 1
                if deltas:
                    append(self._maybe_delta(contract, seq, ts))
                else:
                    append(ticker_frame(contract, seq, ts))
        self.server.seq, self.cursor = seq, cur
        return out

    def _maybe_delta(self, contract: Contract, seq: int, ts: int) -> bytes:
        before = self.sent.get(contract)
        self.sent[contract] = contract.data
        if (
            before is None
            or self.server.rng.random() >= self.server.switches.delta_ratio
        ):
            return ticker_frame(contract, seq, ts)
        changed = {k: v for k, v in contract.data.items() if before.get(k) != v}
        changed.pop("symbol", None)
        return delta_frame(contract, seq, ts, changed)

    def write(self, bodies: list[bytes]) -> bool:
        """Queue frames on the socket; False once the connection is no longer open."""
        ws = self.ws
        if ws.protocol.state is not State.OPEN or ws.transport.is_closing():
            return False
        if not bodies:
            return True
        if self.fast:
            ws.transport.write(framed(bodies))
        else:
            for body in bodies:
                ws.protocol.send_text(body)
            ws.send_data()
        self.frames += len(bodies)
        self.server.frames_sent += len(bodies)
        return True

    async def snapshot(self, contracts: list[Contract], ts: int | None = None) -> None:
        """Send one full snapshot per contract now (after subscribe, set, resend)."""
        ts, deltas = ts or now_ms(), self.server.switches.emit_deltas
        for start in range(0, len(contracts), CHUNK):
            bodies = []
            for contract in contracts[start : start + CHUNK]:
                if contract.push:
                    self.server.seq += 1
                    bodies.append(ticker_frame(contract, self.server.seq, ts))
                    if deltas:
                        self.sent[contract] = contract.data
            if not self.write(bodies):
                return
            await self.ws.drain()

    async def pump(self) -> None:
        """Push forever: paced by the rate switch, or as fast as the socket drains."""
        loop = asyncio.get_running_loop()
        server, credit, last = self.server, 0.0, loop.time()
        while True:
            switches = server.switches
            if switches.rate <= 0:
                bodies = (
                    [] if server.silenced() else self.build(switches.batch, now_ms())
                )
                if not self.write(bodies):
                    return
                if bodies:
                    await self.ws.drain()
                await asyncio.sleep(0 if bodies else TICK_S)
                last = loop.time()
                continue
            await asyncio.sleep(TICK_S)
            now = loop.time()
            elapsed, last = now - last, now
            if server.silenced() or not self.order:
                credit = 0.0
                continue
            share = switches.rate * len(self.order) / max(server.push_topics, 1)
            credit = min(credit + share * elapsed, share * 0.5 + 1.0)
            count = int(credit)
            credit -= count
            for start in range(0, count, max(switches.batch, 1)):
                size = min(switches.batch, count - start)
                if not self.write(self.build(size, now_ms())):
                    return
                await self.ws.drain()


def _topic_list(args: object) -> bool:
    return (
        isinstance(args, list) and bool(args) and all(isinstance(a, str) for a in args)
    )
