"""What an exchange adapter provides: a stream, a listing, and the frames it parses.

An adapter knows frames, limits and REST pages; the runner knows sockets, timing and
Redis, and the refresh knows the database. So `parse` is pure (no await, no I/O):
tests and benchmarks feed it raw frames.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from options.instruments import Instrument

# Frames, as parse() returns them. The connection tells them apart by class.


class Tick(NamedTuple):
    """A ticker frame: the newest values of one contract, as the exchange names them.

    A NamedTuple, not a dataclass: one is built per message on the feed's hottest
    path, and a tuple is the cheapest object to build and unpack."""

    symbol: str
    ts: int  # exchange time, ms since the epoch
    data: dict
    is_delta: bool  # only the fields that changed (else a full snapshot)


@dataclass(slots=True)
class Ack:
    """A subscribe or unsubscribe answer: which topics succeeded and which failed."""

    success: bool
    ok_topics: list[str] = field(default_factory=list)
    failed_topics: list[str] = field(default_factory=list)
    message: str = ""


@dataclass(frozen=True, slots=True)
class Pong:
    """The answer to the adapter's ping frame."""


@dataclass(frozen=True, slots=True)
class Malformed:
    """A frame the feed counts and skips (bad JSON, wrong types, unknown topic)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Ignored:
    """A well-formed frame that carries nothing for the feed."""

    reason: str


Frame = Tick | Ack | Pong | Malformed | Ignored


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

    def parse(self, raw: str | bytes) -> Frame: ...


class ListingError(Exception):
    """The listing could not be read; `permanent` means retrying will not help.

    `message` is what the admin and the refresh record show the operator."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


class Listing(Protocol):
    """An exchange's REST listing of options; a client to close after use."""

    def fetch(self, base_coin: str) -> list[Instrument]:
        """Every listed option of `base_coin`; ListingError if it cannot be read."""
        ...

    def base_coin_exists(self, base_coin: str) -> bool: ...

    def close(self) -> None: ...


class Exchange(Protocol):
    """One registry entry (feed.exchanges.EXCHANGES): both halves of an exchange,
    configured from settings."""

    name: str

    def stream(self) -> StreamAdapter: ...

    def listing(self, **options) -> Listing:
        """A new listing client; `options` (max_retries, ban_wait, timeout) tune
        its patience."""
        ...
