"""The feed: stream every subscribed contract's ticker into Redis.

Connections (feed.connection) write into one Conflator; this module owns the timing
around it: flush the changed fields to Redis every flush interval in one pipeline,
publish the dashboard's live updates, write the status hash every second, log a
summary every 30 s, survive Redis outages, and stop cleanly.

Flushes fall on a wall-clock grid (multiples of flush_ms since the epoch). Each flush
writes the contracts of the chains someone watches first, publishes them, and only
then writes the rest: a published row is never ahead of Redis, and a page's change
does not wait for the write of a thousand contracts nobody looks at. How often a page
hears of it is the dashboard's business (at most 10 messages a second per page,
dashboard.consumers).
"""

import asyncio
import itertools
import logging
import os
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from redis.exceptions import RedisError

from alerts.delivery import Notifier
from alerts.evaluate import RuleEvaluator
from alerts.system import system_alerts_from_env
from feed.conflate import Conflator
from feed.connection import StreamConnection
from feed.exchanges.base import StreamAdapter
from feed.publish import LivePublisher
from feed.stats import FeedStats, invalid_status, log_invalid
from feed.universe import UniverseChange
from options import keys, store
from options.clients import feed_client
from options.instruments import Instrument

log = logging.getLogger(__name__)

STATUS_EVERY_S = 1.0
SUMMARY_EVERY_S = 30.0
REDIS_RETRY_CAP_S = 5.0
FLUSH_CHUNK = 256
EXPIRY_CHECK_S = 2.0
WAITING_RELOAD_S = 2.0  # without a universe, read it this often


