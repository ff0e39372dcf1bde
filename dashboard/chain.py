"""What the dashboard shows, read through the read model (options.read) and formatted
for the pages: shared by views and consumer.

The chain page needs 16 of the store's fields; snapshots read only those (HMGET) and
diffs are narrowed to them, which halves what every socket carries.
"""

import re
from collections import OrderedDict
from datetime import date

import orjson
from redis.exceptions import RedisError

from dashboard.latest import latest
from options import read
from options.rows import Expiry, FeedHealth, feed_health

CHAIN_FIELDS = (
    "bid", "bid_size", "bid_iv", "ask", "ask_size", "ask_iv", "mark", "mark_iv",
    "last", "oi", "volume_24h", "delta", "underlying", "index", "ts", "recv_ts",
)  # fmt: skip
# Feed states that mean Redis was unreachable: the feed's own, and ours (_read_status).
REDIS_OUTAGE_STATES = ("redis-down", "redis-unreachable")
STATUS_EVERY_S = 1.0  # the feed writes its status every second
DAY_MS = 86_400_000

_NAME = re.compile(r"^[A-Za-z0-9_]{1,20}$")


now_ms = read.now_ms


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
FRAGMENTS_MAX = 1_000  # about 0.5 s of one busy chain; cleared wholesale past this
_bodies: OrderedDict[int, tuple[dict, bytes]] = OrderedDict()
BODIES_MEMO = 8  # recent events: every socket of a chain sends the same one


def forget_rows() -> None:
    """Drop the JSON kept for rows_json: fanout.leave calls it once the process has no
    chain socket left, when nothing kept can be sent again (up to FRAGMENTS_MAX rows,
    several MB, which otherwise stayed until the next viewers filled the memo)."""
    _fragments.clear()
    _bodies.clear()


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


def health(found: FeedHealth) -> dict:
    """The feed's health as the pages show it (options.rows.is_stale says stale)."""
    rate = found.msgs_per_s
    return {
        "state": found.state or "absent",
        "msgs_per_s": "0" if rate is None else str(rate),
        "heartbeat_ts": found.heartbeat_ts,
        "age_ms": found.heartbeat_age_ms,
        "stale": found.stale,
        # Feeds side by side (`--shard`): the badge names each one.
        "shards": [
            {"shard": s.shard, **{k: v for k, v in health(s).items() if k != "shards"}}
            for s in found.shards
        ],
    }


def expiry_tabs(expiries: list[Expiry], at_ms: int) -> list[dict]:
    return [
        {
            "expiry": e.expiry,
            "expiry_ms": e.expires_ms,
            "days": round((e.expires_ms - at_ms) / DAY_MS, 1),
        }
        for e in expiries
    ]


async def read_snapshot(exchange: str, base: str, expiry: str) -> dict | None:
    """The whole chain as the page starts from it; None when Redis has no such chain."""
    try:
        chain = await read.read_chain(exchange, base, expiry, fields=CHAIN_FIELDS)
        expiries = await read.read_expiries(exchange, base)
    except read.NotFound:
        return None
    ticks = chain.ticks()
    return {
        "type": "snapshot",
        "exchange": exchange,
        "base": base,
        "expiry": expiry,
        "contracts": [[t.symbol, t.strike, t.option_type] for t in ticks],
        "rows": {t.symbol: t.values for t in ticks if t.values},
        "expiries": expiry_tabs(expiries, now_ms()),
    }


async def feed_status(exchange: str) -> FeedHealth:
    """The feed's status, read at most once a second per process and exchange
    whatever the number of sockets (dashboard.latest): a message never waits for it."""
    return await latest(
        ("status", exchange), STATUS_EVERY_S, lambda: _read_status(exchange)
    )


async def _read_status(exchange: str) -> FeedHealth:
    try:
        return await read.read_feed_health(exchange)
    except (RedisError, OSError):
        return feed_health(exchange, {"state": "redis-unreachable"}, now_ms())
