"""Strict parsing of the Redis-backed endpoints' path and query parameters.

Each parser raises errors.bad_parameter naming the parameter, so a client always learns
which one was wrong. Shared by the DRF and the async code paths.
"""

import math
import re
from dataclasses import dataclass
from datetime import date

from api.errors import bad_parameter
from options.fields import FIELDS

AROUND_ATM_MAX = 500
FIELD_NAMES = frozenset(FIELDS)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


@dataclass(frozen=True, slots=True)
class ChainParams:
    strike_min: float | None = None
    strike_max: float | None = None
    around_atm: int | None = None
    fields: tuple[str, ...] | None = None  # None: every field the store holds


def exchange_name(value: str) -> str:
    return value.lower()


def base_name(value: str) -> str:
    return value.upper()


def expiry(value: str, field: str = "expiry") -> str:
    """A YYYY-MM-DD date, as in the Redis keys."""
    try:
        if _DATE.match(value):
            date.fromisoformat(value)
            return value
    except ValueError:
        pass
    raise bad_parameter(field, f"{value!r} is not a date YYYY-MM-DD")


def number(query, name: str) -> float | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    if not _NUMBER.match(raw) or not math.isfinite(value := float(raw)):
        raise bad_parameter(name, f"{raw!r} is not a number")
    return value


def around_atm(query) -> int | None:
    raw = query.get("around_atm")
    if raw is None or raw == "":
        return None
    if not raw.isascii() or not raw.isdigit() or int(raw) > AROUND_ATM_MAX:
        raise bad_parameter(
            "around_atm", f"{raw!r} is not a whole number from 0 to {AROUND_ATM_MAX}"
        )
    return int(raw)


def fields(query) -> tuple[str, ...] | None:
    """Store field names, comma separated; `symbol` is always included anyway."""
    raw = query.get("fields")
    if raw is None or raw == "":
        return None
    names = [name.strip() for name in raw.split(",")]
    unknown = [n for n in names if n not in FIELD_NAMES and n != "symbol"]
    if unknown or not all(names):
        raise bad_parameter(
            "fields",
            f"unknown field {unknown[0] if unknown else ''!r}; "
            f"choose from {', '.join(FIELDS)}",
        )
    return tuple(dict.fromkeys(n for n in names if n != "symbol"))


def chain_params(query) -> ChainParams:
    return ChainParams(
        strike_min=number(query, "strike_min"),
        strike_max=number(query, "strike_max"),
        around_atm=around_atm(query),
        fields=fields(query),
    )
