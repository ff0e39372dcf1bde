"""Option symbol names: parse `BTC-27MAR26-70000-P-USDT` into its parts, and back.

Bybit names are `{BASE}-{D|DD}{MMM}{YY}-{STRIKE}-{C|P}` with an optional settle-coin
suffix (USDT options since 2025; the older USDC form has none). Strikes may be decimal
(`XRP-30OCT26-0.4-P-USDT`). The exchange lists options for expiry at 08:00 UTC; the
instrument record's `deliveryTime` is authoritative, the name gives only the date.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN",
          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")  # fmt: skip
EXPIRY_HOUR_UTC = 8

_SYMBOL = re.compile(
    r"^(?P<base>[A-Z0-9]{2,12})-(?P<day>[1-9]|[12][0-9]|3[01])(?P<month>[A-Z]{3})"
    r"(?P<year>[0-9]{2})-(?P<strike>(?:0|[1-9][0-9]*)(?:\.[0-9]+)?)-(?P<kind>[CP])"
    r"(?:-(?P<settle>[A-Z]{3,5}))?$"
)


class SymbolError(ValueError):
    """A name that is not an option symbol this project understands."""


@dataclass(frozen=True, slots=True)
class OptionSymbol:
    base: str
    expiry_date: date
    strike: Decimal
    option_type: str  # "C" or "P"
    settle: str | None  # None for the older names without a suffix

    @property
    def expiry(self) -> datetime:
        """Expiry as an aware UTC datetime at the exchange's usual 08:00 delivery."""
        return datetime.combine(self.expiry_date, time(EXPIRY_HOUR_UTC), tzinfo=UTC)

    @property
    def name(self) -> str:
        return format_symbol(
            self.base, self.expiry_date, self.strike, self.option_type, self.settle
        )


def parse_symbol(name: str) -> OptionSymbol:
    """Parse an option symbol; SymbolError says what is wrong with a bad one."""
    if not isinstance(name, str):
        raise SymbolError(f"option symbol must be a string, got {type(name).__name__}")
    match = _SYMBOL.match(name)
    if match is None:
        raise SymbolError(
            f"not an option symbol: {name!r} "
            "(expected BASE-DMMMYY-STRIKE-C|P[-SETTLE], e.g. BTC-27MAR26-70000-P-USDT)"
        )
    month = match["month"]
    if month not in MONTHS:
        raise SymbolError(f"unknown month {month!r} in option symbol {name!r}")
    try:
        expiry = date(
            2000 + int(match["year"]), MONTHS.index(month) + 1, int(match["day"])
        )
    except ValueError:
        raise SymbolError(f"impossible expiry date in option symbol {name!r}") from None
    strike = Decimal(match["strike"])
    if strike <= 0:
        raise SymbolError(f"strike must be positive in option symbol {name!r}")
    return OptionSymbol(match["base"], expiry, strike, match["kind"], match["settle"])


def format_symbol(
    base: str, expiry: date, strike: Decimal, option_type: str, settle: str | None
) -> str:
    """The exchange's name for these parts: day not zero-padded, plain strike."""
    day_month_year = f"{expiry.day}{MONTHS[expiry.month - 1]}{expiry.year % 100:02d}"
    name = f"{base}-{day_month_year}-{format_strike(strike)}-{option_type}"
    return f"{name}-{settle}" if settle else name


def format_strike(strike: Decimal) -> str:
    """`70000`, `0.4`: no exponent, no trailing zeros."""
    text = format(Decimal(strike).normalize(), "f")
    return text
