"""What exists and how the feed is doing, from Redis: expiries, strikes, feed status,
and the index price of each underlying. Sync reads for the DRF views."""

import time

from api.chain import iso, missing, strike_text
from options import store

HEARTBEAT_STALE_MS = 5_000  # the feed writes its status every second


def expiries(client, exchange: str, base: str) -> dict:
    pairs = store.read_expiries(client, exchange, base)
    if not pairs:
        raise missing(store.read_bases(client, exchange), exchange, base)
    return {
        "exchange": exchange,
        "base": base,
        "expiries": [{"expiry": day, "expires_at": iso(ms)} for day, ms in pairs],
    }


def strikes(client, exchange: str, base: str, expiry: str | None) -> dict:
    """Strikes of one expiry, or of every expiry of the base when expiry is None."""
    days = (
        [expiry]
        if expiry
        else [d for d, _ in store.read_expiries(client, exchange, base)]
    )
    values: set[float] = set()
    for day in days:
        values.update(s for _, s in store.read_chain_index(client, exchange, base, day))
    if not values:
        raise missing(store.read_bases(client, exchange), exchange, base, expiry)
    return {
        "exchange": exchange,
        "base": base,
        "expiry": expiry,
        "strikes": [strike_text(s) for s in sorted(values)],
    }


def feed(client, exchange: str) -> dict:
    raw = store.read_status(client, exchange)
    now = int(time.time() * 1000)

    def integer(name):
        value = raw.get(name)
        return int(float(value)) if value not in (None, "") else None

    def moment(name):
        value = integer(name)
        return (iso(value), now - value) if value else (None, None)

    rate = raw.get("msgs_per_s")
    last_at, last_age = moment("last_msg_ts")
    beat_at, beat_age = moment("heartbeat_ts")
    started_at, _ = moment("started_ts")
    counters = ("connections", "subscribed", "msgs_total", "malformed", "reconnects",
                "rejected_topics", "silent_topics")  # fmt: skip
    return {
        "exchange": exchange,
        "state": raw.get("state"),
        "stale": beat_age is None or beat_age > HEARTBEAT_STALE_MS,
        **{name: integer(name) for name in counters},
        "msgs_per_s": float(rate) if rate else None,
        "last_msg_at": last_at,
        "last_msg_age_ms": last_age,
        "heartbeat_at": beat_at,
        "heartbeat_age_ms": beat_age,
        "started_at": started_at,
    }


def index_prices(client, wanted: dict[int, tuple[str, list[str]]]) -> dict[int, str]:
    """{underlying id: index price} from the first of its symbols that has one.
    `wanted` maps an underlying id to (exchange, a few of its live symbols)."""
    pairs = [(pk, ex, sym) for pk, (ex, syms) in wanted.items() for sym in syms]
    out: dict[int, str] = {}
    for exchange in {ex for _, ex, _ in pairs}:
        mine = [(pk, sym) for pk, ex, sym in pairs if ex == exchange]
        rows = store.read_ticks(client, exchange, [s for _, s in mine], ["index"])
        for (pk, _), row in zip(mine, rows, strict=True):
            if row.get("index"):
                out.setdefault(pk, row["index"])
    return out
