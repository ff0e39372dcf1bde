"""The Notifier: notifications sent off the caller's path, retried until they are
delivered or their retry window closes.

`submit()` never blocks: it puts the message on a bounded asyncio queue and returns
False (counting it in `dropped`) when the queue is full. `run()` takes messages off
the queue and delivers each to each of its destinations (apprise URLs) through
alerts.send, by default in a child process so that apprise's plugins never weigh on
the caller's memory. A failed delivery is retried with exponential backoff until it
succeeds or `retry_window_s` after it was submitted; a destination apprise refuses
is not retried. `sent`, `failed` (given up) and `retried` (failed attempts to be
tried again) count deliveries (one message to one destination), `dropped` counts
messages. Logs name destinations with their secrets
redacted (alerts.destinations).

Call `submit()` from the thread that runs `run()`'s event loop.
"""

import asyncio
import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from alerts.destinations import redact, redact_url, urls_from_env

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
QUEUE_SIZE = 100
RETRY_WINDOW_S = 900.0
BACKOFF_S = 1.0
BACKOFF_CAP_S = 60.0
CHILD_TIMEOUT_S = 60.0
LINGER_S = 120.0  # the delivery process stays this long after its last work

Sender = Callable[[list[dict]], Awaitable[list[dict]]]


class ChildSender:
    """Deliveries through `python -m alerts.send`, one JSON line each way; the child
    is started when needed and exits by itself once idle. Every delivery of a call
    fails (to be retried) when the child dies or outlives CHILD_TIMEOUT_S."""

    def __init__(self, linger_s: float = LINGER_S):
        self.linger_s = linger_s
        self.child: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()
        self._warming: asyncio.Task | None = None

    def warm(self) -> None:
        """Start the child now (it loads apprise at once), so that a message soon
        to come goes out without waiting for it."""
        if self._warming is None or self._warming.done():
            self._warming = asyncio.create_task(self._start(fresh=False))

    async def __call__(self, jobs: list[dict]) -> list[dict]:
        line = (json.dumps(jobs) + "\n").encode()
        try:
            for fresh in (False, True):  # an idle child may be exiting: once more
                reply = await asyncio.wait_for(self._ask(line, fresh), CHILD_TIMEOUT_S)
                if reply:
                    return json.loads(reply)
        except (TimeoutError, OSError, ValueError) as exc:
            log.warning("delivery process failed: %r", exc)
        except BaseException:
            await self.close()
            raise
        await self.close()
        error = "the delivery process failed or timed out"
        return [{"ok": False, "permanent": False, "error": error}] * len(jobs)

    async def _start(self, fresh: bool) -> None:
        async with self._lock:
            if fresh or self.child is None or self.child.returncode is not None:
                await self._stop()
                self.child = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "alerts.send", str(self.linger_s),
                    cwd=ROOT, stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                )  # fmt: skip

    async def _ask(self, line: bytes, fresh: bool) -> bytes:
        await self._start(fresh)
        try:
            self.child.stdin.write(line)
            await self.child.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            return b""
        return await self.child.stdout.readline()

    async def close(self) -> None:
        if self._warming is not None:
            self._warming.cancel()
        async with self._lock:
            await self._stop()

    async def _stop(self) -> None:
        child, self.child = self.child, None
        if child is not None and child.returncode is None:
            child.kill()
            await child.wait()


async def send_in_thread(jobs: list[dict]) -> list[dict]:
    """Deliver with apprise in this process, in a worker thread (for processes
    whose memory apprise's plugins do not matter to)."""
    from alerts.send import deliver

    return await asyncio.to_thread(deliver, jobs)


@dataclass
class _Delivery:
    title: str
    body: str
    url: str
    submitted: float  # time.monotonic()
    attempts: int = 0
    due: float = field(default=0.0)

    def job(self) -> dict:
        return {"title": self.title, "body": self.body, "url": self.url}


