"""Option chains and single contracts from Redis, shaped for the API.

The pure functions (`assemble`, `contract`, `tick_body`, `csv_bytes`) do the shaping;
`chain`/`a_chain` and `tick`/`a_tick` add the reads through options.store, in two
round trips for a chain (the index, then every contract in one pipeline) and one for a
tick. Unknown names cost extra reads only on the way to a 404.
"""

import csv
import io
import time
from datetime import UTC, datetime

from api.errors import ApiError, not_found
from api.params import ChainParams
from options import store
from options.fields import FIELDS

PRICE_FIELDS = ("underlying", "index")  # for the ATM strike: forward, else spot
TIME_FIELDS = ("ts", "recv_ts")
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


def strike_text(score: float) -> str:
    """The index's float score back to the listing's plain strike: 70000, 0.4."""
    text = repr(score)
    return text[:-2] if text.endswith(".0") else text


def option_type(symbol: str) -> str:
    """C or P: the 4th part of BASE-DMMMYY-STRIKE-C|P[-SETTLE] (options.symbols)."""
    return symbol.split("-", 4)[3]


def contract(symbol: str, state: dict, hidden=()) -> dict:
    """One contract object: its symbol and the store's fields, times in ISO 8601."""
    out = {"symbol": symbol, **state}
    for name in TIME_FIELDS:
        value = out.get(name)
        if value:
            out[name] = iso(value)
    for name in hidden:
        out.pop(name, None)
    return out


def select(index: list, params: ChainParams) -> list:
    low, high = params.strike_min, params.strike_max
    if low is None and high is None:
        return index
    return [
        (symbol, strike)
        for symbol, strike in index
        if (low is None or strike >= low) and (high is None or strike <= high)
    ]


def read_fields(params: ChainParams) -> list[str] | None:
    """What to HMGET: the asked fields plus the prices the ATM strike needs."""
    if params.fields is None:
        return None
    return list(dict.fromkeys((*params.fields, *PRICE_FIELDS)))


def assemble(picked: list, states: list[dict], params: ChainParams) -> dict:
    """Rows per strike (call and put side by side) and the ATM strike."""
    hidden = () if params.fields is None else set(PRICE_FIELDS) - set(params.fields)
    rows: list[dict] = []
    strikes: list[float] = []
    price = spot = None
    for (symbol, strike), state in zip(picked, states, strict=True):
        if not strikes or strikes[-1] != strike:
            strikes.append(strike)
            rows.append({"strike": strike_text(strike), "call": None, "put": None})
        price = price or state.get("underlying")
        spot = spot or state.get("index")
        side = "call" if option_type(symbol) == "C" else "put"
        rows[-1][side] = contract(symbol, state, hidden)
    price = price or spot
    atm = None
    if price and strikes:
        value = float(price)
        atm = min(range(len(strikes)), key=lambda i: abs(strikes[i] - value))
    if params.around_atm is not None and atm is not None:
        n = params.around_atm
        rows = rows[max(atm - n, 0) : atm + n + 1]
    return {
        "atm_strike": None if atm is None else strike_text(strikes[atm]),
        "atm_price": price,
        "rows": rows,
    }


def missing(bases: list[str], exchange: str, base: str, expiry=None) -> ApiError:
    """The 404 for an empty read: which of exchange, base or expiry is unknown."""
    if not bases:
        return not_found(f"unknown exchange {exchange!r}", "exchange")
    if base not in bases:
        known = ", ".join(bases)
        return not_found(f"unknown base {base!r} on {exchange}; known: {known}", "base")
    return not_found(f"no expiry {expiry} for {exchange} {base}", "expiry")


def chain(client, exchange: str, base: str, expiry: str, params: ChainParams):
    index = store.read_chain_index(client, exchange, base, expiry)
    if not index:
        raise missing(store.read_bases(client, exchange), exchange, base, expiry)
    picked = select(index, params)
    fields = read_fields(params)
    states = store.read_ticks(client, exchange, [s for s, _ in picked], fields)
    return _head(exchange, base, expiry) | assemble(picked, states, params)


async def a_chain(
    client, exchange: str, base: str, expiry: str, params: ChainParams, bulk=None
):
    """`bulk`: an options.bulkread.BulkReader for the contracts' read, if any."""
    if bulk is not None:
        index = await store.a_bulk_read_chain_index(bulk, exchange, base, expiry)
    else:
        index = await store.a_read_chain_index(client, exchange, base, expiry)
    if not index:
        bases = await store.a_read_bases(client, exchange)
        raise missing(bases, exchange, base, expiry)
    picked = select(index, params)
    fields = read_fields(params)
    symbols = [s for s, _ in picked]
    if bulk is not None:
        states = await store.a_bulk_read_ticks(bulk, exchange, symbols, fields)
    else:
        states = await store.a_read_ticks(client, exchange, symbols, fields)
    return _head(exchange, base, expiry) | assemble(picked, states, params)


def _head(exchange: str, base: str, expiry: str) -> dict:
    return {"exchange": exchange, "base": base, "expiry": expiry}


def csv_bytes(data: dict, fields: tuple[str, ...] | None) -> bytes:
    """The chain's rows flattened: strike, call_symbol, call_<field>..., put_..."""
    names = ("symbol", *(fields or FIELDS))
    header = ["strike"] + [f"{side}_{n}" for side in ("call", "put") for n in names]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in data["rows"]:
        cells = [row["strike"]]
        for side in ("call", "put"):
            obj = row[side] or {}
            cells.extend(obj.get(n, "") for n in names)
        writer.writerow(cells)
    return out.getvalue().encode()


def tick_body(exchange: str, symbol: str, state: dict) -> dict:
    stamp = state.get("recv_ts") or state.get("ts")
    age = int(time.time() * 1000) - int(stamp) if stamp else None
    return {"exchange": exchange, "age_ms": age, **contract(symbol, state)}


def tick(client, exchange: str, symbol: str) -> dict:
    state = store.read_tick(client, exchange, symbol)
    if not state:
        raise _unknown_symbol(store.read_bases(client, exchange), exchange, symbol)
    return tick_body(exchange, symbol, state)


async def a_tick(client, exchange: str, symbol: str) -> dict:
    state = await store.a_read_tick(client, exchange, symbol)
    if not state:
        bases = await store.a_read_bases(client, exchange)
        raise _unknown_symbol(bases, exchange, symbol)
    return tick_body(exchange, symbol, state)


def _unknown_symbol(bases: list[str], exchange: str, symbol: str) -> ApiError:
    if not bases:
        return not_found(f"unknown exchange {exchange!r}", "exchange")
    return not_found(f"no data for symbol {symbol!r} on {exchange}", "symbol")
