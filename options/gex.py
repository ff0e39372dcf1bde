"""Gamma exposure: by strike, in USD per 1 % move of the underlying, under a named
dealer-positioning convention; its total, largest strikes and zero-gamma strike.
Pure, over options.quote's Strikes; definitions in docs/analytics.md.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from options.quote import Quote, Strike

CONVENTIONS = ("classic", "short")  # who dealers are assumed to be; classic first
DEFAULT_CONVENTION = "classic"
MOVE = 0.01  # GEX is per 1 % move of the underlying


# Gamma exposure --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Gex:
    """Gamma exposure by strike (USD per 1 % move), ascending; a strike where no
    contract has gamma, open interest and underlying has None."""

    convention: str
    by_strike: Sequence[tuple[float, float | None]] = field(default_factory=tuple)

    @property
    def total(self) -> float | None:
        values = [g for _, g in self.by_strike if g is not None]
        return sum(values) if values else None

    def largest(self, sign: int) -> tuple[float, float] | None:
        """(strike, gex) of the largest positive (sign 1) or negative (-1) GEX."""
        found = [(s, g) for s, g in self.by_strike if g is not None and g * sign > 0]
        return max(found, key=lambda p: p[1] * sign) if found else None

    def zero_gamma(self, fwd: float | None) -> float | None:
        return zero_crossing(self.by_strike, fwd)


def contract_gex(q: Quote | None, sign: int) -> float | None:
    """sign x gamma x OI x U^2 x 1 %, U being the contract's own underlying."""
    if q is None or q.gamma is None or q.oi is None or q.underlying is None:
        return None
    return sign * q.gamma * q.oi * q.underlying * q.underlying * MOVE


def gex(chain: Sequence[Strike], convention: str) -> Gex:
    """`classic`: dealers long calls and short puts (calls +, puts -); `short`:
    dealers short both (all -)."""
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown GEX convention {convention!r}")
    call_sign = 1 if convention == "classic" else -1
    by_strike = []
    for s in chain:
        call, put = contract_gex(s.call, call_sign), contract_gex(s.put, -1)
        if call is None and put is None:
            by_strike.append((s.strike, None))
        else:
            by_strike.append((s.strike, (call or 0.0) + (put or 0.0)))
    return Gex(convention, tuple(by_strike))


def combined_gex(profiles: Iterable[Gex], convention: str) -> Gex:
    """Several expiries' GEX summed strike by strike."""
    sums: dict[float, float | None] = {}
    for profile in profiles:
        for strike, value in profile.by_strike:
            old = sums.get(strike)
            sums[strike] = value if old is None else old + (value or 0.0)
    return Gex(convention, tuple(sorted(sums.items())))


def zero_crossing(
    by_strike: Sequence[tuple[float, float | None]], fwd: float | None
) -> float | None:
    """The strike where the cumulative GEX (summed from the lowest strike up, None
    counting as 0) crosses zero. The crossing happens between two listed strikes: of
    the two, the one whose cumulative GEX is nearer zero (the lower on a tie; a
    cumulative of exactly 0 is its own strike). Of several crossings, the one
    nearest the forward (the lowest without one). None when it never crosses."""
    crossings, previous, total = [], None, 0.0
    for strike, value in by_strike:
        total += value or 0.0
        if previous is not None and previous[1] != 0 and total * previous[1] <= 0:
            nearer = strike if abs(total) < abs(previous[1]) else previous[0]
            crossings.append(nearer)
        previous = (strike, total)
    if not crossings:
        return None
    if fwd is None:
        return crossings[0]
    return min(crossings, key=lambda s: (abs(s - fwd), s))


def gex_dict(profile: Gex, fwd: float | None, by_strike: bool = True) -> dict:
    """The GEX keys of an answer: total, zero gamma, largest strikes, convention,
    and the profile itself unless left out."""
    out = {
        "gex_total": profile.total,
        "zero_gamma": profile.zero_gamma(fwd),
        "largest_positive": _strike_gex(profile.largest(1)),
        "largest_negative": _strike_gex(profile.largest(-1)),
        "convention": profile.convention,
    }
    if by_strike:
        out["gex_by_strike"] = [{"strike": s, "gex": g} for s, g in profile.by_strike]
    return out


def _strike_gex(pair: tuple[float, float] | None) -> dict | None:
    return None if pair is None else {"strike": pair[0], "gex": pair[1]}
