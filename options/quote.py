"""The numbers the analytics read of a contract, parsed once per contract.

A chain's analytics look at each contract's values several times (forward, ATM, the
wings, the totals, max pain, GEX): parsing the store's strings once, into a Quote,
halved their cost on a 1,050-contract underlying (bench/analytics_bench.py).
"""

import re
from collections.abc import Mapping, Sequence
from itertools import chain
from typing import NamedTuple

from options.fields import row_pattern
from options.rows import SEP, ChainRow, Tick, by_strike, usable

# What the analytics read of each contract (the read model reads only these; with
# `index`, a chain's centre price needs no second pass: options.read).
FIELDS = ("underlying", "index", "mark_iv", "delta", "gamma", "oi", "volume_24h")


class Quote(NamedTuple):
    """A contract's numbers; None where the store has no finite value. `mark_iv` is
    None for an IV of 0 too (no quote, not a 0 % IV)."""

    underlying: float | None
    mark_iv: float | None
    delta: float | None
    gamma: float | None
    oi: float | None
    volume: float | None


class Strike(NamedTuple):
    """One listed strike with its call's and put's quotes."""

    strike: float
    call: Quote | None
    put: Quote | None


def number(raw: str | None) -> float | None:
    """A store value as a float; None when absent, empty or not finite."""
    if raw is None:
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if value - value == 0 else None  # inf - inf and nan are nan


def quote(values: Mapping[str, str]) -> Quote:
    try:  # the common case, every value there and a number: no call per value
        u, iv = float(values["underlying"]), float(values["mark_iv"])
        delta, gamma = float(values["delta"]), float(values["gamma"])
        oi, volume = float(values["oi"]), float(values["volume_24h"])
    except (KeyError, TypeError, ValueError):  # absent, None (unusable) or text
        return _quote(values)
    total = u + iv + delta + gamma + oi + volume
    if total - total != 0:  # an infinity or a nan among them
        return _quote(values)
    return Quote(u, iv if iv > 0 else None, delta, gamma, oi, volume)


def _quote(values: Mapping[str, str]) -> Quote:
    get = values.get
    iv = number(get("mark_iv"))
    return Quote(
        number(get("underlying")),
        iv if iv is not None and iv > 0 else None,
        number(get("delta")),
        number(get("gamma")),
        number(get("oi")),
        number(get("volume_24h")),
    )


def strikes(rows: Sequence[ChainRow]) -> list[Strike]:
    """A chain's rows as Strikes, in strike order."""
    return [Strike(row.strike, _of(row.call), _of(row.put)) for row in rows]


def _of(tick: Tick | None) -> Quote | None:
    return None if tick is None else quote(tick.values)


# Straight from the store's replies (options.read.read_quotes): no dict, Tick or
# ChainRow per contract, which cost the analytics of a 1,050-contract underlying
# more than their computation (bench/analytics_bench.py).

QUOTED = ("underlying", "mark_iv", "delta", "gamma", "oi", "volume_24h")  # in order
_ROW = row_pattern(QUOTED, SEP)
_valid_row = re.compile(_ROW).fullmatch
_valid_rows = re.compile(f"{_ROW}(?:{SEP}{_ROW})*+").fullmatch


def quotes_of(replies: Sequence[Sequence[str | None]]) -> list[Quote]:
    """The Quote of each contract from its QUOTED values as read (None where its
    hash has none): the same as quote(usable(...)) of its hash. When every value of
    every contract is there and valid for its field (one regular expression over
    them all), they are parsed in one pass; else contract by contract."""
    try:
        valid = _valid_rows(SEP.join(chain.from_iterable(replies))) is not None
    except TypeError:  # a None among them
        valid = False
    if not valid:
        return [quote_of(values) for values in replies]
    it = iter(map(float, chain.from_iterable(replies)))
    return [
        Quote(u, iv if iv > 0 else None, delta, gamma, oi, volume)
        for u, iv, delta, gamma, oi, volume in zip(it, it, it, it, it, it, strict=True)
    ]


def quote_of(values: Sequence[str | None]) -> Quote:
    """One contract's Quote from its QUOTED values, as quotes_of gives it."""
    if None not in values and _valid_row(SEP.join(values)):
        u, iv, delta, gamma, oi, volume = map(float, values)
        return Quote(u, iv if iv > 0 else None, delta, gamma, oi, volume)
    pairs = {f: v for f, v in zip(QUOTED, values, strict=True) if v is not None}
    return quote(usable(pairs))


def indexed_strikes(
    index: Sequence[tuple[str, float]], found: Sequence[Quote]
) -> list[Strike]:
    """Strikes from a chain index ((symbol, strike), strike order) and each
    contract's Quote, paired as chain rows are (options.rows.by_strike)."""
    entries = (
        (symbol, strike, q) for (symbol, strike), q in zip(index, found, strict=True)
    )
    return [Strike(*row) for row in by_strike(entries)]