class Notifier:
    def __init__(
        self,
        urls: Sequence[str],
        *,
        queue_size: int = QUEUE_SIZE,
        retry_window_s: float = RETRY_WINDOW_S,
        backoff_s: float = BACKOFF_S,
        backoff_cap_s: float = BACKOFF_CAP_S,
        sender: Sender | None = None,
    ):
        self.urls = list(urls)
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=queue_size)
        self.retry_window_s = retry_window_s
        self.backoff_s, self.backoff_cap_s = backoff_s, backoff_cap_s
        self.sender = sender or ChildSender()
        self.sent = self.failed = self.retried = self.dropped = 0
        self._pending: list[_Delivery] = []  # waiting for their (next) attempt
        self._max_pending = queue_size * 4
        self._getter: asyncio.Future | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs):
        """Destinations from NOTIFY_URLS and TELEGRAM_* (DestinationError when they
        are malformed)."""
        return cls(urls_from_env(environ), **kwargs)

    def submit(self, title: str, body: str, urls: list[str] | None = None) -> bool:
        """Queue a message for `urls` (default: the configured ones). Never blocks;
        False when the queue is full (counted in `dropped`) or there is nowhere to
        send it."""
        targets = self.urls if urls is None else list(urls)
        if not targets:
            return False
        try:
            self.queue.put_nowait((title, body, tuple(targets), time.monotonic()))
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("notification queue full: dropped %r", title)
            return False
        return True

    def warm(self) -> None:
        """A message is likely soon: get the sender ready (alerts.system calls it
        when a problem is near its threshold)."""
        warm = getattr(self.sender, "warm", None)
        if warm is not None:
            warm()

    async def run(self) -> None:
        """Deliver forever; cancel to stop (a delivery under way is abandoned)."""
        try:
            while True:
                batch = await self._next_batch()
                if batch:
                    results = await self.sender([d.job() for d in batch])
                    for delivery, result in zip(batch, results, strict=True):
                        self._settle(delivery, result)
        finally:
            if self._getter is not None:
                self._getter.cancel()
            if isinstance(self.sender, ChildSender):
                await self.sender.close()

    async def _next_batch(self) -> list[_Delivery]:
        """Wait for a new message or the next retry, whichever comes first; the
        deliveries due then."""
        if self._getter is None:
            self._getter = asyncio.ensure_future(self.queue.get())
        await asyncio.wait({self._getter}, timeout=self._until_next_retry())
        if self._getter.done():
            self._accept(self._getter.result())
            self._getter = None
        while not self.queue.empty():
            self._accept(self.queue.get_nowait())
        now = time.monotonic()
        due = [d for d in self._pending if d.due <= now]
        self._pending = [d for d in self._pending if d.due > now]
        return due

    def _until_next_retry(self) -> float | None:
        if not self._pending:
            return None
        return max(0.0, min(d.due for d in self._pending) - time.monotonic())

    def _accept(self, item) -> None:
        title, body, urls, submitted = item
        for url in urls:
            self._pending.append(_Delivery(title, body, url, submitted))
        while len(self._pending) > self._max_pending:
            oldest = min(self._pending, key=lambda d: d.submitted)
            self._pending.remove(oldest)
            self._give_up(oldest, "too many deliveries waiting")

    def _settle(self, delivery: _Delivery, result: Mapping) -> None:
        delivery.attempts += 1
        where = redact_url(delivery.url)
        if result.get("ok"):
            self.sent += 1
            log.info("notification %r sent to %s (attempt %d)",
                     delivery.title, where, delivery.attempts)  # fmt: skip
            return
        error = redact(str(result.get("error", "")), [delivery.url])
        deadline = delivery.submitted + self.retry_window_s
        now = time.monotonic()
        if result.get("permanent") or now >= deadline:
            self._give_up(delivery, error)
            return
        delay = min(self.backoff_cap_s, self.backoff_s * 2 ** (delivery.attempts - 1))
        delivery.due = min(now + delay, deadline)
        self._pending.append(delivery)
        self.retried += 1
        log.warning("notification %r to %s failed (%s); retry in %.1fs",
                    delivery.title, where, error, delivery.due - now)  # fmt: skip

    def _give_up(self, delivery: _Delivery, error: str) -> None:
        self.failed += 1
        log.error("notification %r to %s not delivered after %d attempt(s): %s",
                  delivery.title, redact_url(delivery.url), delivery.attempts,
                  error)  # fmt: skip
