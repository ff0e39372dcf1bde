"""The feed's counters, shared by its connections and reported in its status hash."""

import logging
import time
from dataclasses import dataclass, field

import orjson

log = logging.getLogger(__name__)


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
