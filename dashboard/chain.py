"""What the dashboard shows, read through options.store: shared by views and consumer.

The chain page needs 16 of the store's fields; snapshots read only those (HMGET) and
diffs are narrowed to them, which halves what every socket carries.
"""

import asyncio
import re
import time
import weakref
from collections import OrderedDict
from datetime import date

import orjson
from redis.exceptions import RedisError

from options import store
from options.symbols import SymbolError, parse_symbol

CHAIN_FIELDS = (
    "bid", "bid_size", "bid_iv", "ask", "ask_size", "ask_iv", "mark", "mark_iv",
    "last", "oi", "volume_24h", "delta", "underlying", "index", "ts", "recv_ts",
)  # fmt: skip
# Feed states that mean Redis was unreachable: the feed's own, and ours (_read_status).
REDIS_OUTAGE_STATES = ("redis-down", "redis-unreachable")
STALE_AFTER_MS = 5000  # a feed heartbeat older than this shows the stale badge
STATUS_EVERY_S = 1.0  # the feed writes its status every second
DAY_MS = 86_400_000

_NAME = re.compile(r"^[A-Za-z0-9_]{1,20}$")


def now_ms() -> int:
    return int(time.time() * 1000)


def valid_names(exchange: str, base: str, expiry: str) -> bool:
    """Whether the names could be a chain at all (before asking Redis)."""
    if not (_NAME.match(exchange) and _NAME.match(base)):
        return False
    try:
        date.fromisoformat(expiry)
    except ValueError:
        return False
    return len(expiry) == 10


def narrow(row: dict) -> dict:
    return {f: row[f] for f in CHAIN_FIELDS if f in row}


_fragments: dict[int, tuple[dict, bytes]] = {}
FRAGMENTS_MAX = 5_000  # about 2 s of one busy chain; cleared wholesale past this
_bodies: OrderedDict[int, tuple[dict, bytes]] = OrderedDict()
BODIES_MEMO = 32  # recent events: every socket of a chain sends the same one


def rows_json(rows: dict[str, dict]) -> bytes:
    """`{"symbol": row, ...}` as JSON. The rows a chain socket sends are shared by
    every socket of the chain (fanout.ChainBook.rows_since), so the whole text is kept
    per dict and each row's text per row: callers never change a dict or row after
    passing it here."""
    hit = _bodies.get(id(rows))
    if hit is not None and hit[0] is rows:
        return hit[1]
    parts = []
    for symbol, row in rows.items():
        fragment = _fragments.get(id(row))
        if fragment is None or fragment[0] is not row:
            if len(_fragments) >= FRAGMENTS_MAX:
                _fragments.clear()
            fragment = _fragments[id(row)] = (
                row,
                orjson.dumps(symbol) + b":" + orjson.dumps(row),
            )
        parts.append(fragment[1])
    body = b"{" + b",".join(parts) + b"}"
    _bodies[id(rows)] = (rows, body)
    if len(_bodies) > BODIES_MEMO:
        _bodies.popitem(last=False)
    return body


def side(symbol: str) -> str:
    """ "C" or "P" from the symbol's name; "" for a name we cannot parse."""
    try:
        return parse_symbol(symbol).option_type
    except SymbolError:
        return ""


def health(status: dict, at_ms: int) -> dict:
    """The feed status as the pages show it, with the heartbeat's age."""
    heartbeat = int(float(status.get("heartbeat_ts") or 0))
    age = at_ms - heartbeat if heartbeat else None
    return {
        "state": status.get("state", "absent"),
        "msgs_per_s": status.get("msgs_per_s", "0"),
        "heartbeat_ts": heartbeat or None,
        "age_ms": age,
        "stale": age is None
        or age > STALE_AFTER_MS
        or status.get("state") != "streaming",
    }


def expiry_tabs(expiries: list[tuple[str, int]], at_ms: int) -> list[dict]:
    return [
        {"expiry": day, "expiry_ms": ms, "days": round((ms - at_ms) / DAY_MS, 1)}
        for day, ms in expiries
    ]


async def read_snapshot(client, exchange: str, base: str, expiry: str) -> dict | None:
    """The whole chain as the page starts from it; None when Redis has no such chain."""
    index = await store.a_read_chain_index(client, exchange, base, expiry)
    if not index:
        return None
    symbols = [symbol for symbol, _ in index]
    rows = await store.a_read_ticks(client, exchange, symbols, CHAIN_FIELDS)
    expiries = await store.a_read_expiries(client, exchange, base)
    at = now_ms()
    return {
        "type": "snapshot",
        "exchange": exchange,
        "base": base,
        "expiry": expiry,
        "contracts": [[s, strike, side(s)] for s, strike in index],
        "rows": {s: row for s, row in zip(symbols, rows, strict=True) if row},
        "expiries": expiry_tabs(expiries, at),
    }


# The feed status, read at most once a second per process and exchange whatever the
# number of sockets (ChainConsumer asks every second for each of them).
_status_reads: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


async def feed_status(client, exchange: str) -> dict:
    reads = _status_reads.setdefault(asyncio.get_running_loop(), {})
    started, task = reads.get(exchange, (0.0, None))
    if task is None or time.monotonic() - started >= STATUS_EVERY_S:
        task = asyncio.ensure_future(_read_status(client, exchange))
        reads[exchange] = (time.monotonic(), task)
    return await asyncio.shield(task)


async def _read_status(client, exchange: str) -> dict:
    try:
        return await store.a_read_status(client, exchange)
    except (RedisError, OSError):
        return {"state": "redis-unreachable"}
