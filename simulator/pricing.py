"""Black-76 prices and greeks, the volatility smile, and Bybit-style number strings.

Pure float math (math.erf): a contract reprices in a few microseconds, which is what
lets the simulator keep thousands of contracts moving on one core.
"""

from __future__ import annotations

import math
from typing import NamedTuple

MS_PER_YEAR = 365.0 * 24 * 3600 * 1000
MIN_YEARS = 60_000 / MS_PER_YEAR  # one minute: keeps d1 finite right before expiry
_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


class Greeks(NamedTuple):
    price: float
    delta: float
    gamma: float
    vega: float  # per 1 vol point (0.01), as Bybit quotes it
    theta: float  # per calendar day
    vega_unit: float  # per 1.00 of vol: turns a price spread into an IV spread


def ncdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / _SQRT2))


def black76(fwd: float, strike: float, years: float, iv: float, call: bool) -> Greeks:
    """Undiscounted Black-76 on the forward: Bybit marks USDT options on the forward."""
    years = max(years, MIN_YEARS)
    sd = iv * math.sqrt(years)
    d1 = (math.log(fwd / strike) + 0.5 * sd * sd) / sd
    d2 = d1 - sd
    pdf = math.exp(-0.5 * d1 * d1) * _INV_SQRT_2PI
    nd1 = ncdf(d1)
    if call:
        price = fwd * nd1 - strike * ncdf(d2)
        delta = nd1
    else:
        price = strike * ncdf(-d2) - fwd * ncdf(-d1)
        delta = nd1 - 1.0
    vega_unit = fwd * pdf * math.sqrt(years)
    gamma = pdf / (fwd * sd)
    theta = -fwd * pdf * iv / (2.0 * math.sqrt(years)) / 365.0
    return Greeks(max(price, 0.0), delta, gamma, vega_unit / 100.0, theta, vega_unit)


def smile_iv(atm: float, fwd: float, strike: float, years: float, skew: float) -> float:
    """ATM vol bent into a smile: wings higher, low strikes (puts) higher still."""
    years = max(years, MIN_YEARS)
    x = math.log(strike / fwd) / (atm * math.sqrt(years))
    x = min(max(x, -4.0), 4.0)
    return min(max(atm * (1.0 + 0.06 * x * x - skew * x), 0.05), 5.0)


def atm_vol(base_vol: float, years: float) -> float:
    """Term structure: short expiries trade a little richer than long ones."""
    return base_vol * (1.0 + 0.25 * math.exp(-years * 40.0))


_FORMATS = tuple(f"%.{d}f" for d in range(13))


def fmt(value: float, decimals: int) -> str:
    """A plain decimal string: fixed precision, no exponent, no trailing zeros."""
    text = _FORMATS[decimals] % value
    if decimals and text[-1] == "0":
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def to_tick(value: float, tick: float) -> float:
    """Round down onto the price grid (bids and asks live on ticks)."""
    return math.floor(value / tick + 1e-9) * tick


def decimals_of(step: str) -> int:
    """How many decimals a grid step such as "0.01" or "5" implies."""
    return len(step.split(".")[1]) if "." in step else 0
