"""The store's field names for one contract's latest state, the field profiles, and
what a usable value of each field is.

These names are part of the public Redis schema (docs/redis-schema.md): every exchange
adapter maps its own names onto them, and every reader uses them. The feed writes
only values that pass `valid` (feed.conflate), and the read model shows a value that
does not (older data, another writer) as missing (options.read).
"""

import re

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
# decimal fraction from 0 to IV_MAX; a greek or a change may be negative; a timestamp
# is an integer (ms). Plain decimal: digits, at most one point with digits on both
# sides, no exponent, no sign but a leading minus: what Bybit sends, and what a
# spreadsheet or a browser reads as the same number.
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
MAX_CHARS = 32  # no exchange number needs more; 32 digits stay far from float limits
IV_MAX = 20.0  # 2,000 %: above any quoted option IV, below any garbage worth storing

_PATTERNS = {
    "price": re.compile(r"[0-9]+(?:\.[0-9]+)?").fullmatch,
    "iv": re.compile(r"[0-9]{1,2}(?:\.[0-9]+)?").fullmatch,
    "signed": re.compile(r"-?[0-9]+(?:\.[0-9]+)?").fullmatch,
    "timestamp": re.compile(r"[0-9]{1,15}").fullmatch,
}


def _checker(kind: str):
    match = _PATTERNS[kind]

    def check(value) -> bool:
        return value.__class__ is str and len(value) <= MAX_CHARS and bool(match(value))

    def check_iv(value) -> bool:
        return check(value) and float(value) <= IV_MAX

    return check_iv if kind == "iv" else check


CHECKS = {field: _checker(kind) for field, kind in KINDS.items()}


def valid(field: str, value: object) -> bool:
    """Whether `value` is usable as the store field `field`: a string of the field's
    kind, at most MAX_CHARS long. Every value that passes is a finite number."""
    check = CHECKS.get(field)
    return check is not None and check(value)


def profile_fields(name: str) -> tuple[str, ...]:
    """The fields of a profile; ValueError names the valid ones."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(
            f"unknown field profile {name!r}; choose one of {', '.join(PROFILES)}"
        ) from None
