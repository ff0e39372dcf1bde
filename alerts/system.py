"""System alerts, evaluated in the feed process beside its runner: the feed silent
(stale or disconnected) for longer than ALERT_STALE_AFTER, Redis unreachable, a
reconnect storm, the universe refresh failing repeatedly, topics acknowledged but
silent (the checks: alerts.checks).

One message when a problem starts and one when it clears, nothing in between, each
saying what, since when, and the figures that matter. With several processes
checking, a Redis key decides who sends (options.keys.alert): whoever sets it
(SET NX, with an expiry that the processes seeing the problem keep extending) sends
the alert, whoever deletes it sends the all-clear. Where Redis cannot decide (it is
the problem, or it is down), each process sends its own: an alert sent twice beats
an alert lost.
"""

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from redis.exceptions import RedisError

from alerts.checks import (
    Reading,
    ReconnectStorm,
    RedisOutage,
    feed_silent,
    iso,
    refresh_failing,
    silent_topics,
)
from alerts.config import stale_after_s
from alerts.delivery import Notifier
from options import keys, store
from options.rows import feed_health

log = logging.getLogger(__name__)

PROBLEMS = {
    "feed": "feed stale",
    "redis": "Redis unreachable",
    "reconnects": "reconnect storm",
    "refresh": "symbol refresh failing",
    "topics": "topics acknowledged but silent",
}
CHECK_EVERY_S = 0.5
CLAIM_TTL_S = 3600  # a key left by a process that died frees itself
FAILED = object()  # what a Redis call returns when Redis does not answer


@dataclass
class _Problem:
    active: bool = False
    since: float = 0.0
    announced: bool = False  # this process sent the alert
    claimed: bool = False  # ... holding the Redis key


class SystemAlerts:
    def __init__(
        self,
        exchange: str,
        redis,
        status: Callable[[], Mapping],
        notifier: Notifier,
        stale_after: float,
    ):
        self.exchange, self.redis, self.status = exchange, redis, status
        self.notifier = notifier
        self.stale_after = stale_after
        self.problems = {name: _Problem() for name in PROBLEMS}
        self.sent = 0  # alerts and all-clears handed to the notifier
        self._outage, self._storm = RedisOutage(), ReconnectStorm()

    def start(self) -> list[asyncio.Task]:
        """The checks and the notifier, as tasks of the running loop."""
        return [
            asyncio.create_task(self.notifier.run(), name="notifier"),
            asyncio.create_task(self.run(), name="system-alerts"),
        ]

    async def run(self) -> None:
        while True:
            try:
                await self.check()
            except Exception:  # a bug here must not stop the feed
                log.exception("system alerts: check failed")
            await asyncio.sleep(CHECK_EVERY_S)

    async def check(self) -> None:
        now = time.time()
        status = self.status()
        health = feed_health(self.exchange, status, int(now * 1000))
        record = await self._refresh_record()
        readings = {
            "feed": feed_silent(health, now, self.stale_after),
            "redis": self._outage.read(status, now),
            "reconnects": self._storm.read(health, now),
            "topics": silent_topics(health, now),
            "refresh": None if record is None else refresh_failing(record, now),
        }
        for name, reading in readings.items():
            if reading is not None:  # None: cannot tell now; no change
                await self._apply(name, reading, now)
        if any(r.near and not r.active for r in readings.values() if r):
            # The delivery process takes seconds to start on a busy machine: start
            # it before the threshold, so the alert leaves when it is crossed.
            self.notifier.warm()

    async def _apply(self, name: str, reading: Reading, now: float) -> None:
        problem = self.problems[name]
        if reading.active == problem.active:
            if problem.active and name != "redis":  # still there: keep the key
                await self._redis(self.redis.expire(self._key(name), CLAIM_TTL_S))
            return
        problem.active = reading.active
        if reading.active:
            problem.since = reading.since
            problem.announced, problem.claimed = await self._claim(name, problem)
            if problem.announced:
                self._send(name, f"since {iso(problem.since)}", reading)
            return
        if await self._release(name, problem):
            duration = _duration(now - problem.since)
            self._send(name, f"resolved at {iso(now)}, after {duration}", reading)
        problem.announced = problem.claimed = False

    async def _claim(self, name: str, problem: _Problem) -> tuple[bool, bool]:
        """(send the alert?, holding the key?)"""
        if name == "redis":
            return True, False
        claim = self.redis.set(
            self._key(name), iso(problem.since), nx=True, ex=CLAIM_TTL_S
        )
        won = await self._redis(claim, failed=FAILED)  # None: the key was set
        return (True, False) if won is FAILED else (bool(won), bool(won))

    async def _release(self, name: str, problem: _Problem) -> bool:
        """Send the all-clear? The process that deletes the key does; one that sent
        the alert without a key sends its own."""
        if name == "redis" or (problem.announced and not problem.claimed):
            return problem.announced
        deleted = await self._redis(self.redis.delete(self._key(name)), FAILED)
        return problem.announced if deleted is FAILED else deleted == 1

    def _send(self, name: str, when: str, reading: Reading) -> None:
        resolved = not reading.active
        title = f"[optiontracker] {self.exchange}: {PROBLEMS[name]}"
        title += " - resolved" if resolved else ""
        figures = reading.figures[:1].upper() + reading.figures[1:]
        body = f"{PROBLEMS[name].capitalize()} {when}. {figures}."
        log.log(logging.INFO if resolved else logging.WARNING, "%s: %s", title, body)
        self.sent += 1
        self.notifier.submit(title, body)

    async def _refresh_record(self) -> dict[str, str] | None:
        raw = await self._redis(store.read_refresh(self.redis, self.exchange), FAILED)
        if raw is FAILED:
            return None
        return {_text(k): _text(v) for k, v in raw.items()}

    def _key(self, name: str) -> str:
        return keys.alert(self.exchange, name)

    @staticmethod
    async def _redis(call, failed=None):
        """The call's reply, or `failed` when Redis does not answer."""
        try:
            return await call
        except (RedisError, OSError):
            return failed


def system_alerts_from_env(
    exchange: str, redis, status: Callable[[], Mapping], environ=None
) -> SystemAlerts | None:
    """The feed's system alerts, to the destinations of NOTIFY_URLS and TELEGRAM_*;
    None when there are none. ValueError names a malformed setting."""
    notifier = Notifier.from_env(environ)
    if not notifier.urls:
        log.info("system alerts off: no NOTIFY_URLS or TELEGRAM_BOT_TOKEN set")
        return None
    log.info("system alerts on: %d destination(s)", len(notifier.urls))
    return SystemAlerts(exchange, redis, status, notifier, stale_after_s(environ))


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
