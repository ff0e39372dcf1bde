"""What exists and how the feed is doing, as the API shows it: expiries, strikes, the
feed's health, read through the read model (options.read)."""

from api.chain import iso, iso_or_none, strike_text
from options import read
from options.rows import COUNTERS, FeedHealth


async def expiries(exchange: str, base: str) -> dict:
    found = await read.read_expiries(exchange, base)
    return {
        "exchange": exchange,
        "base": base,
        "expiries": [
            {"expiry": e.expiry, "expires_at": iso(e.expires_ms)} for e in found
        ],
    }


async def strikes(exchange: str, base: str, expiry: str | None) -> dict:
    """Strikes of one expiry, or of every expiry of the base when expiry is None."""
    found = await read.read_strikes(exchange, base, expiry)
    return {
        "exchange": exchange,
        "base": base,
        "expiry": expiry,
        "strikes": [strike_text(s) for s in found],
    }


def feed_body(health: FeedHealth) -> dict:
    return {
        "exchange": health.exchange,
        "state": health.state,
        "stale": health.stale,
        **{name: getattr(health, name) for name in COUNTERS},
        "invalid_fields": health.invalid_fields,
        "msgs_per_s": health.msgs_per_s,
        "last_msg_at": iso_or_none(health.last_msg_ts),
        "last_msg_age_ms": health.last_msg_age_ms,
        "heartbeat_at": iso_or_none(health.heartbeat_ts),
        "heartbeat_age_ms": health.heartbeat_age_ms,
        "started_at": iso_or_none(health.started_ts),
        # Several feeds side by side (`--shard`): the fields above are the whole
        # exchange's, each shard's are here.
        "shards": [{"shard": s.shard, **feed_body(s)} for s in health.shards],
    }


async def feeds(exchanges: list[str]) -> list[dict]:
    return [feed_body(await read.read_feed_health(ex)) for ex in exchanges]


async def index_prices(underlyings: list[tuple[int, str, str]]) -> dict[int, str]:
    """{underlying id: index price} for (id, exchange, base) triples; an underlying
    without a price in Redis is left out."""
    by_exchange: dict[str, list[tuple[int, str]]] = {}
    for pk, exchange, base in underlyings:
        by_exchange.setdefault(exchange, []).append((pk, base))
    out: dict[int, str] = {}
    for exchange, items in by_exchange.items():
        prices = await read.read_index_prices(exchange, [base for _, base in items])
        out.update((pk, prices[base]) for pk, base in items if prices[base])
    return out
