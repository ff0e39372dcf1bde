"""Option chains and single contracts, as the API shows them.

`chain` and `tick` read through the read model (options.read) and format what it
returns: strikes as plain strings, times as ISO 8601, a contract as its symbol plus
the store's fields. The JSON view, the CSV download and the browsable API all get
their data here.
"""

import csv
import io
from datetime import UTC, datetime
from functools import partial

from api.params import NUMBER, ChainParams
from options import read
from options.fields import FIELDS
from options.history import read_chain_at
from options.rows import Chain, Tick

TIME_FIELDS = ("ts", "recv_ts")
# OWASP's CSV injection rule: a spreadsheet reads a cell starting with one of these
# as a formula, unless the cell is a plain number ("-5", "+1.5e3").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_SECONDS: dict[int, str] = {}  # epoch second -> "YYYY-MM-DDTHH:MM:SS"


def iso(ms: str | int) -> str:
    """Milliseconds since the epoch as ISO 8601 UTC, e.g. 2026-03-27T08:00:00.123Z.
    Cached per second: a chain's contracts mostly share a few seconds."""
    sec, milli = divmod(int(ms), 1000)
    text = _SECONDS.get(sec)
    if text is None:
        if len(_SECONDS) > 10_000:
            _SECONDS.clear()
        text = _SECONDS[sec] = datetime.fromtimestamp(sec, UTC).strftime(
            "%Y-%m-%dT%H:%M:%S"
        )
    return f"{text}.{milli:03d}Z"


def iso_or_none(ms: int | None) -> str | None:
    return None if ms is None else iso(ms)


def strike_text(score: float) -> str:
    """The index's float score back to the listing's plain strike: 70000, 0.4."""
    text = repr(score)
    return text[:-2] if text.endswith(".0") else text


def contract(tick: Tick | None) -> dict | None:
    """One contract object: its symbol and the store's fields, times in ISO 8601."""
    if tick is None:
        return None
    out = {"symbol": tick.symbol, **tick.values}
    for name in TIME_FIELDS:
        value = out.get(name)
        if value:
            out[name] = iso(value)
    return out


def chain_body(chain: Chain) -> dict:
    atm = chain.atm_strike
    return {
        "exchange": chain.exchange,
        "base": chain.base,
        "expiry": chain.expiry,
        "atm_strike": None if atm is None else strike_text(atm),
        "atm_price": chain.price,
        "rows": [
            {
                "strike": strike_text(row.strike),
                "call": contract(row.call),
                "put": contract(row.put),
            }
            for row in chain.rows
        ],
    }


async def chain(exchange: str, base: str, expiry: str, params: ChainParams) -> dict:
    """The live chain, or with `at` the chain as the history sampled it then."""
    reader = read.read_chain
    if params.at is not None:
        reader = partial(read_chain_at, at_ms=params.at)
    found = await reader(
        exchange, base, expiry, strike_min=params.strike_min,
        strike_max=params.strike_max, fields=params.fields,
    )  # fmt: skip
    if params.around_atm is not None:
        found = found.around_atm(params.around_atm)
    return chain_body(found)


def csv_bytes(data: dict, fields: tuple[str, ...] | None) -> bytes:
    """The chain's rows flattened: strike, call_symbol, call_<field>..., put_..."""
    names = ("symbol", *(fields or FIELDS))
    header = ["strike"] + [f"{side}_{n}" for side in ("call", "put") for n in names]
    out = io.StringIO()
    # RFC 4180's CRLF: the writer then also quotes a cell holding a lone CR, which
    # with "\n" it left bare, cutting the row in two for a reader.
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in data["rows"]:
        cells = [row["strike"]]
        for side in ("call", "put"):
            obj = row[side] or {}
            cells.extend(safe_cell(obj.get(n, "")) for n in names)
        writer.writerow(cells)
    return out.getvalue().encode()


def safe_cell(value) -> str:
    """The cell as text, neutralised when a spreadsheet would run it as a formula:
    a leading apostrophe makes it text (OWASP), and the value stays readable."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS) and not NUMBER.fullmatch(text):
        return "'" + text
    return text


async def tick(exchange: str, symbol: str) -> dict:
    found = await read.read_tick(exchange, symbol)
    age = found.age_ms(read.now_ms())
    return {"exchange": exchange, "age_ms": age, **contract(found)}
