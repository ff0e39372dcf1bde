"""The analytics traders read off a chain, as pure functions over the read model's
rows (options.rows): forward, ATM, 25-delta skew, put/call ratios, max pain, and
gamma exposure (options.gex); the term structure is options.term's. No I/O:
options.analytics_read feeds them.

The definitions are the API's (docs/analytics.md): numbers keep the store's units
(an IV is the fraction the exchange sends), and a number that cannot be computed
from what the chain holds is None, never a guess.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from options.gex import DEFAULT_CONVENTION, Gex, gex, gex_dict, number
from options.rows import Chain, ChainRow, Tick, atm_index

# What the analytics read of each contract (the read model reads only these).
FIELDS = ("underlying", "mark_iv", "delta", "gamma", "oi", "volume_24h")
WING_DELTA = 0.25


def mark_iv(tick: Tick | None) -> float | None:
    """The mark IV; None without one (an IV of 0 is no quote, not a 0 % IV)."""
    if tick is None:
        return None
    iv = number(tick.values, "mark_iv")
    return iv if iv is not None and iv > 0 else None


def ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None


# Forward and ATM -------------------------------------------------------------------


def forward(ticks: Iterable[Tick]) -> float | None:
    """The median of the positive `underlying` values of the contracts (the lower
    middle one for an even count)."""
    values = sorted(u for t in ticks if (u := number(t.values, "underlying")) and u > 0)
    return values[(len(values) - 1) // 2] if values else None


def atm(rows: Sequence[ChainRow], fwd: float | None) -> tuple[float | None, ...]:
    """(ATM strike, ATM IV): the listed strike nearest the forward (the lower one on
    a tie) and the mean of its call's and put's mark IVs (the one present when only
    one is; None when neither is)."""
    i = None if fwd is None else atm_index([row.strike for row in rows], fwd)
    if i is None:
        return None, None
    ivs = [iv for t in (rows[i].call, rows[i].put) if (iv := mark_iv(t)) is not None]
    return rows[i].strike, (sum(ivs) / len(ivs) if ivs else None)


# 25-delta skew ---------------------------------------------------------------------


def wing_iv(ticks: Iterable[Tick], target: float) -> float | None:
    """Mark IV interpolated linearly in delta between the two contracts whose deltas
    bracket `target`: the nearest delta at or below it and the nearest at or above
    (ties go to the lower strike). Contracts without a delta or a mark IV do not
    count; None when nothing brackets the target."""
    below = above = None
    for tick in ticks:
        delta, iv = number(tick.values, "delta"), mark_iv(tick)
        if delta is None or iv is None:
            continue
        if delta <= target and (below is None or delta > below[0]):
            below = (delta, iv)
        if delta >= target and (above is None or delta < above[0]):
            above = (delta, iv)
    if below is None or above is None:
        return None
    if above[0] == below[0]:
        return (above[1] + below[1]) / 2
    weight = (target - below[0]) / (above[0] - below[0])
    return below[1] + weight * (above[1] - below[1])


def skew(rows: Sequence[ChainRow], atm_iv: float | None) -> tuple[float | None, ...]:
    """(call25, put25, RR25, BF25)."""
    call25 = wing_iv((r.call for r in rows if r.call), WING_DELTA)
    put25 = wing_iv((r.put for r in rows if r.put), -WING_DELTA)
    if call25 is None or put25 is None:
        return call25, put25, None, None
    bf25 = None if atm_iv is None else (call25 + put25) / 2 - atm_iv
    return call25, put25, call25 - put25, bf25


# Open interest and volume ----------------------------------------------------------


@dataclass(slots=True)
class Totals:
    """Sums over contracts: open interest and 24 h volume of calls and puts."""

    call_oi: float = 0.0
    put_oi: float = 0.0
    call_volume: float = 0.0
    put_volume: float = 0.0

    def add(self, rows: Iterable[ChainRow]) -> "Totals":
        for row in rows:
            if row.call:
                self.call_oi += number(row.call.values, "oi") or 0.0
                self.call_volume += number(row.call.values, "volume_24h") or 0.0
            if row.put:
                self.put_oi += number(row.put.values, "oi") or 0.0
                self.put_volume += number(row.put.values, "volume_24h") or 0.0
        return self

    def merge(self, other: "Totals") -> "Totals":
        self.call_oi += other.call_oi
        self.put_oi += other.put_oi
        self.call_volume += other.call_volume
        self.put_volume += other.put_volume
        return self

    @property
    def pcr_oi(self) -> float | None:
        """Put OI / call OI; None when no call has open interest."""
        return ratio(self.put_oi, self.call_oi)

    @property
    def pcr_volume(self) -> float | None:
        return ratio(self.put_volume, self.call_volume)


def max_pain(rows: Sequence[ChainRow]) -> float | None:
    """The listed strike S minimising the sum over calls of OI x max(S - K, 0) plus
    over puts of OI x max(K - S, 0) (the lower strike on a tie); None when no
    contract has open interest. Rows in strike order, one pass with running sums
    (a chain of 100 strikes summed strike by strike cost a millisecond)."""
    call_oi = [_oi(r.call) for r in rows]
    put_oi = [_oi(r.put) for r in rows]
    if not any(call_oi) and not any(put_oi):
        return None
    below_oi = below_value = 0.0  # calls struck below S: sum of OI, of OI x K
    above_oi = sum(put_oi)  # puts struck at or above S
    above_value = sum(oi * r.strike for oi, r in zip(put_oi, rows, strict=True))
    best, best_pain = None, math.inf
    for i, row in enumerate(rows):
        s = row.strike
        pain = s * below_oi - below_value + above_value - s * above_oi
        if pain < best_pain:
            best, best_pain = s, pain
        below_oi += call_oi[i]
        below_value += call_oi[i] * s
        above_oi -= put_oi[i]
        above_value -= put_oi[i] * s
    return best


def _oi(tick: Tick | None) -> float:
    oi = None if tick is None else number(tick.values, "oi")
    return oi if oi and oi > 0 else 0.0


# One expiry ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExpiryAnalytics:
    """Every number of one expiry; `as_dict` gives the API's keys."""

    expiry: str
    forward: float | None
    atm_strike: float | None
    atm_iv: float | None
    call25_iv: float | None
    put25_iv: float | None
    rr25: float | None
    bf25: float | None
    totals: Totals
    max_pain: float | None
    gex: Gex

    def as_dict(self, gex_by_strike: bool = True) -> dict:
        profile = self.gex
        out = {
            "expiry": self.expiry, "forward": self.forward,
            "atm_strike": self.atm_strike, "atm_iv": self.atm_iv,
            "call25_iv": self.call25_iv, "put25_iv": self.put25_iv,
            "rr25": self.rr25, "bf25": self.bf25,
            "pcr_oi": self.totals.pcr_oi, "pcr_volume": self.totals.pcr_volume,
            "max_pain": self.max_pain,
            **gex_dict(profile, self.forward, gex_by_strike),
        }  # fmt: skip
        return out


def expiry_analytics(chain: Chain, convention: str = DEFAULT_CONVENTION):
    """Every analytic of one expiry's chain (read with at least FIELDS)."""
    rows = chain.rows
    fwd = forward(chain.ticks())
    atm_strike, atm_iv = atm(rows, fwd)
    call25, put25, rr25, bf25 = skew(rows, atm_iv)
    return ExpiryAnalytics(
        expiry=chain.expiry, forward=fwd, atm_strike=atm_strike, atm_iv=atm_iv,
        call25_iv=call25, put25_iv=put25, rr25=rr25, bf25=bf25,
        totals=Totals().add(rows), max_pain=max_pain(rows),
        gex=gex(rows, convention),
    )  # fmt: skip
