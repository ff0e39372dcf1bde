"""The system alerts' checks: pure functions from what the feed knows (its status,
options.store's refresh record) to a Reading: is the problem there, since when, and
the figures a message gives. alerts.system turns readings into messages."""

import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from options.rows import FeedHealth

REDIS_DOWN_AFTER_S = 5.0  # a failed write that succeeds on retry is no outage
STORM_COUNT = 10  # reconnects ...
STORM_WINDOW_S = 300.0  # ... within this window, while data still arrives
REFRESH_FAILURES = 3  # failed universe refreshes in a row


@dataclass(frozen=True)
class Reading:
    active: bool
    since: float  # epoch seconds when the problem (or the all-clear) began
    figures: str
    near: bool = False  # past half its threshold: a message may be due soon


def feed_silent(health: FeedHealth, now: float, stale_after_s: float) -> Reading:
    """No exchange message for over stale_after_s (the feed disconnected or the
    exchange silent); counted from the start before the first message."""
    last_s = (health.last_msg_ts or health.started_ts or now * 1000) / 1000
    age = now - last_s
    open_ = health.connections or 0
    figures = (
        f"last exchange message {age:.0f} s ago (threshold {stale_after_s:g} s); "
        f"{open_} connection(s) open{'' if open_ else ' (disconnected)'}, "
        f"{health.reconnects or 0} reconnects since start, "
        f"{health.subscribed or 0} contracts subscribed"
    )
    if age <= stale_after_s:
        figures = f"{health.msgs_per_s or 0:g} msg/s on {open_} connection(s)"
    return Reading(age > stale_after_s, last_s, figures, age > stale_after_s / 2)


def silent_topics(health: FeedHealth, now: float) -> Reading | None:
    """Topics acknowledged but silent; None (unknown) while Redis is down, when the
    feed judges silence by what it wrote (feed.connection) and every topic looks
    silent."""
    if health.state == "redis-down":
        return None
    silent = health.silent_topics or 0
    figures = (
        f"{silent} of {health.subscribed or 0} subscribed topics acknowledged by "
        "the exchange but silent (each subscribed once more)"
    )
    return Reading(silent > 0, now, figures)


def refresh_failing(record: Mapping[str, str], now: float) -> Reading:
    """The universe refresh failed REFRESH_FAILURES times in a row
    (options.store.record_refresh counts them)."""
    failures = int(record.get("failures") or 0)
    last_ok = _seconds(record.get("last_ok_ts"))
    figures = (
        f"{failures} failed refresh(es) in a row; last error: "
        f"{record.get('last_error') or '-'}; last good refresh: {iso(last_ok)}"
    )
    if failures == 0:
        figures = f"refresh ok at {iso(_seconds(record.get('last_run_ts')))}"
    since = _seconds(record.get("last_error_ts")) or now
    return Reading(failures >= REFRESH_FAILURES, since, figures)


class RedisOutage:
    """Redis unreachable for over REDIS_DOWN_AFTER_S, from the feed's own writes."""

    def __init__(self):
        self.down_since: float | None = None

    def read(self, status: Mapping, now: float) -> Reading:
        down = status.get("state") == "redis-down"
        if down and self.down_since is None:
            self.down_since = now
        since = self.down_since or now
        if not down:
            self.down_since = None
        figures = (
            f"{status.get('redis_errors', 0)} failed Redis writes since start; the "
            "feed keeps the latest state in memory and rewrites it when Redis answers"
        )
        return Reading(down and now - since > REDIS_DOWN_AFTER_S, since, figures, down)


class ReconnectStorm:
    """STORM_COUNT reconnects within STORM_WINDOW_S while data still arrives: the
    exchange answers but connections keep dropping. (An exchange that is down is
    the silent-feed alert's business: reconnects without data are not counted.)
    Clears after a whole window without such a reconnect."""

    def __init__(self):
        self.events: deque[tuple[float, int]] = deque()  # (time, reconnects)
        self.last: tuple[int, int] | None = None  # (reconnects, msgs_total)
        self.storming = False

    def read(self, health: FeedHealth, now: float) -> Reading:
        current = (health.reconnects or 0, health.msgs_total or 0)
        last = self.last or current
        if current[1] > last[1] and current[0] > last[0]:
            self.events.append((now, current[0] - last[0]))
        self.last = current
        while self.events and self.events[0][0] < now - STORM_WINDOW_S:
            self.events.popleft()
        count = sum(n for _, n in self.events)
        since = self.events[0][0] if self.events else now
        figures = (
            f"{count} reconnects in the last {STORM_WINDOW_S:g} s while data kept "
            f"arriving; {current[0]} since start"
        )
        self.storming = count >= STORM_COUNT or (self.storming and count > 0)
        return Reading(self.storming, since, figures)


def iso(seconds: float | None) -> str:
    if not seconds:
        return "never"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds))


def _seconds(ms: str | None) -> float | None:
    try:
        return int(ms) / 1000 if ms else None
    except ValueError:
        return None
