"""The read model's typed rows, and the definitions every reader shares, written once:
what "stale" means, call or put, the ATM strike, the price a chain is centred on, the
index price of an underlying, the age of a tick.

Pure: no I/O. options.read fills these rows from Redis; the API and the dashboard only
format them. Values stay the exchange's decimal strings, never re-rounded floats.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from options.symbols import SymbolError, parse_symbol

STALE_AFTER_MS = 5_000  # the feed writes its status every second
PRICE_FIELDS = ("underlying", "index")  # a chain's centre: forward, else spot
STAMP_FIELDS = ("recv_ts", "ts")  # a tick's time: our receipt, else the exchange's


@lru_cache(maxsize=16_384)  # a chain read asks for every contract's, every time
def option_type(symbol: str) -> str | None:
    """ "C" or "P" from the symbol's name (options.symbols); None for a name that is
    not an option symbol."""
    try:
        return parse_symbol(symbol).option_type
    except SymbolError:
        return None


def is_stale(state: str | None, heartbeat_age_ms: int | None) -> bool:
    """Whether the feed's data cannot be trusted to be current: no heartbeat for over
    STALE_AFTER_MS, or a feed that says it is not streaming (stopped, starting, or
    just back from a Redis outage). The stricter of the two rules the API and the
    dashboard used to apply: a stopped feed is stale at once, not 5 s later."""
    if heartbeat_age_ms is None or heartbeat_age_ms > STALE_AFTER_MS:
        return True
    return state != "streaming"


def atm_index(strikes: Sequence[float], price: float) -> int | None:
    """The position of the strike nearest the price (the lower one on a tie)."""
    if not strikes:
        return None
    return min(range(len(strikes)), key=lambda i: abs(strikes[i] - price))


def positive(value: str | None) -> bool:
    try:
        return value is not None and float(value) > 0
    except ValueError:
        return False


def centre_price(states: Iterable[Mapping[str, str]]) -> str | None:
    """The price a chain is centred on: the first positive `underlying` (forward,
    what the IVs are computed from) of its contracts in strike order, else the first
    positive `index` (spot)."""
    spot = None
    for state in states:
        if positive(forward := state.get("underlying")):
            return forward
        if spot is None and positive(state.get("index")):
            spot = state["index"]
    return spot


def freshest_index(states: Iterable[Mapping[str, str]]) -> str | None:
    """The index price of an underlying: the positive `index` of the contract the
    feed updated last (every contract carries the same index, so the newest is the
    truest; a contract that has not traded for a while carries an old one)."""
    best, best_stamp = None, -1
    for state in states:
        stamp = stamp_ms(state)
        if positive(state.get("index")) and (stamp or 0) > best_stamp:
            best, best_stamp = state["index"], stamp or 0
    return best


def stamp_ms(state: Mapping[str, str]) -> int | None:
    """When the feed received this state (ms), else the exchange's time."""
    stamp = state.get("recv_ts") or state.get("ts")
    return int(stamp) if stamp else None


def age_ms(stamp: int | None, now: int) -> int | None:
    """Milliseconds since a stamp; never negative (clocks may disagree a little)."""
    return None if stamp is None else max(0, now - stamp)


# Tick and ChainRow are not frozen: a chain read builds hundreds of them, and a frozen
# dataclass's __init__ costs three times as much. Readers treat them as read-only.


@dataclass(slots=True)
class Tick:
    """One contract's latest state. `values` holds the store's fields as the
    exchange sent them; a field the feed never wrote is absent."""

    symbol: str
    values: Mapping[str, str]
    strike: float | None = None  # the chain index's score; None when read alone

    @property
    def option_type(self) -> str | None:
        return option_type(self.symbol)

    def age_ms(self, now: int) -> int | None:
        return age_ms(stamp_ms(self.values), now)


@dataclass(slots=True)
class ChainRow:
    strike: float
    call: Tick | None = None
    put: Tick | None = None


