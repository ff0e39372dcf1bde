"""The store's field names for one contract's latest state, the field profiles, and
what a usable value of each field is.

These names are part of the public Redis schema (docs/redis-schema.md): every exchange
adapter maps its own names onto them, and every reader uses them. The feed writes
only values that pass `valid` (feed.conflate), and the read model shows a value that
does not (older data, another writer) as missing (options.read).
"""

import re
from functools import lru_cache

FIELDS = (
    "bid", "bid_size", "bid_iv",
    "ask", "ask_size", "ask_iv",
    "last", "mark", "mark_iv",
    "index", "underlying",
    "oi", "volume_24h", "turnover_24h", "total_volume", "total_turnover",
    "high_24h", "low_24h", "change_24h",
    "delta", "gamma", "vega", "theta",
    "predicted_delivery",
    "ts", "recv_ts",
)  # fmt: skip

# The chain's prices plus every field the analytics read (options.analytics.FIELDS).
ESSENTIAL = (
    "bid", "ask", "mark", "mark_iv", "underlying", "oi", "volume_24h", "delta",
    "gamma", "ts",
)  # fmt: skip

PROFILES = {
    "full": FIELDS,
    "essential": ESSENTIAL,
    "critical": ("bid", "ask", "mark", "mark_iv", "ts"),
}

# Kinds of value. A price or a size is a plain decimal, never negative; an IV a plain
# decimal fraction from 0 to below IV_MAX; a greek or a change may be negative; a
# timestamp is an integer (ms).
KINDS = {
    **dict.fromkeys(
        ("bid", "ask", "last", "mark", "index", "underlying", "high_24h", "low_24h",
         "predicted_delivery", "bid_size", "ask_size", "oi", "volume_24h",
         "turnover_24h", "total_volume", "total_turnover"),
        "price",
    ),
    **dict.fromkeys(("bid_iv", "ask_iv", "mark_iv"), "iv"),
    **dict.fromkeys(("delta", "gamma", "vega", "theta", "change_24h"), "signed"),
    **dict.fromkeys(("ts", "recv_ts"), "timestamp"),
}  # fmt: skip
IV_MAX = 20  # 2,000 %: above any quoted option IV, below any garbage worth storing

# Each kind as a regular expression over one value. Plain decimal: ASCII digits, at
# most 16 before the point and 15 after it (32 characters; 17 digits already exceed
# any price), no exponent, a leading minus only where negative is allowed: what
# Bybit sends, and what Python, a spreadsheet and a browser read as the same finite
# number. Possessive quantifiers: nothing to backtrack into, about half the
# instructions (README "Exchange values checked").
_DECIMAL = r"[0-9]{1,16}+(?:\.[0-9]{1,15}+)?+"
PATTERNS = {
    "price": _DECIMAL,
    "iv": r"(?:1[0-9]|[0-9])(?:\.[0-9]{1,15}+)?+",  # from 0 to below IV_MAX
    "signed": "-?+" + _DECIMAL,
    "timestamp": r"[0-9]{1,13}+",  # ms up to the year 2286: a date Python can show
}


def _checker(kind: str):
    match = re.compile(PATTERNS[kind]).fullmatch

    def check(value) -> bool:
        return value.__class__ is str and match(value) is not None

    return check


CHECKS = {field: _checker(kind) for field, kind in KINDS.items()}


def valid(field: str, value: object) -> bool:
    """Whether `value` is usable as the store field `field`: a string of the field's
    kind. Every value that passes is a finite number."""
    check = CHECKS.get(field)
    return check is not None and check(value)


@lru_cache(maxsize=64)
def row_check(fields: tuple[str, ...], sep: str):
    """One regular expression for a whole row: `fields`' values joined by `sep`
    match it (fullmatch) exactly when each is valid. One C call per row instead of
    one Python call per value: a sixth of the instructions. KeyError for a field
    not in the schema."""
    return re.compile(row_pattern(fields, sep)).fullmatch


def row_pattern(fields: tuple[str, ...], sep: str) -> str:
    """The regular expression of row_check, to build on (options.quote)."""
    return sep.join(PATTERNS[KINDS[f]] for f in fields)


def profile_fields(name: str) -> tuple[str, ...]:
    """The fields of a profile; ValueError names the valid ones."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(
            f"unknown field profile {name!r}; choose one of {', '.join(PROFILES)}"
        ) from None
