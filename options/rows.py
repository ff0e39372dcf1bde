"""The read model's typed rows, and the definitions every reader shares, written once:
what "stale" means, call or put, the ATM strike, the price a chain is centred on, the
index price of an underlying, the age of a tick.

Pure: no I/O. options.read fills these rows from Redis; the API and the dashboard only
format them. Values stay the exchange's decimal strings, never re-rounded floats.
"""

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TypeVar

import orjson

from options.fields import CHECKS, row_check
from options.symbols import SymbolError, parse_symbol

T = TypeVar("T")
STALE_AFTER_MS = 5_000  # the feed writes its status every second
PRICE_FIELDS = ("underlying", "index")  # a chain's centre: forward, else spot
STAMP_FIELDS = ("recv_ts", "ts")  # a tick's time: our receipt, else the exchange's
SEP = "\x1f"  # joins a hash's values for one check (no valid value holds it)


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


_price_ok = CHECKS["underlying"]


def positive(value: str | None) -> bool:
    """A usable price above zero (options.fields: finite, plain decimal)."""
    return _price_ok(value) and float(value) > 0


def usable(
    state: Mapping[str, str], fields: frozenset[str] | None = None, key: str = ""
) -> dict:
    """A tick hash as readers may show it: a value that is not valid for its field
    (options.fields: old data, another writer) becomes None, a field not in the
    schema goes, and each of `fields` the hash lacks is None (when it has any).
    Returns `state` itself when it is clean and complete, which it nearly always is:
    the feed writes only valid values. `key` (the hash's Redis key) lets the check
    remember the hash until it changes."""
    if not _clean(state, key):
        checks = CHECKS
        state = {
            name: value if checks[name](value) else None
            for name, value in state.items()
            if name in checks
        }
    if fields is None or not state or state.keys() >= fields:
        return state
    return {**state, **dict.fromkeys(fields - state.keys())}


_clean_rows: dict[str, tuple] = {}  # Redis key -> its hash last found clean
CLEAN_ROWS_MAX = 16_384  # every contract's hash, with room; then cleared


def _clean(state: Mapping[str, str], key: str) -> bool:
    """Whether every value of the hash is valid: one regular expression over the
    hash (options.fields.row_check), skipped when the hash is the one last found
    clean under its key, as a chain's are for every request between two flushes
    (README, "Exchange values checked")."""
    row = (*state, *state.values())
    if key and _clean_rows.get(key) == row:
        return True
    try:
        names, values = SEP.join(state), SEP.join(state.values())
        clean = _named_check(names)(values) is not None
    except (TypeError, KeyError):  # a value not text, a field outside the schema
        return False
    if clean and key:
        if len(_clean_rows) >= CLEAN_ROWS_MAX:
            _clean_rows.clear()
        _clean_rows[key] = row
    return clean


@lru_cache(maxsize=64)
def _named_check(names: str):
    return row_check(tuple(names.split(SEP)) if names else (), SEP)


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
    """When the feed received this state (ms), else the exchange's time; None
    without a usable one."""
    stamp = state.get("recv_ts") or state.get("ts")
    return int(stamp) if stamp and stamp.isdigit() and stamp.isascii() else None


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
    """Ticks in strike order to one row per strike, call and put side by side."""
    return [
        ChainRow(strike, call, put)
        for strike, call, put in by_strike((t.symbol, t.strike, t) for t in ticks)
    ]


def by_strike(entries: Iterable[tuple[str, float, T]]) -> Iterator[tuple]:
    """(symbol, strike, item) in strike order to (strike, call's item, put's item)
    per strike, None for a side not listed; a symbol that is neither goes nowhere.
    Every chain reader pairs its items so (chain_rows, options.quote)."""
    at = call = put = None
    started = False
    for symbol, strike, item in entries:
        kind = option_type(symbol)
        if kind is None:
            continue
        if not started or strike != at:
            if started:
                yield at, call, put
            at, call, put, started = strike, None, None, True
        if kind == "C":
            call = item
        else:
            put = item
    if started:
        yield at, call, put


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
    invalid: int | None  # values refused since the feed started (options.fields)
    invalid_fields: dict[str, int]  # the same by store field
    shard: str = ""  # one of several feeds side by side (`--shard`)
    shards: tuple["FeedHealth", ...] = ()  # the exchange's shards, when it has any


COUNTERS = ("connections", "subscribed", "msgs_total", "malformed", "reconnects",
            "rejected_topics", "silent_topics", "invalid")  # fmt: skip


def feed_health(
    exchange: str, status: Mapping[str, str], now: int, shard: str = ""
) -> FeedHealth:
    """FeedHealth from the raw status hash read at `now` (ms)."""
    beat, last = _integer(status, "heartbeat_ts"), _integer(status, "last_msg_ts")
    beat_age = age_ms(beat or None, now)
    rate = _number(status.get("msgs_per_s"))
    return FeedHealth(
        exchange=exchange,
        state=status.get("state"),
        stale=is_stale(status.get("state"), beat_age),
        msgs_per_s=None if rate is None else float(rate),
        heartbeat_ts=beat or None,
        heartbeat_age_ms=beat_age,
        last_msg_ts=last or None,
        last_msg_age_ms=age_ms(last or None, now),
        started_ts=_integer(status, "started_ts") or None,
        **{name: _integer(status, name) for name in COUNTERS},
        invalid_fields=_counts(status.get("invalid_fields")),
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
        invalid_fields=_summed(p.invalid_fields for p in parts),
        shards=tuple(parts),
    )


def _number(value: str | None) -> float | None:
    """A finite number from the status hash; None for anything else."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if abs(number) < 1e18 else None  # also refuses inf and nan


def _integer(status: Mapping[str, str], name: str) -> int | None:
    number = _number(status.get(name))
    return None if number is None else int(number)


def _counts(text: str | None) -> dict[str, int]:
    """`invalid_fields`: a JSON object of counts; {} when absent or unreadable."""
    try:
        counts = orjson.loads(text or "{}")
    except orjson.JSONDecodeError:
        return {}
    if counts.__class__ is not dict:
        return {}
    return {k: v for k, v in counts.items() if v.__class__ is int and v >= 0}


def _summed(counts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    """Counts by name added up over several feeds."""
    total: dict[str, int] = {}
    for part in counts:
        for name, n in part.items():
            total[name] = total.get(name, 0) + n
    return total
