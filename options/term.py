"""The term structure of an underlying: ATM IV per expiry against days to expiry, and
constant-maturity ATM IVs. Pure; options.analytics computes each expiry's ATM IV.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

CONSTANT_MATURITIES = (7, 30, 60, 90)  # days
DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class TermPoint:
    expiry: str
    days: float  # to expiry, from the time of the computation
    atm_iv: float | None


def days_to(expires_ms: int, now_ms: int) -> float:
    return (expires_ms - now_ms) / DAY_MS


def constant_maturity(points: Iterable[TermPoint], days: float) -> float | None:
    """ATM IV at `days`, linear in total variance (IV^2 x T) between the two
    expiries that bracket it; an expiry at exactly `days` gives its own IV. None
    outside the listed range (no extrapolation); expiries without an ATM IV or
    already past do not count."""
    known = sorted((p.days, p.atm_iv) for p in points if p.atm_iv and p.days > 0)
    for (t0, iv0), (t1, iv1) in zip(known, known[1:], strict=False):
        if t0 <= days <= t1:
            return _interpolated(t0, iv0, t1, iv1, days)
    if len(known) == 1 and known[0][0] == days:
        return known[0][1]
    return None


def _interpolated(t0: float, iv0: float, t1: float, iv1: float, t: float) -> float:
    if t == t0 or t1 == t0:
        return iv0
    if t == t1:
        return iv1
    w0, w1 = iv0 * iv0 * t0, iv1 * iv1 * t1
    variance = w0 + (w1 - w0) * (t - t0) / (t1 - t0)
    return math.sqrt(variance / t)


def constant_maturities(points: Sequence[TermPoint]) -> dict[str, float | None]:
    """{"7": IV, "30": ..., "60": ..., "90": ...} (None outside the range)."""
    return {str(d): constant_maturity(points, d) for d in CONSTANT_MATURITIES}