def next_grid_point(now_ms: float, step_ms: int) -> int:
    """The first multiple of the step after now (ms since the epoch)."""
    return (int(now_ms // step_ms) + 1) * step_ms


class FeedRunner:
    def __init__(
        self,
        adapter: StreamAdapter,
        instruments: Sequence[Instrument],
        redis_url: str,
        store_fields: Sequence[str],
        flush_ms: int = 100,
        stale_after: float = 15.0,
        publish: bool = True,
        universe_loader: Callable[[], Sequence[Instrument]] | None = None,
        metrics_port: int = 0,
        metrics_host: str = "127.0.0.1",
        shard: str = "",
        bases: Sequence[str] | None = None,
    ):
        self.adapter = adapter
        self.exchange = adapter.name
        # One of several feeds side by side: its own status hash, and the chain
        # indexes of its own base coins only (None: every base of the exchange).
        self.shard, self.bases = shard, bases
        self.instruments = {i.symbol: i for i in instruments}
        self.redis = feed_client(redis_url)
        self.writer = store.TickWriter(self.redis, self.exchange)
        self.flush_ms = flush_ms
        self.stale_after = stale_after
        self.stats = FeedStats()
        self.conflator = Conflator(adapter.field_map, store_fields)
        self.conflator.track(self.instruments)
        self.stop = asyncio.Event()
        self.connections: list[StreamConnection] = []
        self._connection_tasks: dict[str, asyncio.Task] = {}
        self._connection_numbers = itertools.count()
        # Reloads the universe when Redis says it changed: a coroutine function
        # (feed.core: from Redis), or a plain function, called in a thread.
        self.universe_loader = universe_loader
        self.state = "starting"
        self.rewrite_all = True  # Redis may hold nothing of ours: write it all
        self._redis_ok = True
        self._redis_retry_at = 0.0
        self._redis_failures = 0
        self._status_written = False
        self._refresh: list = [None, None]  # (state, last_error) of ot:refresh
        self._rate = _RateMeter()
        # Live updates for the dashboard (options.live), after every flush.
        self.publisher: LivePublisher | None = None
        if publish:
            self.publisher = LivePublisher(self.redis, self.exchange, self.conflator)
        # Market alert rules (alerts.evaluate): the rows of each flush are checked.
        self.rules = RuleEvaluator(
            self.redis, self.exchange, Notifier.from_env(), self.conflator.row
        )
        # Prometheus metrics at /metrics on this port (feed.metrics); 0: none.
        self.metrics_port, self.metrics_host = metrics_port, metrics_host
        # System alerts (alerts.system), when NOTIFY_URLS or TELEGRAM_* are set.
        self.system_alerts = system_alerts_from_env(
            self.exchange, self.redis, self.status
        )

    # Lifecycle ------------------------------------------------------------------

    async def run(self) -> None:
        for symbols in self.adapter.shard(sorted(self.instruments)):
            self._open_connection(symbols)
        log.info(
            "feed %s: %d contracts on %d connection(s) to %s",
            self.exchange, len(self.instruments), len(self.connections),
            self.adapter.ws_url(),
        )  # fmt: skip
        # Without a universe yet (a fresh Redis before the first refresh), the feed
        # waits for one: `waiting` is stale to the API and the dashboard.
        self.state = "streaming" if self.instruments else "waiting"
        tasks = [asyncio.create_task(self._flush_loop(), name="flush")]
        tasks.append(asyncio.create_task(self._status_loop(), name="status"))
        tasks.append(asyncio.create_task(self._expiry_loop(), name="expiry"))
        tasks.append(asyncio.create_task(self.rules.run(), name="alert-rules"))
        if self.universe_loader is not None:
            tasks.append(asyncio.create_task(self._universe_loop(), name="universe"))
        if self.system_alerts is not None:
            tasks += self.system_alerts.start()
        if self.metrics_port:
            from feed.metrics import serve_metrics  # prometheus_client: only now

            tasks.append(
                await serve_metrics(self, self.metrics_port, self.metrics_host)
            )
        await self.stop.wait()
        await self._shutdown(tasks)

    async def _shutdown(self, tasks: list[asyncio.Task]) -> None:
        """Close sockets, flush what is pending, write a final status, exit."""
        log.info("feed %s: stopping", self.exchange)
        self.state = "stopped"
        await asyncio.gather(*(c.close() for c in self.connections))
        readers = list(self._connection_tasks.values())
        if readers:
            await asyncio.wait(readers, timeout=2)
        tasks += readers
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.stats.msgs_total = sum(c.msgs for c in self.connections)
        await self.flush()
        await self.write_status()
        await self.redis.aclose()
        log.info(
            "feed %s: stopped after %d messages", self.exchange, self.stats.msgs_total
        )

    def _open_connection(self, symbols: list[str]) -> StreamConnection:
        conn = StreamConnection(
            f"{self.exchange}#{next(self._connection_numbers)}", self.adapter, symbols,
            self.conflator, self.stats, self.stop, self.stale_after,
        )  # fmt: skip
        self.connections.append(conn)
        self._connection_tasks[conn.name] = asyncio.create_task(
            conn.run(), name=conn.name
        )
        return conn

    async def _close_connection(self, conn: StreamConnection) -> None:
        self.connections.remove(conn)
        task = self._connection_tasks.pop(conn.name)
        await conn.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    # The universe changes -------------------------------------------------------

    async def _universe_loop(self) -> None:
        """Reload the universe when told through Redis; reload once more after the
        notification channel was lost (a message may have been missed), and every
        few seconds while there is none."""
        channel = keys.universe_channel(self.exchange)
        missed = False
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(channel)
                if missed:
                    await self.reload_universe("notifications resumed")
                    missed = False
                while True:
                    if not self.instruments:
                        await self.reload_universe("waiting for a universe")
                    message = await pubsub.get_message(
                        timeout=WAITING_RELOAD_S if not self.instruments else 1.0
                    )
                    if message is not None:
                        await asyncio.sleep(0.2)  # let a burst of changes settle
                        while await pubsub.get_message(timeout=0.01):
                            pass
                        await self.reload_universe("universe changed")
            except (RedisError, OSError):
                missed = True
                await asyncio.sleep(1.0)
            finally:
                await pubsub.aclose()

    async def reload_universe(self, reason: str) -> None:
        loader = self.universe_loader
        try:
            if asyncio.iscoroutinefunction(loader):
                instruments = await loader()
            else:
                instruments = await asyncio.to_thread(loader)
        except Exception:
            log.exception("feed %s: reloading the universe failed", self.exchange)
            return
        await self.apply_universe(instruments, reason)

    async def _expiry_loop(self) -> None:
        """Drop contracts at their expiry, whether or not anyone refreshes."""
        while True:
            await asyncio.sleep(EXPIRY_CHECK_S)
            now = datetime.now(UTC)
            live = [i for i in self.instruments.values() if i.expiry > now]
            if len(live) != len(self.instruments):
                await self.apply_universe(live, "expiry")

    async def apply_universe(self, instruments: Sequence[Instrument], reason: str):
        """Subscribe what is new and unsubscribe what is gone, on the open sockets;
        open or close connections only as the limits require."""
        change = UniverseChange.between(self.instruments, instruments)
        if not change:
            return change
        gone = set(change.removed)
        self.instruments = {i.symbol: i for i in instruments}
        if self.state == "waiting" and self.instruments:
            self.state = "streaming"
        self.conflator.untrack(gone)
        self.conflator.track(change.added)
        for conn in list(self.connections):
            if gone.intersection(conn.symbols):
                await conn.remove(gone)
            if not conn.symbols:
                await self._close_connection(conn)
        await self._subscribe_added(change.added)
        await self._update_index(change)
        log.info("feed %s: %s: %s", self.exchange, reason, change)
        return change

    async def _subscribe_added(self, added: list[str]) -> None:
        pending = list(added)
        for conn in self.connections:
            if not pending:
                return
            room = self.adapter.room(conn.symbols, pending)
            if room:
                await conn.add(pending[:room])
                pending = pending[room:]
        for symbols in self.adapter.shard(pending):
            self._open_connection(symbols)

    async def _update_index(self, change: "UniverseChange") -> None:
        pipe = self.redis.pipeline(transaction=True)
        store.queue_unindex(pipe, change.removed_instruments, self.instruments.values())
        store.queue_index(pipe, [self.instruments[s] for s in change.added])
        try:
            await pipe.execute()
        except (RedisError, OSError) as exc:
            self.rewrite_all = True  # the rewrite replaces the whole index
            self._redis_down(exc)

    # Flushing -------------------------------------------------------------------

    async def _flush_loop(self) -> None:
        """Flush at every point of the grid; a slow flush skips the points it missed."""
        at = 0
        while True:
            now = max(time.time() * 1000, at)  # a sleep may end a little early
            at = next_grid_point(now, self.flush_ms)
            await asyncio.sleep((at - now) / 1000)
            await self.flush(at)

    async def flush(self, at: int | None = None) -> bool:
        """Write the changed fields (after a Redis failure, everything), then publish
        the rows written; `at` is the flush's point on the grid (default: now).

        Contracts go out `FLUSH_CHUNK` at a time, which bounds the memory that packing
        them takes; each chunk is one command."""
        if not self._redis_ok and time.monotonic() < self._redis_retry_at:
            return False
        started = time.perf_counter()
        at = at or int(time.time() * 1000)
        try:
            if self.rewrite_all:
                await self._rewrite_all()
                await self._publish(at)
            else:
                await self._write_pending(at)
        except (RedisError, OSError) as exc:
            self.rewrite_all = True
            self._redis_down(exc)
            return False
        self.stats.record_flush((time.perf_counter() - started) * 1000)
        self._redis_up()
        return True

    async def _write_pending(self, at: int) -> None:
        """Write what changed, the watched chains' contracts first, and publish
        them as soon as they are in Redis (once per flush: the publish also learns
        who watches)."""
        pending = self.conflator.take_pending()
        watched = self.publisher.take_watched(pending) if self.publisher else []
        rest = list(pending.items())
        await self._write(watched, rest)
        await self._publish(at)
        await self._write(rest)

    async def _write(self, batch: list, then: list = ()) -> None:
        """Write the changed fields of these pending items, FLUSH_CHUNK at a time."""
        for start in range(0, len(batch), FLUSH_CHUNK):
            rows = self.conflator.changes(batch[start : start + FLUSH_CHUNK])
            self.rules.check(rows, self.instruments)
            if self.publisher:
                self.publisher.note(rows)
            try:
                await self.writer.write(rows)
            except BaseException:
                # Record the rest as the latest state: the rewrite after the outage
                # writes it.
                self.conflator.changes(batch[start + FLUSH_CHUNK :])
                self.conflator.changes(then)
                raise

    async def _publish(self, at: int) -> None:
        if self.publisher and self._redis_ok:
            await self.publisher.publish(self.instruments, at)

    async def _rewrite_all(self) -> None:
        await store.a_replace_index(
            self.redis, self.exchange, self.instruments.values(), self.bases
        )
        written = 0
        for rows in self.conflator.take_all(FLUSH_CHUNK):
            self.rules.check(rows, self.instruments)
            written += await self.writer.write(rows)
        self.rewrite_all = False
        if self.publisher:
            # Pages missed what changed while Redis was away: they get it all once.
            self.publisher.note(self.instruments)
        log.info(
            "feed %s: wrote the full state of %d contracts", self.exchange, written
        )

    def _redis_down(self, exc: Exception) -> None:
        self.stats.redis_errors += 1
        self._redis_failures += 1
        delay = min(REDIS_RETRY_CAP_S, 0.1 * 2**self._redis_failures)
        self._redis_retry_at = time.monotonic() + delay
        if self._redis_ok:
            log.error("feed %s: Redis unavailable (%s); keeping state in memory",
                      self.exchange, exc)  # fmt: skip
        self._redis_ok = False

    def _redis_up(self) -> None:
        if not self._redis_ok:
            log.info("feed %s: Redis is back after %d failed attempts",
                     self.exchange, self._redis_failures)  # fmt: skip
        self._redis_ok = True
        self._redis_failures = 0

    # Status ---------------------------------------------------------------------

    async def _status_loop(self) -> None:
        next_summary = time.monotonic() + SUMMARY_EVERY_S
        while True:
            await asyncio.sleep(STATUS_EVERY_S)
            self.stats.msgs_total = sum(c.msgs for c in self.connections)
            self._rate.sample(self.stats.msgs_total)
            log_invalid(self.exchange, self.conflator)
            await self.write_status()
            if time.monotonic() >= next_summary:
                next_summary += SUMMARY_EVERY_S
                log.info(self.summary())

    def status(self) -> dict[str, str | int | float]:
        stats = self.stats
        return {
            "state": self.state if self._redis_ok else "redis-down",
            "connections": sum(c.connected for c in self.connections),
            "subscribed": len(self.instruments),
            "msgs_total": stats.msgs_total,
            "msgs_per_s": round(self._rate.per_second, 1),
            "malformed": stats.malformed + self.conflator.malformed,
            "reconnects": stats.reconnects,
            "last_msg_ts": self._last_msg_ts(),
            "heartbeat_ts": int(time.time() * 1000),
            "started_ts": stats.started_ts,
            "pid": os.getpid(),
            "rejected_topics": sum(len(c.rejected) for c in self.connections),
            "silent_topics": sum(len(c.silent) for c in self.connections),
            "redis_rtt_ms": round(stats.redis_rtt_ms, 2),
            "redis_errors": stats.redis_errors,
            "refresh_state": _text(self._refresh[0]),
            "refresh_error": _text(self._refresh[1])
            if self._refresh[0] == b"failed"
            else "",
            "flush_ms": round(stats.flush_ms, 2),
            **invalid_status(self.conflator.invalid),
        }

    def _last_msg_ts(self) -> int:
        if self._rate.last_change_ts:
            return self._rate.last_change_ts
        return self.stats.last_msg_ts

    async def write_status(self) -> None:
        """Write the status hash; a missing one means Redis lost our state."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.exists(store.status_key(self.exchange, self.shard))
        store.queue_status(pipe, self.exchange, self.status(), self.shard)
        # Whoever refreshes the universe (Celery or --refresh-minutes) records the
        # outcome there; the feed's status shows it a second later.
        pipe.hmget(keys.refresh(self.exchange), "state", "last_error")
        started = time.perf_counter()
        try:
            existed, _, self._refresh = await pipe.execute()
        except (RedisError, OSError) as exc:
            self.rewrite_all = True
            self._redis_down(exc)
            return
        self.stats.redis_rtt_ms = (time.perf_counter() - started) * 1000
        if self._status_written and not existed and not self.rewrite_all:
            log.warning(
                "feed %s: Redis lost its data; rewriting everything", self.exchange
            )
            self.rewrite_all = True
        self._status_written = True
        self._redis_up()

    def summary(self) -> str:
        s = self.status()
        return (
            f"feed {self.exchange}: {s['msgs_per_s']} msgs/s, "
            f"{self.conflator.live_count()}/{s['subscribed']} contracts live, "
            f"{s['connections']} connections, {s['reconnects']} reconnects, "
            f"{s['malformed']} malformed, {s['invalid']} invalid values, "
            f"redis rtt {s['redis_rtt_ms']} ms"
        )


class _RateMeter:
    """Messages per second over the last status interval."""

    def __init__(self):
        self.per_second = 0.0
        self.last_change_ts = 0
        self._last_total = 0
        self._last_time = time.monotonic()

    def sample(self, total: int) -> None:
        now = time.monotonic()
        if total != self._last_total:
            self.last_change_ts = int(time.time() * 1000)
        self.per_second = (total - self._last_total) / max(now - self._last_time, 1e-6)
        self._last_total, self._last_time = total, now


def _text(value: bytes | None) -> str:
    return value.decode() if value else ""
