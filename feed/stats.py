"""The feed's counters, shared by its connections and reported in its status hash."""

import logging
import time
from bisect import bisect_left
from dataclasses import dataclass, field

import orjson

log = logging.getLogger(__name__)

# Upper bounds (s) of the flush-duration histogram that `run_feed --metrics-port`
# exports (feed.metrics); counted here, so prometheus_client stays out of the feed
# unless metrics are served.
FLUSH_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


@dataclass
class FeedStats:
    msgs_total: int = 0
    malformed: int = 0
    reconnects: int = 0
    last_msg_ts: int = 0  # ms, when a socket's read loop last ended (not per message)
    started_ts: int = field(default_factory=lambda: int(time.time() * 1000))
    redis_rtt_ms: float = 0.0
    redis_errors: int = 0
    flush_ms: float = 0.0
    # Flushes per FLUSH_BUCKETS_S bucket (the last: slower than them all), and their
    # total duration.
    flush_counts: list[int] = field(
        default_factory=lambda: [0] * (len(FLUSH_BUCKETS_S) + 1)
    )
    flush_total_s: float = 0.0

    def record_flush(self, ms: float) -> None:
        self.flush_ms = ms
        self.flush_counts[bisect_left(FLUSH_BUCKETS_S, ms / 1000)] += 1
        self.flush_total_s += ms / 1000


def invalid_status(counts: dict[str, int]) -> dict[str, str | int]:
    """The status hash's `invalid` (values refused since start) and `invalid_fields`
    (the same by store field, a JSON object: `{"bid": 3}`)."""
    return {
        "invalid": sum(counts.values()),
        "invalid_fields": orjson.dumps(counts, option=orjson.OPT_SORT_KEYS).decode(),
    }


def log_invalid(exchange: str, conflator) -> None:
    """Log the latest refused value, if any since the last call (the status loop
    calls this every second: one line a second at most, however bad the stream)."""
    sample = conflator.last_invalid
    if sample is None:
        return
    conflator.last_invalid = None
    symbol, name, value = sample
    log.warning(
        "feed %s: %s %s: value %r refused (not a valid %s); %d refused so far: %s",
        exchange, symbol, name, value[:60], name, sum(conflator.invalid.values()),
        invalid_status(conflator.invalid)["invalid_fields"],
    )  # fmt: skip
