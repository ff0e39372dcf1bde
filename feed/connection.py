"""One WebSocket connection of the feed: connect, subscribe, read, ping, reconnect.

Each connection owns a shard of the symbols (the adapter decides how many one socket
may carry). Frames go straight from the socket into the conflator; nothing else sits
on the per-message path.
"""

import asyncio
import contextlib
import logging
import time

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from feed.backoff import full_jitter
from feed.conflate import Conflator
from feed.exchanges.base import Ack, Frame, Ignored, Malformed, StreamAdapter, Tick
from feed.stats import FeedStats

log = logging.getLogger(__name__)

MAX_FRAME_BYTES = 4 * 1024 * 1024  # larger frames close the socket (websockets' limit)


def _now_ms() -> int:
    return int(time.time() * 1000)


class StreamConnection:
    def __init__(
        self,
        name: str,
        adapter: StreamAdapter,
        symbols: list[str],
        conflator: Conflator,
        stats: FeedStats,
        stop: asyncio.Event,
        stale_after: float = 15.0,
    ):
        self.name = name
        self.adapter = adapter
        self.symbols = list(symbols)
        self.conflator = conflator
        self.stats = stats
        self.stop = stop
        self.stale_after = stale_after
        self.connected = False
        self.msgs = 0  # ticker frames applied, over the connection's life
        self._msgs_at_connect = 0
        self.acked: dict[str, float] = {}  # symbol -> monotonic time of its ack
        self.rejected: set[str] = set()
        self.silent: set[str] = set()  # acked, yet no data since
        self.retried: set[str] = set()  # silent topics subscribed once more
        # Frames already in flight when a topic was unsubscribed are not malformed.
        self.unsubscribed: set[str] = set()
        self._ws = None
        self._malformed_logged = 0

    async def run(self) -> None:
        """Connect and read until stop is set, reconnecting with backoff."""
        attempt = 0
        while not self.stop.is_set():
            try:
                async with connect(
                    self.adapter.ws_url(),
                    ping_interval=None,  # Bybit wants its JSON ping, sent below
                    max_size=MAX_FRAME_BYTES,
                    max_queue=64,
                    compression=None,
                    proxy=None,
                    open_timeout=10,
                    close_timeout=2,
                ) as ws:
                    self._ws = ws
                    self.connected = True
                    healthy = await self._serve(ws)
                    if healthy:
                        attempt = 0
            except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
                log.warning("%s: connect failed: %s", self.name, exc)
            except ConnectionClosed as exc:
                log.warning("%s: connection closed: %s", self.name, exc)
            finally:
                self.connected = False
                self._ws = None
            if self.stop.is_set():
                break
            self.stats.reconnects += 1
            delay = full_jitter(attempt)
            attempt += 1
            log.info(
                "%s: reconnecting in %.1fs (attempt %d)", self.name, delay, attempt
            )
            await self._sleep(delay)

    async def add(self, symbols: list[str]) -> None:
        """Subscribe more symbols on this socket (or at its next connect)."""
        self.symbols += symbols
        await self._send_frames(self.adapter.subscribe_frames(symbols))

    async def remove(self, symbols: set[str]) -> None:
        """Unsubscribe symbols on this socket; it stays open for the others."""
        gone = [s for s in self.symbols if s in symbols]
        self.symbols = [s for s in self.symbols if s not in symbols]
        self.unsubscribed.update(gone)
        for symbol in gone:
            self.acked.pop(symbol, None)
        self.rejected -= symbols
        self.silent -= symbols
        await self._send_frames(self.adapter.unsubscribe_frames(gone))

    async def _send_frames(self, frames: list[bytes]) -> None:
        ws = self._ws
        if ws is None or not frames:
            return  # not connected: the next connect subscribes self.symbols
        try:
            for frame in frames:
                await ws.send(frame.decode())
        except ConnectionClosed:
            pass  # the reconnect subscribes self.symbols

    async def close(self) -> None:
        ws = self._ws
        if ws is not None:
            await ws.close()

    async def _serve(self, ws) -> bool:
        """Subscribe and read one socket until it closes; True when data flowed."""
        self._msgs_at_connect = self.msgs
        self.acked.clear()
        self.silent.clear()
        self.retried.clear()
        self.unsubscribed.clear()
        for frame in self.adapter.subscribe_frames(self.symbols):
            await ws.send(frame.decode())
        keeper = asyncio.create_task(self._keep(ws), name=f"{self.name}-keeper")
        try:
            await self._read(ws)
        finally:
            keeper.cancel()
        return self.msgs > self._msgs_at_connect

    async def _read(self, ws) -> None:
        parse = self.adapter.parse
        accept = self.conflator.accept
        accept_delta = self.conflator.accept_delta
        clock_ns = time.time_ns  # an int: cheaper than int(time.time() * 1000)
        try:
            async for raw in ws:
                event = parse(raw)
                if event.__class__ is not Tick:
                    self._on_frame(event, raw)
                    continue
                symbol, ts, data, is_delta = event
                file = accept_delta if is_delta else accept
                if file(symbol, ts, data, clock_ns() // 1_000_000):
                    self.msgs += 1
                elif symbol not in self.unsubscribed:
                    self._malformed(f"bad ticker for {symbol[:60]!r}", raw)
        finally:
            self.stats.last_msg_ts = _now_ms()

    def _on_frame(self, event: Frame, raw) -> None:
        """Every frame but a ticker, off the hot path. A Pong needs nothing: the
        watchdog counts data, not pongs."""
        match event:
            case Ack():
                self._on_ack(event)
            case Malformed(reason=reason):
                self._malformed(reason, raw)
            case Ignored(reason=reason):
                log.debug("%s: ignored frame: %s", self.name, reason)

    def _malformed(self, reason: str, raw) -> None:
        self.stats.malformed += 1
        if self._malformed_logged < 5 or self.stats.malformed % 1000 == 0:
            self._malformed_logged += 1
            sample = raw[:200] if isinstance(raw, (str, bytes)) else type(raw)
            log.warning(
                "%s: malformed frame skipped (%s, %d so far): %r",
                self.name, reason, self.stats.malformed, sample,
            )  # fmt: skip

    def _on_ack(self, ack: Ack) -> None:
        now = time.monotonic()
        symbol_of = self.adapter.symbol_of
        for topic in ack.ok_topics:
            self.acked[symbol_of(topic)] = now
        if ack.failed_topics or not ack.success:
            failed = {symbol_of(t) for t in ack.failed_topics}
            self.rejected |= failed
            log.warning(
                "%s: subscription refused for %d topic(s) %s %s",
                self.name, len(failed), sorted(failed)[:5], ack.message,
            )  # fmt: skip

    async def _keep(self, ws) -> None:
        """Ping on schedule; close a silent socket; report acked-but-silent topics."""
        last_ping = time.monotonic()
        seen = self.msgs
        last_data = time.monotonic()
        started = time.monotonic()
        while True:
            await asyncio.sleep(min(1.0, self.stale_after / 4))
            now = time.monotonic()
            if now - last_ping >= self.adapter.ping_interval_s:
                await ws.send(self.adapter.ping_frame().decode())
                last_ping = now
            if self.msgs != seen:
                seen, last_data = self.msgs, now
            if now - last_data > self.stale_after:
                log.warning(
                    "%s: no data for %.0fs, reconnecting", self.name, now - last_data
                )
                await ws.close(code=4000, reason="stale")
                return
            if now - started > self.stale_after:
                await self._check_silent_topics(ws, now)

    async def _check_silent_topics(self, ws, now: float) -> None:
        stamps = self.conflator.stamps
        cutoff_ms = _now_ms() - self.stale_after * 1000
        silent = {
            s
            for s, acked_at in self.acked.items()
            if now - acked_at > self.stale_after
            and stamps.get(s, (0, 0))[1] < cutoff_ms
        }
        new = silent - self.silent
        self.silent = silent
        if new:
            log.warning(
                "%s: %d topic(s) acknowledged but silent for %.0fs, resubscribing: %s",
                self.name, len(new), self.stale_after, sorted(new)[:5],
            )  # fmt: skip
            # One more try each: unsubscribe, then subscribe again on this socket.
            retry = sorted(new - self.retried)
            self.retried.update(retry)
            for frame in self.adapter.unsubscribe_frames(retry):
                await ws.send(frame.decode())
            for frame in self.adapter.subscribe_frames(retry):
                await ws.send(frame.decode())

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), seconds)
