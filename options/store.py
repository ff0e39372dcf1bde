"""The Redis store: the one module that knows the key schema (docs/redis-schema.md).

The schema is a public contract: the minimal deployment (the feed plus Redis) has no
other interface. Writers are async (the feed); readers come in sync and async forms
for the API and the dashboard.
"""
from collections.abc import Iterable, Mapping
from datetime import datetime

from options.instruments import Instrument

PREFIX = "ot"


def tick_key(exchange: str, symbol: str) -> str:
    """Hash: latest state of one contract, fields as in options.fields.FIELDS."""
    return f"{PREFIX}:tick:{exchange}:{symbol}"


def chain_key(exchange: str, base: str, expiry: str) -> str:
    """Sorted set: the symbols of one expiry (YYYY-MM-DD), scored by strike."""
    return f"{PREFIX}:chain:{exchange}:{base}:{expiry}"


def expiries_key(exchange: str, base: str) -> str:
    """Sorted set: the expiry dates (YYYY-MM-DD) of one base, scored by expiry ms."""
    return f"{PREFIX}:expiries:{exchange}:{base}"


def bases_key(exchange: str) -> str:
    """Set: the base coins that have a chain index."""
    return f"{PREFIX}:bases:{exchange}"


def feed_key(exchange: str) -> str:
    """Hash: the feed's status (see FEED_STATUS_FIELDS)."""
    return f"{PREFIX}:feed:{exchange}"


FEED_STATUS_FIELDS = (
    "state", "connections", "subscribed", "msgs_total", "msgs_per_s", "malformed",
    "reconnects", "last_msg_ts", "heartbeat_ts", "started_ts", "pid",
)  # fmt: skip


def expiry_ms(expiry: datetime) -> int:
    return int(expiry.timestamp() * 1000)


def queue_index(pipe, instruments: Iterable[Instrument]) -> None:
    """Queue the chain and expiry index entries of these instruments on a pipeline."""
    chains: dict[str, dict[str, float]] = {}
    expiries: dict[str, dict[str, int]] = {}
    bases: dict[str, set[str]] = {}
    for inst in instruments:
        key = chain_key(inst.exchange, inst.base, inst.expiry_key)
        chains.setdefault(key, {})[inst.symbol] = float(inst.strike)
        exp_key = expiries_key(inst.exchange, inst.base)
        expiries.setdefault(exp_key, {})[inst.expiry_key] = expiry_ms(inst.expiry)
        bases.setdefault(bases_key(inst.exchange), set()).add(inst.base)
    for key, members in chains.items():
        pipe.zadd(key, members)
    for key, members in expiries.items():
        pipe.zadd(key, members)
    for key, members in bases.items():
        pipe.sadd(key, *members)


def queue_ticks(
    pipe, exchange: str, changes: Mapping[str, Mapping[str, str]]
) -> None:
    """Queue one HSET per contract with only the fields that changed."""
    for symbol, fields in changes.items():
        if fields:
            pipe.hset(tick_key(exchange, symbol), mapping=fields)


def queue_status(pipe, exchange: str, status: Mapping[str, object]) -> None:
    pipe.hset(feed_key(exchange), mapping=status)


# Readers ------------------------------------------------------------------------


def _text(mapping: Mapping) -> dict[str, str]:
    return {
        (k.decode() if isinstance(k, bytes) else k): (
            v.decode() if isinstance(v, bytes) else v
        )
        for k, v in mapping.items()
    }


def read_tick(client, exchange: str, symbol: str) -> dict[str, str]:
    """The latest state of one contract ({} when Redis has none). Sync client."""
    return _text(client.hgetall(tick_key(exchange, symbol)))


def read_status(client, exchange: str) -> dict[str, str]:
    return _text(client.hgetall(feed_key(exchange)))
