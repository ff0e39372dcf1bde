"""The chain socket: a snapshot on connect, then diffs as the chain changes.

Messages to the page (each with `seq` and `server_ts`, ms):
  snapshot  {contracts: [[symbol, strike, "C"|"P"]], rows: {symbol: row}, expiries,
             status, exchange, base, expiry}
  diff      {rows: {symbol: row}, status?, analytics?}: full latest rows
            (chain.CHAIN_FIELDS); the status and the expiry's analytics
            (dashboard.analytics) with the first diff a second after the last,
            alone 100 ms later if no rows come; with the snapshot too
The page answers {"type": "ack", "seq": n} once it has applied message n.

The feed publishes a chain's changed rows after every flush (options.live). A page gets
its next message as soon as one is due (leading edge) and its schedule allows, with
everything that changed meanwhile. The schedule is one message per INTERVAL_S (at most
10 a second on average; a second after a late message may hold 11), and a message may
leave up to EARLY_S ahead of its slot, which lets a page catch up after one message
left late. With a strict 100 ms between messages, a page fed every 100 ms by the
feed's flushes would carry every delay forward: one late message pushes all later
ones back, and each later change waits for that too (bench/send_schedule_model.py). Each
event is applied once per process to the chain's book (dashboard.fanout); a socket
keeps only the book version its page has, so an event costs each socket O(1), and
sockets that keep up send the same JSON, built once.

Every buffer is bounded. At most MAX_IN_FLIGHT messages go unacknowledged; meanwhile
what the page will get is the book's latest row of each contract that changed, one
per contract at most, shared with the chain's other sockets. A page that acknowledges
nothing for STALL_S gets a fresh snapshot once it acks again.
"""

import asyncio
import json
import logging
import time

import orjson
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from redis.exceptions import RedisError

from dashboard import analytics, chain, fanout, guards, layer
from options import live

log = logging.getLogger(__name__)


class ClientError(Exception):
    """Ends the socket with a close code the page understands (see chain.js)."""

    LOGIN_REQUIRED = 4403
    UNKNOWN_CHAIN = 4404
    STORE_DOWN = 4503

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


class PageGone(Exception):
    """A send failed because the page's socket closed meanwhile (the server says
    how: with daphne, autobahn's Disconnected). The disconnect follows."""


