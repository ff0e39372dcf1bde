"""The contract between the feed runner and an exchange's streaming protocol.

An adapter knows frames and limits; the runner knows sockets, timing and Redis. So
`parse` is pure (no await, no I/O): tests and benchmarks feed it raw frames.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

# parse() returns a tuple whose first item is one of these kinds.
TICK = 0  # (TICK, symbol, exchange_ts_ms, data, is_delta)
ACK = 1  # (ACK, Ack)
PONG = 2  # (PONG,)
MALFORMED = 3  # (MALFORMED, reason)
IGNORED = 4  # (IGNORED, reason): a well-formed frame that carries nothing for us


@dataclass(slots=True)
class Ack:
    """A subscribe or unsubscribe answer: which topics succeeded and which failed."""

    success: bool
    ok_topics: list[str] = field(default_factory=list)
    failed_topics: list[str] = field(default_factory=list)
    message: str = ""


class StreamAdapter(Protocol):
    name: str
    # Ticker data fields as the exchange names them -> the store's field names.
    field_map: dict[str, str]
    ping_interval_s: float

    def ws_url(self) -> str: ...

    def topic(self, symbol: str) -> str: ...

    def symbol_of(self, topic: str) -> str: ...

    def shard(self, symbols: Sequence[str]) -> list[list[str]]:
        """Split symbols into groups that one connection may carry."""
        ...

    def room(self, current: Sequence[str], candidates: Sequence[str]) -> int:
        """How many of `candidates` a connection holding `current` can take on."""
        ...

    def subscribe_frames(self, symbols: Sequence[str]) -> list[bytes]: ...

    def unsubscribe_frames(self, symbols: Sequence[str]) -> list[bytes]: ...

    def ping_frame(self) -> bytes: ...

    def parse(self, raw: str | bytes) -> tuple: ...
