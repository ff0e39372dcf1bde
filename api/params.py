"""Strict parsing of the API's path and query parameters.

Each parser raises errors.bad_parameter naming the parameter, so a client always learns
which one was wrong. Shared by the DRF and the async code paths. The JSON Schema
fragments below are what the OpenAPI document states for the same parameters
(api/live_views.py, api/views.py): one definition for the schema and the server.
"""

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime

from api.errors import bad_parameter
from options.fields import FIELDS

AROUND_ATM_MAX = 500
STRIKE_LIMIT = 1e15  # beyond any strike (numeric(24, 8)); exact as a float, +1 too
FORMAT = "format"  # DRF's URL_FORMAT_OVERRIDE: every endpoint takes it
# What `fields` may name: the store's fields, and `symbol` (always there anyway).
FIELD_NAMES = ("symbol", *FIELDS)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")

STRIKE_BOUND = {"type": "number", "minimum": -STRIKE_LIMIT, "maximum": STRIKE_LIMIT}
AROUND_ATM = {"type": "integer", "minimum": 0, "maximum": AROUND_ATM_MAX}
# A string with a pattern, not an array of names: in a query string `fields=mark`
# reads the same either way, and schemathesis sends it as a wrong (non-array) value
# that it expects to be refused.
_ONE_FIELD = f"({'|'.join(FIELD_NAMES)})"
FIELD_LIST = {"type": "string", "pattern": f"^{_ONE_FIELD}(,{_ONE_FIELD})*$"}
# Exchange and base-coin names in the contracts' filters: letters and digits.
NAME = {"type": "string", "pattern": "^[A-Za-z0-9]+$"}
NAME_RE = re.compile(r"^[A-Za-z0-9]+\Z")


@dataclass(frozen=True, slots=True)
class ChainParams:
    strike_min: float | None = None
    strike_max: float | None = None
    around_atm: int | None = None
    fields: tuple[str, ...] | None = None  # None: every field the store holds
    at: int | None = None  # ms since the epoch: the chain as it was then (history)


def check_query(query, allowed: Collection[str]) -> None:
    """Only the endpoint's own parameters (and `format`), each given once and not
    empty. Anything else is a 400: a misspelt filter would otherwise widen the
    result without a word, and `expiry=` would silently mean every expiry."""
    for name in query:
        if name not in allowed and name != FORMAT:
            takes = ", ".join(sorted({*allowed, FORMAT}))
            raise bad_parameter(name, f"unknown parameter; this endpoint takes {takes}")
        values = query.getlist(name)
        if len(values) > 1:
            raise bad_parameter(name, "given more than once")
        if values[0] == "":
            raise bad_parameter(name, "empty; give a value or leave the parameter out")


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


def strike_bound(raw: str) -> float:
    """A finite number within ±STRIKE_LIMIT; ValueError says what is wrong."""
    if NUMBER.fullmatch(raw) and abs(value := float(raw)) <= STRIKE_LIMIT:
        return value
    limit = f"{STRIKE_LIMIT:g}"
    raise ValueError(f"{raw!r} is not a number from -{limit} to {limit}")


def whole_number(raw: str, low: int, high: int) -> int:
    """An integer from low to high written in digits; ValueError otherwise."""
    if raw.isascii() and raw.isdigit() and low <= int(raw) <= high:
        return int(raw)
    raise ValueError(f"{raw!r} is not a whole number from {low} to {high}")


def parsed(query, name: str, parse, *args):
    """parse(raw, *args) for a given parameter (None when absent), its ValueError a
    400 naming the parameter."""
    raw = query.get(name)
    if raw is None:
        return None
    try:
        return parse(raw, *args)
    except ValueError as exc:
        raise bad_parameter(name, str(exc)) from None


def field_list(raw: str) -> tuple[str, ...]:
    """Store field names, comma separated; `symbol` is always included anyway."""
    names = raw.split(",")
    unknown = [name for name in names if name not in FIELD_NAMES]
    if unknown:
        raise ValueError(
            f"unknown field {unknown[0]!r}; choose from {', '.join(FIELD_NAMES)}"
        )
    return tuple(dict.fromkeys(n for n in names if n != "symbol"))


def chain_params(query) -> ChainParams:
    return ChainParams(
        strike_min=parsed(query, "strike_min", strike_bound),
        strike_max=parsed(query, "strike_max", strike_bound),
        around_atm=parsed(query, "around_atm", whole_number, 0, AROUND_ATM_MAX),
        fields=parsed(query, "fields", field_list),
        at=parsed(query, "at", time_ms),
    )


def time_ms(raw: str) -> int:
    """An ISO 8601 date-time (UTC when it names no offset) as ms since the epoch."""
    try:
        when = datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError:
        raise ValueError(
            f"{raw!r} is not an ISO 8601 time such as 2026-03-27T08:00:00Z"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)
