"""How one field of a whole chain is packed into bytes for the history table, exactly.

The store's values are the exchange's decimal strings. A column keeps them as scaled
integers: every value of the column times 10**d, d being the most decimals any of
them has, as int32 when they all fit, else int64. So a past value comes back as the
same number the exchange sent (never a re-rounded float), and one contract's value is
one `struct.unpack_from` at offset 2 + position * size.

    column = code (1: int32, 2: int64) | d | n values, little-endian

A value that is absent (or not a plain decimal) is the type's minimum. Pure: no I/O.
"""

import struct
import zlib
from collections.abc import Sequence

HEADER = 2
MAX_DECIMALS = 18
_TYPES = {1: ("<i", 4, -(2**31)), 2: ("<q", 8, -(2**63))}
_INT32 = (-(2**31) + 1, 2**31 - 1)
_INT64 = (-(2**63) + 1, 2**63 - 1)


def _decimal(text: str | None) -> tuple[int, int] | None:
    """(mantissa, decimals) of a plain decimal such as "-0.25"; None otherwise."""
    if not text:
        return None
    head, _, tail = text.partition(".")
    if not (tail.isdigit() or tail == "") or len(tail) > MAX_DECIMALS:
        return None
    try:
        return int(head + tail), len(tail)
    except ValueError:
        return None


def pack(texts: Sequence[str | None]) -> bytes | None:
    """One column from a value per contract; None when no contract has a value."""
    parsed = [_decimal(text) for text in texts]
    present = [p for p in parsed if p is not None]
    if not present:
        return None
    d = max(decimals for _, decimals in present)
    scaled = [None if p is None else p[0] * 10 ** (d - p[1]) for p in parsed]
    numbers = [s for s in scaled if s is not None]
    low, high = min(numbers), max(numbers)
    code = 1 if _INT32[0] <= low and high <= _INT32[1] else 2
    fmt, _, missing = _TYPES[code]
    lo, hi = _INT32 if code == 1 else _INT64
    values = [missing if s is None or not lo <= s <= hi else s for s in scaled]
    return bytes((code, d)) + struct.pack(f"{fmt[0]}{len(values)}{fmt[1]}", *values)


def unpack(column: bytes | None, n: int) -> list[str | None]:
    """Every value of a column as decimal text (None where absent)."""
    if column is None:
        return [None] * n
    code, d = column[0], column[1]
    fmt, _, missing = _TYPES[code]
    values = struct.unpack_from(f"{fmt[0]}{n}{fmt[1]}", column, HEADER)
    return [None if v == missing else text(v, d) for v in values]


def value_at(column: bytes | None, position: int) -> float | None:
    """One contract's value as a float (the double nearest the exchange's decimal)."""
    return values_at([column], [position])[0]


_I32, _I64 = struct.Struct("<i").unpack_from, struct.Struct("<q").unpack_from
_MISSING32, _MISSING64 = _TYPES[1][2], _TYPES[2][2]
_POWERS = [10**d for d in range(MAX_DECIMALS + 1)]


def values_at(columns, positions) -> list[float | None]:
    """value_at of each (column, position) pair: one contract's field over many
    samples, in one loop (a day is 1,440 of them per field)."""
    out = []
    append = out.append
    for column, position in zip(columns, positions, strict=True):
        if column is None:
            append(None)
            continue
        if column[0] == 1:
            value, missing = _I32(column, HEADER + 4 * position)[0], _MISSING32
        else:
            value, missing = _I64(column, HEADER + 8 * position)[0], _MISSING64
        if value == missing:
            append(None)
        else:
            append(value / _POWERS[column[1]] if column[1] else float(value))
    return out


def text(mantissa: int, decimals: int) -> str:
    """The decimal text of mantissa / 10**decimals, without trailing zeros."""
    if not decimals:
        return str(mantissa)
    digits = str(abs(mantissa)).rjust(decimals + 1, "0")
    whole, frac = digits[:-decimals], digits[-decimals:].rstrip("0")
    sign = "-" if mantissa < 0 else ""
    return f"{sign}{whole}.{frac}" if frac else f"{sign}{whole}"


# One contract's hour: its sample times and each field's values over the hour, each
# field packed as a column above (the hour's samples in place of the chain's
# contracts), zlib'd together. A few hundred bytes: the per-contract table's rows.
#
#     zlib( n | n int64 times | per field: uint32 length | column (0: absent) )

_COUNT, _LENGTH = struct.Struct("<I"), struct.Struct("<I")


def pack_hour(times: Sequence[int], columns: Sequence[bytes | None]) -> bytes:
    """One contract's hour from its sample times and a column per field."""
    parts = [_COUNT.pack(len(times)), struct.pack(f"<{len(times)}q", *times)]
    for column in columns:
        parts += [_LENGTH.pack(len(column or b"")), column or b""]
    return zlib.compress(b"".join(parts))


def unpack_hour(blob: bytes, wanted: Sequence[int]) -> tuple[list[int], list[list]]:
    """(times, the values of the fields at the positions `wanted`, as floats)."""
    data = zlib.decompress(blob)
    n = _COUNT.unpack_from(data)[0]
    times = list(struct.unpack_from(f"<{n}q", data, 4))
    offset, columns = 4 + 8 * n, []
    while offset < len(data):
        length = _LENGTH.unpack_from(data, offset)[0]
        columns.append(data[offset + 4 : offset + 4 + length] or None)
        offset += 4 + length
    places = range(n)
    return times, [values_at([columns[i]] * n, places) for i in wanted]
