"""The analytics traders read off a chain, as pure functions over the read model's
rows (options.rows, parsed once into options.quote's Strikes): forward, ATM, 25-delta
skew, put/call ratios, max pain, and gamma exposure (options.gex); the term structure
is options.term's. No I/O: options.analytics_read feeds them.

The definitions are the API's (docs/analytics.md): numbers keep the store's units
(an IV is the fraction the exchange sends), and a number that cannot be computed
from what the chain holds is None, never a guess.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from options.gex import DEFAULT_CONVENTION, Gex, gex, gex_dict
from options.quote import FIELDS, Quote, Strike, strikes
from options.rows import Chain, atm_index

__all__ = [
    "FIELDS", "ExpiryAnalytics", "Totals", "expiry_analytics", "strikes_analytics",
]  # fmt: skip
WING_DELTA = 0.25


def ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None


def quotes(chain: Sequence[Strike]) -> list[Quote]:
    """Every contract's quote, by strike, call first."""
    return [q for s in chain for q in (s.call, s.put) if q is not None]


# Forward and ATM -------------------------------------------------------------------


def forward(found: Iterable[Quote]) -> float | None:
    """The median of the positive `underlying` values of the contracts (the lower
    middle one for an even count)."""
    values = sorted(q.underlying for q in found if q.underlying and q.underlying > 0)
    return values[(len(values) - 1) // 2] if values else None


def atm(chain: Sequence[Strike], fwd: float | None) -> tuple[float | None, ...]:
    """(ATM strike, ATM IV): the listed strike nearest the forward (the lower one on
    a tie) and the mean of its call's and put's mark IVs (the one present when only
    one is; None when neither is)."""
    i = None if fwd is None else atm_index([s.strike for s in chain], fwd)
    if i is None:
        return None, None
    ivs = [q.mark_iv for q in (chain[i].call, chain[i].put) if q and q.mark_iv]
    return chain[i].strike, (sum(ivs) / len(ivs) if ivs else None)


# 25-delta skew ---------------------------------------------------------------------


def wing_iv(found: Iterable[Quote], target: float) -> float | None:
    """Mark IV interpolated linearly in delta between the two contracts whose deltas
    bracket `target`: the nearest delta at or below it and the nearest at or above
    (ties go to the lower strike). Contracts without a delta or a mark IV do not
    count; None when nothing brackets the target."""
    below = above = None
    for q in found:
        delta, iv = q.delta, q.mark_iv
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


def skew(chain: Sequence[Strike], atm_iv: float | None) -> tuple[float | None, ...]:
    """(call25, put25, RR25, BF25)."""
    call25 = wing_iv((s.call for s in chain if s.call), WING_DELTA)
    put25 = wing_iv((s.put for s in chain if s.put), -WING_DELTA)
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

    def add(self, chain: Iterable[Strike]) -> "Totals":
        for s in chain:
            if s.call:
                self.call_oi += s.call.oi or 0.0
                self.call_volume += s.call.volume or 0.0
            if s.put:
                self.put_oi += s.put.oi or 0.0
                self.put_volume += s.put.volume or 0.0
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


def max_pain(chain: Sequence[Strike]) -> float | None:
    """The listed strike S minimising the sum over calls of OI x max(S - K, 0) plus
    over puts of OI x max(K - S, 0) (the lower strike on a tie); None when no
    contract has open interest. One pass with running sums, strikes ascending."""
    call_oi = [_oi(s.call) for s in chain]
    put_oi = [_oi(s.put) for s in chain]
    if not any(call_oi) and not any(put_oi):
        return None
    below_oi = below_value = 0.0  # calls struck below S: sum of OI, of OI x K
    above_oi = sum(put_oi)  # puts struck at or above S
    above_value = sum(oi * s.strike for oi, s in zip(put_oi, chain, strict=True))
    best, best_pain = None, math.inf
    for i, s in enumerate(chain):
        k = s.strike
        pain = k * below_oi - below_value + above_value - k * above_oi
        if pain < best_pain:
            best, best_pain = k, pain
        below_oi += call_oi[i]
        below_value += call_oi[i] * k
        above_oi -= put_oi[i]
        above_value -= put_oi[i] * k
    return best


def _oi(q: Quote | None) -> float:
    return q.oi if q is not None and q.oi and q.oi > 0 else 0.0


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
        return {
            "expiry": self.expiry, "forward": self.forward,
            "atm_strike": self.atm_strike, "atm_iv": self.atm_iv,
            "call25_iv": self.call25_iv, "put25_iv": self.put25_iv,
            "rr25": self.rr25, "bf25": self.bf25,
            "pcr_oi": self.totals.pcr_oi, "pcr_volume": self.totals.pcr_volume,
            "max_pain": self.max_pain,
            **gex_dict(self.gex, self.forward, gex_by_strike),
        }  # fmt: skip


def expiry_analytics(
    chain: Chain, convention: str = DEFAULT_CONVENTION
) -> ExpiryAnalytics:
    """Every analytic of one expiry's chain (read with at least FIELDS)."""
    return strikes_analytics(chain.expiry, strikes(chain.rows), convention)


def strikes_analytics(
    expiry: str, listed: Sequence[Strike], convention: str = DEFAULT_CONVENTION
) -> ExpiryAnalytics:
    """Every analytic of one expiry from its Strikes, in strike order."""
    fwd = forward(quotes(listed))
    atm_strike, atm_iv = atm(listed, fwd)
    call25, put25, rr25, bf25 = skew(listed, atm_iv)
    return ExpiryAnalytics(
        expiry=expiry, forward=fwd, atm_strike=atm_strike, atm_iv=atm_iv,
        call25_iv=call25, put25_iv=put25, rr25=rr25, bf25=bf25,
        totals=Totals().add(listed), max_pain=max_pain(listed),
        gex=gex(listed, convention),
    )  # fmt: skip
