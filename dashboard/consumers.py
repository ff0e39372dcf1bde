"""The chain socket: a snapshot on connect, then diffs as the feed publishes them.

Messages to the page (each with `seq` and `server_ts`, ms):
  snapshot  {contracts: [[symbol, strike, "C"|"P"]], rows: {symbol: row}, expiries,
             status, exchange, base, expiry}
  diff      {rows: {symbol: row}, status?}: full latest rows (chain.CHAIN_FIELDS)
The page answers {"type": "ack", "seq": n} once it has applied message n.

The feed publishes a chain's changes at most every options.live.PUBLISH_EVERY_MS
(250 ms, on the wall clock) and each event goes out at once: the feed's grid is the
4-a-second limit, and a change waits for one window, not two. Every socket of a chain
sends the same event, so its JSON is built once per process (chain.rows_json).

Every buffer is bounded. At most MAX_IN_FLIGHT messages go unacknowledged; meanwhile
rows merge per symbol into `pending`, which holds at most one row per contract of the
chain, and go out with the next event. A page that acknowledges nothing for STALL_S
has its pending rows dropped and gets a fresh snapshot once it acks again.
"""

import asyncio
import json
import logging
import time

import orjson
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from redis.exceptions import RedisError

from dashboard import chain
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


class ChainConsumer(AsyncJsonWebsocketConsumer):
    MAX_IN_FLIGHT = 2
    STALL_S = 2.0
    # Sends that the feed's events do not time (after an ack, a status on a quiet
    # chain) keep at least this far from the last one.
    MIN_INTERVAL_S = live.PUBLISH_EVERY_MS / 1000

    # Connection -------------------------------------------------------------------

    async def connect(self):
        route = self.scope["url_route"]["kwargs"]
        self.exchange, self.base = route["exchange"], route["base"]
        self.expiry = route["expiry"]
        self.group = None
        self.pending: dict[str, dict] = {}
        self.symbols: set[str] = set()
        self.unknown: set[str] = set()  # symbols outside the index, resynced once
        self.sent_seq = self.acked_seq = 0
        self.last_sent = 0.0
        self.blocked_since: float | None = None
        self.resync = False
        self.status_due = False
        self.recovering = 0  # healthy statuses to wait for after a Redis outage
        # The status ticker sends too: one send at a time keeps `seq` in order.
        self.sending = asyncio.Lock()
        self.ticker: asyncio.Task | None = None
        # Accept first: a close before accepting reaches the browser as a bare
        # handshake failure, without the code that tells the page not to retry.
        await self.accept()
        try:
            self.check_allowed()
            group = live.chain_group(self.exchange, self.base, self.expiry)
            await self.channel_layer.group_add(group, self.channel_name)
            self.group = group
            async with self.sending:
                await self.send_snapshot()
        except ClientError as exc:
            await self.close(code=exc.code)
            return
        self.ticker = asyncio.create_task(self._status_ticker())

    async def disconnect(self, code):
        if self.ticker:
            self.ticker.cancel()
        if self.group:
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
        # handler; chain events touch no database and come many times a second.
        if message["type"] == "chain.update":
            return await self.chain_update(message)
        return await super().dispatch(message)

    async def chain_update(self, event):
        """options.live's message: full latest rows of the contracts that changed."""
        rows = chain.narrow_rows(self.group, event["rows"])
        # Set and dict operations in C: 200 sockets on one chain each do this for
        # every event.
        new = rows.keys() - self.symbols - self.unknown
        if new:
            self.unknown |= new  # newly listed: a snapshot brings their strikes
            self.start_resync()
        elif not self.resync:
            # Never update in place: `rows` is the event's, shared and read-only.
            self.pending = {**self.pending, **rows} if self.pending else rows
        await self.send_due(at_event=True)

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict) or content.get("type") != "ack":
            return
        seq = content.get("seq")
        if isinstance(seq, int) and self.acked_seq < seq <= self.sent_seq:
            self.acked_seq = seq
            await self.send_due()

    @classmethod
    async def decode_json(cls, text_data):
        try:
            return json.loads(text_data)
        except ValueError:
            return None  # a page's garbage is ignored, not fatal

    @classmethod
    async def encode_json(cls, content):
        return orjson.dumps(content).decode()

    # Sending ----------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        return self.sent_seq - self.acked_seq

    async def send_due(self, at_event: bool = False) -> None:
        """Send what is due if the page has room: at once for a feed event (the feed
        paces those), otherwise only MIN_INTERVAL_S after the last message."""
        try:
            async with self.sending:  # the checks too: a send may have just ended
                if not (self.pending or self.resync or self.status_due):
                    return
                if self.in_flight >= self.MAX_IN_FLIGHT:
                    self._note_blocked()
                    return
                self.blocked_since = None
                since = time.monotonic() - self.last_sent
                if not at_event and since < self.MIN_INTERVAL_S:
                    return  # the next event, or the status ticker, takes it
                if self.resync:
                    await self.send_snapshot()
                else:
                    await self.send_diff()
        except ClientError as exc:
            await self.close(code=exc.code)

    async def _status_ticker(self) -> None:
        """The feed's status once a second; on a quiet chain it goes out alone."""
        try:
            while True:
                await asyncio.sleep(chain.STATUS_EVERY_S)
                self.status_due = True
                await self.send_due()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("chain %s: status ticker failed", self.group)
            await self.close(code=1011)

    def _note_blocked(self) -> None:
        now = time.monotonic()
        if self.blocked_since is None:
            self.blocked_since = now
        elif now - self.blocked_since > self.STALL_S and not self.resync:
            log.info(
                "chain %s: %s stopped acking; resync", self.group, self.channel_name
            )
            self.start_resync()

    def start_resync(self) -> None:
        self.resync = True
        self.pending = {}

    async def send_snapshot(self) -> None:
        self.resync = False
        self.pending = {}  # the snapshot is at least as new as all of these
        try:
            snapshot = await chain.read_snapshot(self.exchange, self.base, self.expiry)
        except (RedisError, OSError) as exc:
            log.warning("chain %s: snapshot failed: %s", self.group, exc)
            raise ClientError(ClientError.STORE_DOWN)
        if snapshot is None:
            raise ClientError(ClientError.UNKNOWN_CHAIN)
        self.symbols = {symbol for symbol, _, _ in snapshot["contracts"]}
        snapshot["status"] = await self._status()
        await self._send(snapshot)

    async def send_diff(self) -> None:
        rows, self.pending = self.pending, {}
        message = {"type": "diff"}
        if self.status_due:
            message["status"] = await self._status()
        self._stamp(message)
        # An event's rows are shared by every socket of the chain: their JSON is
        # built once per process (chain.rows_json), not once per socket.
        head = orjson.dumps(message)
        await self.send(
            text_data=(head[:-1] + b',"rows":' + chain.rows_json(rows) + b"}").decode()
        )

    async def _status(self) -> dict:
        self.status_due = False
        health = chain.health(await chain.feed_status(self.exchange))
        self._after_outage(health["state"])
        return health

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
        await self.send_json(message)

    def _stamp(self, message: dict) -> None:
        """Number a message about to leave, and note when it left."""
        self.sent_seq += 1
        self.last_sent = time.monotonic()
        message["seq"] = self.sent_seq
        message["server_ts"] = chain.now_ms()
