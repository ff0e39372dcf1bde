"""The listed-contract universe: base coins, expiry calendar and strike grids.

Deterministic for a given (contracts, now): the seed only moves the starting spots a
little, so two runs with the same seed on the same day list the same names.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

EXPIRY_HOUR = 8
DAY_MS = 86_400_000
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN",
          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")  # fmt: skip


@dataclass(frozen=True, slots=True)
class BaseSpec:
    coin: str
    spot: float
    vol: float  # ATM annual vol
    share: float  # share of the contract universe
    steps: tuple[str, str, str]  # strike step: <= 2 days, <= 35 days, longer
    tick: str
    max_price: str
    qty_step: str
    max_qty: str
    price_dp: int  # decimals of mark and index prices
    carry: float = 0.04  # forward = spot * exp(carry * T)
    skew: float = 0.08


SPECS: dict[str, BaseSpec] = {
    "BTC": BaseSpec("BTC", 90_000.0, 0.48, 0.50, ("500", "1000", "2000"),
                    "5", "1110000", "0.01", "500", 2),
    "ETH": BaseSpec("ETH", 3_000.0, 0.62, 0.35, ("25", "50", "100"),
                    "0.1", "100000", "0.1", "10000", 2),
    "SOL": BaseSpec("SOL", 150.0, 0.75, 0.15, ("2.5", "5", "5"),
                    "0.01", "10000", "1", "100000", 4),
}  # fmt: skip


def generic_spec(coin: str, spot: float) -> BaseSpec:
    """A spec for a base coin listed at run time (`/sim/list?base=XRP&spot=0.6`)."""
    step, tick = _nice_step(spot / 40.0), _nice_step(spot / 5_000.0)
    dp = max(4, len(tick.split(".")[1]) if "." in tick else 0)
    long_step = _nice_step(spot / 20.0)
    return BaseSpec(coin, spot, 0.8, 0.0, (step, step, long_step), tick,
                    plain(Decimal(repr(spot)) * 20), "1", "100000", dp)  # fmt: skip


def _nice_step(raw: float) -> str:
    """The largest 1-2-2.5-5 number at or below `raw`."""
    exp = Decimal(repr(raw)).adjusted()
    for mant in ("5", "2.5", "2", "1"):
        step = Decimal(mant).scaleb(exp)
        if step <= Decimal(repr(raw)):
            return plain(step)
    return plain(Decimal(1).scaleb(exp - 1))


def plain(value: float | Decimal) -> str:
    """`70000`, `2.5`, `0.0001`: no exponent, no trailing zeros (Bybit's strikes)."""
    text = format(Decimal(repr(value)) if isinstance(value, float) else value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def bybit_symbol(coin: str, expiry: date, strike: Decimal, kind: str) -> str:
    """The exchange's name of a USDT option: `BTC-5JUN26-70000-C-USDT`.

    The simulator plays the exchange, so it spells names itself rather than through
    the tracker's parser: a test that parses them checks the tracker against it.
    """
    day = f"{expiry.day}{MONTHS[expiry.month - 1]}{expiry.year % 100:02d}"
    return f"{coin}-{day}-{plain(strike)}-{kind}-USDT"


def expiry_ms(day: date) -> int:
    moment = datetime(day.year, day.month, day.day, EXPIRY_HOUR, tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _last_friday(year: int, month: int) -> date:
    first_next = date(year + month // 12, month % 12 + 1, 1)
    day = first_next - timedelta(days=1)
    return day - timedelta(days=(day.weekday() - 4) % 7)


def expiry_calendar(now_ms: int, min_ahead_ms: int = 3_600_000) -> list[date]:
    """3 dailies, 4 weekly Fridays, 3 monthlies and 3 quarterlies, all still ahead."""
    today = datetime.fromtimestamp(now_ms / 1000, UTC).date()

    def ahead(day: date) -> bool:
        return expiry_ms(day) > now_ms + min_ahead_ms

    days = [d for d in (today + timedelta(days=i) for i in range(5)) if ahead(d)][:3]
    fridays = (today + timedelta(days=i) for i in range(60))
    days += [d for d in fridays if d.weekday() == 4 and ahead(d)][:4]
    months = [
        (today.year + (today.month - 1 + i) // 12, (today.month - 1 + i) % 12 + 1)
        for i in range(16)
    ]
    lasts = [_last_friday(y, m) for y, m in months]
    days += [d for d in lasts if ahead(d)][:3]
    days += [d for d in lasts if d.month % 3 == 0 and ahead(d)][:3]
    return sorted(set(days))


def strike_step(spec: BaseSpec, days_left: float) -> Decimal:
    index = 0 if days_left <= 2 else 1 if days_left <= 35 else 2
    return Decimal(spec.steps[index])


def strike_grid(spot: float, step: Decimal, count: int) -> list[Decimal]:
    """`count` strikes nearest the money on the step grid, all positive."""
    atm = max(round(spot / float(step)), 1)
    picked: list[int] = []
    offset = 0
    while len(picked) < count:
        for k in (atm + offset, atm - offset) if offset else (atm,):
            if k > 0 and len(picked) < count:
                picked.append(k)
        offset += 1
    return [step * k for k in sorted(picked)]


def allocate(total: int, weights: list[float]) -> list[int]:
    """Split `total` into integer parts proportional to weights (largest remainder)."""
    raw = [total * w / sum(weights) for w in weights]
    parts = [int(x) for x in raw]
    order = sorted(range(len(raw)), key=lambda i: parts[i] - raw[i])
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


@dataclass(frozen=True, slots=True)
class Listing:
    """One strike of one expiry: the simulator lists a call and a put for it."""

    base: str
    expiry: date
    strike: Decimal


def build_universe(
    contracts: int, now_ms: int, spots: dict[str, float]
) -> list[Listing]:
    """Strikes for every base and expiry; 2 contracts (C and P) per listing."""
    pairs = allocate(contracts // 2, [spec.share for spec in SPECS.values()])
    calendar = expiry_calendar(now_ms)
    listings: list[Listing] = []
    for spec, n_pairs in zip(SPECS.values(), pairs, strict=True):
        expiries = calendar[: max(min(len(calendar), n_pairs), 1)]
        days = [(expiry_ms(d) - now_ms) / DAY_MS for d in expiries]
        counts = allocate(n_pairs, [0.5 + min(t, 90.0) / 30.0 for t in days])
        for expiry, days_left, count in zip(expiries, days, counts, strict=True):
            step = strike_step(spec, days_left)
            for strike in strike_grid(spots[spec.coin], step, count):
                listings.append(Listing(spec.coin, expiry, strike))
    return listings


def start_spots(seed: int) -> dict[str, float]:
    """Starting spots: the spec's level moved by up to ±3 % (seeded)."""
    rng = random.Random(seed * 7919 + 17)
    return {
        coin: spec.spot * (1.0 + rng.uniform(-0.03, 0.03))
        for coin, spec in SPECS.items()
    }