@dataclass(frozen=True, slots=True)
class Chain:
    """One expiry's rows by strike; `atm` is the position of the ATM row, `price`
    the centre price it was found from (both None without a price)."""

    exchange: str
    base: str
    expiry: str
    rows: Sequence[ChainRow]
    price: str | None = None
    atm: int | None = None

    @property
    def atm_strike(self) -> float | None:
        return None if self.atm is None else self.rows[self.atm].strike

    def around_atm(self, n: int) -> "Chain":
        """Only the n rows each side of the ATM one (all rows without a price)."""
        if self.atm is None:
            return self
        start = max(self.atm - n, 0)
        rows = self.rows[start : self.atm + n + 1]
        return replace(self, rows=rows, atm=self.atm - start)

    def ticks(self) -> list[Tick]:
        """Every contract of the chain, by strike, call first."""
        return [t for row in self.rows for t in (row.call, row.put) if t is not None]


def chain_rows(ticks: Iterable[Tick]) -> list[ChainRow]:
    """Ticks in strike order to one row per strike, call and put side by side; a
    symbol that is neither goes nowhere."""
    rows: list[ChainRow] = []
    row = None
    for tick in ticks:
        kind = option_type(tick.symbol)
        if kind is None:
            continue
        if row is None or row.strike != tick.strike:
            row = ChainRow(tick.strike)
            rows.append(row)
        if kind == "C":
            row.call = tick
        else:
            row.put = tick
    return rows


@dataclass(frozen=True, slots=True)
class Expiry:
    expiry: str  # YYYY-MM-DD, as in the keys
    expires_ms: int


@dataclass(frozen=True, slots=True)
class FeedHealth:
    """The feed's status hash, parsed; times in ms since the epoch, ages in ms at
    the time of the read. `state` is None when the feed never ran."""

    exchange: str
    state: str | None
    stale: bool
    msgs_per_s: float | None
    heartbeat_ts: int | None
    heartbeat_age_ms: int | None
    last_msg_ts: int | None
    last_msg_age_ms: int | None
    started_ts: int | None
    connections: int | None
    subscribed: int | None
    msgs_total: int | None
    malformed: int | None
    reconnects: int | None
    rejected_topics: int | None
    silent_topics: int | None
    shard: str = ""  # one of several feeds side by side (`--shard`)
    shards: tuple["FeedHealth", ...] = ()  # the exchange's shards, when it has any


COUNTERS = ("connections", "subscribed", "msgs_total", "malformed", "reconnects",
            "rejected_topics", "silent_topics")  # fmt: skip


def feed_health(
    exchange: str, status: Mapping[str, str], now: int, shard: str = ""
) -> FeedHealth:
    """FeedHealth from the raw status hash read at `now` (ms)."""
    beat, last = _integer(status, "heartbeat_ts"), _integer(status, "last_msg_ts")
    beat_age = age_ms(beat or None, now)
    rate = status.get("msgs_per_s")
    return FeedHealth(
        exchange=exchange,
        state=status.get("state"),
        stale=is_stale(status.get("state"), beat_age),
        msgs_per_s=float(rate) if rate else None,
        heartbeat_ts=beat or None,
        heartbeat_age_ms=beat_age,
        last_msg_ts=last or None,
        last_msg_age_ms=age_ms(last or None, now),
        started_ts=_integer(status, "started_ts") or None,
        **{name: _integer(status, name) for name in COUNTERS},
        shard=shard,
    )


def sharded_health(exchange: str, parts: Sequence[FeedHealth]) -> FeedHealth:
    """An exchange's health from its feeds side by side (each part with its own
    base coins): streaming only when each one is, stale when any one is, counters
    and rates summed, the oldest heartbeat and the newest message."""
    states = {p.state for p in parts}
    state = (
        states.pop()
        if len(states) == 1
        else next(p.state for p in parts if p.state != "streaming")
    )

    def pick(name: str, choose):
        values = [v for p in parts if (v := getattr(p, name)) is not None]
        return choose(values) if values else None

    return FeedHealth(
        exchange=exchange,
        state=state,
        stale=any(p.stale for p in parts),
        msgs_per_s=pick("msgs_per_s", sum),
        heartbeat_ts=pick("heartbeat_ts", min),
        heartbeat_age_ms=pick("heartbeat_age_ms", max),
        last_msg_ts=pick("last_msg_ts", max),
        last_msg_age_ms=pick("last_msg_age_ms", min),
        started_ts=pick("started_ts", min),
        **{name: pick(name, sum) for name in COUNTERS},
        shards=tuple(parts),
    )


def _integer(status: Mapping[str, str], name: str) -> int | None:
    value = status.get(name)
    return int(float(value)) if value not in (None, "") else None
