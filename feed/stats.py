"""The feed's counters, shared by its connections and reported in its status hash."""

import time
from dataclasses import dataclass, field


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
