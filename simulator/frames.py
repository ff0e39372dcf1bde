"""Wire text of the option stream: ticker frames, acks, pongs, errors, bad frames.

Ticker frames are assembled from pre-serialised pieces with bytes formatting (no
per-frame JSON encoding): the contract's `blob` is its `data` object as JSON already.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterable

import orjson

from .contract import Contract

_FRAME = b'{"id":"%b-%d-%d","topic":"%b","ts":%d,"type":"%b","data":%b}'
_SNAPSHOT = b"snapshot"
_HEADER_16 = struct.Struct(">BBH").pack
_HEADER_64 = struct.Struct(">BBQ").pack


def now_ms() -> int:
    return int(time.time() * 1000)


def ticker_frame(contract: Contract, seq: int, ts: int) -> bytes:
    """The full snapshot push for one contract (also records it as last sent)."""
    topic = contract.topic_b
    contract.last_ts, contract.last_data = ts, contract.data
    return _FRAME % (topic, seq, ts, topic, ts, _SNAPSHOT, contract.blob)


def delta_frame(
    contract: Contract, seq: int, ts: int, changed: dict[str, str]
) -> bytes:
    """A `type:"delta"` push carrying only `changed` (plus the symbol)."""
    topic = contract.topic_b
    contract.last_ts, contract.last_data = ts, contract.data
    data = orjson.dumps({"symbol": contract.symbol, **changed})
    return _FRAME % (topic, seq, ts, topic, ts, b"delta", data)


def text_header(size: int) -> bytes:
    """RFC 6455 header of an unmasked, final text frame (server to client)."""
    if size < 126:
        return bytes((0x81, size))
    if size < 65536:
        return _HEADER_16(0x81, 126, size)
    return _HEADER_64(0x81, 127, size)


def framed(bodies: Iterable[bytes]) -> bytes:
    """Many text frames as one buffer, ready for a single transport write."""
    parts: list[bytes] = []
    append = parts.append
    for body in bodies:
        append(text_header(len(body)))
        append(body)
    return b"".join(parts)


def command_resp(conn_id: str, success: list[str], fail: list[str]) -> bytes:
    """The option endpoint's ack: no req_id, no op, no ret_msg."""
    return orjson.dumps(
        {
            "success": not fail,
            "conn_id": conn_id,
            "data": {"failTopics": fail, "successTopics": success},
            "type": "COMMAND_RESP",
        }
    )


def linear_ack(conn_id: str, req_id: object, op: str) -> bytes:
    return orjson.dumps(
        {
            "success": True,
            "ret_msg": "",
            "conn_id": conn_id,
            "req_id": req_id or "",
            "op": op,
        }
    )


def pong() -> bytes:
    return orjson.dumps({"args": [str(now_ms())], "op": "pong"})


def params_error(conn_id: str, op: object) -> bytes:
    op_text = op if isinstance(op, str) else ""
    return orjson.dumps(
        {"success": False, "ret_msg": "Params Error", "conn_id": conn_id, "op": op_text}
    )


MALFORMED_KINDS = (
    "bad_json",
    "wrong_types",
    "unknown_topic",
    "binary",
    "huge",
    "missing_data",
)
HUGE_BYTES = 1_100_000

# Ticker values a broken or hostile exchange sends in place of a decimal string
# (/sim/bad): each one must be refused by the tracker, field by field.
BAD_VALUES: dict[str, object] = {
    "nan": "NaN",
    "infinity": "Infinity",
    "overflow": "1e999",
    "negative": "-5",
    "empty": "",
    "html": '<img src=x onerror="alert(1)">',
    "formula": '=HYPERLINK("http://127.0.0.1/x","click")',
    "long": "9" * 7000,
    "text": "abc",
    "number": 1205.5,  # a JSON number, not a string
    "null": None,
}


def malformed(kind: str, contract: Contract | None, seq: int) -> str | bytes:
    """One bad frame: `bytes` go out as a binary frame, `str` as a text frame."""
    ts = now_ms()
    symbol = contract.symbol if contract else "BTC-1JAN20-1-C-USDT"
    topic = f"tickers.{symbol}"
    envelope = {
        "id": f"{topic}-{seq}-{ts}",
        "topic": topic,
        "ts": ts,
        "type": "snapshot",
    }
    data = dict(contract.data) if contract else {"symbol": symbol, "markPrice": "1"}
    if kind == "bad_json":
        return orjson.dumps({**envelope, "data": data}).decode()[:-7]
    if kind == "wrong_types":
        numbers = {k: (v if k == "symbol" else _number(v)) for k, v in data.items()}
        return orjson.dumps({**envelope, "ts": str(ts), "data": numbers}).decode()
    if kind == "unknown_topic":
        envelope["topic"] = "tickers.BTC-1JAN20-1-C-USDT"
        envelope["id"] = f"tickers.BTC-1JAN20-1-C-USDT-{seq}-{ts}"
        return orjson.dumps(
            {**envelope, "data": {**data, "symbol": "BTC-1JAN20-1-C-USDT"}}
        ).decode()
    if kind == "binary":
        return orjson.dumps({**envelope, "data": data})
    if kind == "huge":
        return orjson.dumps(
            {**envelope, "data": {**data, "pad": "x" * HUGE_BYTES}}
        ).decode()
    if kind == "missing_data":
        return orjson.dumps(envelope).decode()
    raise ValueError(
        f"unknown kind {kind!r}; choose one of {', '.join(MALFORMED_KINDS)}"
    )


def _number(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text