class ChainConsumer(AsyncJsonWebsocketConsumer):
    MAX_IN_FLIGHT = 2
    STALL_S = 2.0
    INTERVAL_S = 0.1  # a page's schedule: one message per interval, 10 a second
    EARLY_S = 0.05  # how far ahead of its slot a message may leave (so >= 50 ms apart)

    # Connection -------------------------------------------------------------------

    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._ended()

    async def _ended(self) -> None:
        """Once the consumer has ended, however it ended: its channel-layer channel
        goes (dashboard.layer), and its place under the limits; last, as that may
        give what was freed back to the system (dashboard.guards)."""
        if self.channel_layer is not None and hasattr(self, "channel_name"):
            await layer.forget_channel(self.channel_layer, self.channel_name)
        if getattr(self, "claimed", False):
            self.claimed = False
            guards.sockets.release(self.client)

    async def connect(self):
        route = self.scope["url_route"]["kwargs"]
        self.exchange, self.base = route["exchange"], route["base"]
        self.expiry = route["expiry"]
        self._start_state()
        # Accept first: a close before accepting reaches the browser as a bare
        # handshake failure, without the code that tells the page not to retry.
        await self.accept()
        if not await self._claim():
            return
        try:
            self.check_allowed()
            self.group = live.chain_group(self.exchange, self.base, self.expiry)
            self.book = fanout.join(self.group)
            await self.channel_layer.group_add(self.group, self.channel_name)
            await self.send_snapshot()
        except ClientError as exc:
            await self.close(code=exc.code)
            return
        except PageGone:
            return
        self.sender = asyncio.create_task(self._send_loop())

    async def _claim(self) -> bool:
        """Count the socket against its client's and the process's limits
        (dashboard.guards); a socket over either is closed with the limit's code."""
        self.client = guards.client_address(self.scope)
        refused = guards.sockets.claim(self.client)
        if refused is not None:
            await self.close(code=refused)
            return False
        self.claimed = True
        return True

    def _start_state(self) -> None:
        self.claimed = False  # counted in guards.sockets
        self.group: str | None = None
        self.book: fanout.ChainBook | None = None
        self.sent_version = 0  # the book's version that the page's messages cover
        self.symbols: set[str] = set()  # the contracts of the page's snapshot
        self.index_version = 0  # the book's index version checked against them
        self.unknown: set[str] = set()  # symbols outside the index, resynced once
        self.sent_seq = self.acked_seq = 0
        self.next_slot = 0.0  # when the page's next message is due (monotonic)
        self.blocked_since: float | None = None
        self.resync = False
        self.status_at = 0.0  # when the feed's status is due again (monotonic)
        self.recovering = 0  # healthy statuses to wait for after a Redis outage
        self.wake = asyncio.Event()  # set by events and acks for the sender
        self.sender: asyncio.Task | None = None

    async def disconnect(self, code):
        if self.sender:
            self.sender.cancel()
        if self.book:
            fanout.leave(self.group)
            await self.channel_layer.group_discard(self.group, self.channel_name)

    def check_allowed(self) -> None:
        user = self.scope.get("user")
        if settings.DASHBOARD_LOGIN_REQUIRED and not (user and user.is_authenticated):
            raise ClientError(ClientError.LOGIN_REQUIRED)
        if not chain.valid_names(self.exchange, self.base, self.expiry):
            raise ClientError(ClientError.UNKNOWN_CHAIN)

    # Events from the feed and the page --------------------------------------------

    async def dispatch(self, message):
        # Channels closes stale database connections (a thread hop) before every
        # handler; chain events and the page's acks touch no database and come
        # many times a second on every socket.
        kind = message["type"]
        if kind == "chain.update":
            return await self.chain_update(message)
        if kind == "websocket.receive":
            return await self.websocket_receive(message)
        return await super().dispatch(message)

    async def chain_update(self, event):
        """options.live's message: full latest rows of the contracts the feed wrote.
        The first socket of the process to get it applies it to the book; for the
        others it is a lookup."""
        self.book.apply(event)
        if self.book.index_version != self.index_version:
            self._check_index()
        self.wake.set()

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict) or content.get("type") != "ack":
            return
        seq = content.get("seq")
        if isinstance(seq, int) and self.acked_seq < seq <= self.sent_seq:
            self.acked_seq = seq
            self.wake.set()

    @classmethod
    async def decode_json(cls, text_data):
        try:
            return json.loads(text_data)
        except ValueError:
            return None  # a page's garbage is ignored, not fatal

    def _check_index(self) -> None:
        """Contracts the book saw first since the page's snapshot and the snapshot
        lacks (listed since): one fresh snapshot brings their strikes."""
        learned = self.book.learned_since(self.index_version)
        self.index_version = self.book.index_version
        if learned is None:  # too far behind to tell
            self.start_resync()
            return
        missing = learned - self.symbols - self.unknown
        if missing:
            self.unknown |= missing
            self.start_resync()

    def start_resync(self) -> None:
        self.resync = True

    @property
    def pending(self) -> dict[str, dict]:
        """What the page's next diff carries (nothing while a snapshot is due)."""
        return {} if self.resync else self.book.rows_since(self.sent_version)

    @property
    def in_flight(self) -> int:
        return self.sent_seq - self.acked_seq

    # Sending: every message after the first snapshot leaves from _send_loop -------

    async def _send_loop(self) -> None:
        try:
            while True:
                await self._send_when_due()
        except ClientError as exc:
            await self.close(code=exc.code)
        except PageGone:
            log.debug("chain %s: %s went away", self.group, self.channel_name)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("chain %s: sending failed", self.group)
            await self.close(code=1011)

    async def _send_when_due(self) -> None:
        """One step: wait for room, for something due, or for the schedule; or send."""
        now = time.monotonic()
        if self.in_flight >= self.MAX_IN_FLIGHT:
            await self._wait_for_ack(now)
            return
        self.blocked_since = None
        due = self.resync or self.book.version > self.sent_version
        # The status rides with the next rows once it is due; alone only when none
        # come within an interval. Sent alone on time, it would take the slot of the
        # rows that follow it, 1 s in 20 on a busy chain.
        if not due and now < self.status_at + self.INTERVAL_S:
            await self._idle(self.status_at + self.INTERVAL_S)
            return
        wait = self.next_slot - self.EARLY_S - now
        if wait > 0:
            await asyncio.sleep(wait)  # events meanwhile go out with this message
        elif self.resync:
            await self.send_snapshot()
        else:
            await self.send_diff()

    async def _wait_for_ack(self, now: float) -> None:
        """The page has no room. One that acknowledges nothing for STALL_S gets a
        fresh snapshot next, rather than what changed meanwhile."""
        if self.blocked_since is None:
            self.blocked_since = now
        if self.resync:
            await self._idle(None)
        elif now - self.blocked_since < self.STALL_S:
            await self._idle(self.blocked_since + self.STALL_S)
        else:
            log.info(
                "chain %s: %s stopped acking; resync", self.group, self.channel_name
            )
            self.start_resync()

    async def _idle(self, until: float | None) -> None:
        """Until an event or an ack wakes the sender, or until `until` (monotonic)."""
        try:
            if until is None:
                await self.wake.wait()
            else:
                async with asyncio.timeout(max(0.0, until - time.monotonic())):
                    await self.wake.wait()
        except TimeoutError:
            pass
        self.wake.clear()  # the caller looks at the state again

    async def send_snapshot(self) -> None:
        self.resync = False
        # Rows the book gets during the read go out after it: the page drops any that
        # are older than the snapshot's (chain.js).
        self.sent_version = self.book.version
        index_version = self.book.index_version
        try:
            snapshot = await chain.read_snapshot(self.exchange, self.base, self.expiry)
        except (RedisError, OSError) as exc:
            log.warning("chain %s: snapshot failed: %s", self.group, exc)
            raise ClientError(ClientError.STORE_DOWN)
        if snapshot is None:
            raise ClientError(ClientError.UNKNOWN_CHAIN)
        self.symbols = {symbol for symbol, _, _ in snapshot["contracts"]}
        self.index_version = index_version  # contracts seen during the read: below
        snapshot["status"] = await self._status()
        snapshot["analytics"] = await self._analytics()
        await self._send(snapshot)
        if self.book.index_version != self.index_version:
            self._check_index()

    async def send_diff(self) -> None:
        rows = self.book.rows_since(self.sent_version)
        self.sent_version = self.book.version
        message = {"type": "diff"}
        if time.monotonic() >= self.status_at:
            message["status"] = await self._status()
            message["analytics"] = await self._analytics()
        self._stamp(message)
        # The rows are the book's, shared by every socket of the chain that last sent
        # at the same version: their JSON is built once (chain.rows_json).
        head = orjson.dumps(message)
        await self._transmit(head[:-1] + b',"rows":' + chain.rows_json(rows) + b"}")

    async def _status(self) -> dict:
        self.status_at = time.monotonic() + chain.STATUS_EVERY_S
        health = chain.health(await chain.feed_status(self.exchange))
        self._after_outage(health["state"])
        return health

    async def _analytics(self) -> dict | None:
        """The chain's analytics (the strip, the GEX chart), sent with the status:
        at most once a second, computed once per process (dashboard.analytics)."""
        return await analytics.chain_analytics(self.exchange, self.base, self.expiry)

    def _after_outage(self, state: str) -> None:
        """Live updates published while Redis was away, or while the channel layer
        was reconnecting to it (it retries every second), are lost: once the feed
        has been streaming again for a second, the page gets a fresh snapshot."""
        if state in chain.REDIS_OUTAGE_STATES:
            self.recovering = 2
        elif self.recovering and state == "streaming":
            self.recovering -= 1
            if not self.recovering:
                log.info("chain %s: Redis is back; resync", self.group)
                self.start_resync()

    async def _send(self, message: dict) -> None:
        self._stamp(message)
        await self._transmit(orjson.dumps(message))

    async def _transmit(self, text: bytes) -> None:
        try:
            await self.send(text_data=text.decode())
        except Exception as exc:
            raise PageGone from exc

    def _stamp(self, message: dict) -> None:
        """Number a message about to leave, and move the page's schedule on: the
        next slot is one interval after this one's, or after now if this one is late
        (the generic cell rate algorithm: at most one message per interval on
        average, and never more than EARLY_S ahead)."""
        self.sent_seq += 1
        self.next_slot = max(self.next_slot, time.monotonic()) + self.INTERVAL_S
        message["seq"] = self.sent_seq
        message["server_ts"] = chain.now_ms()
