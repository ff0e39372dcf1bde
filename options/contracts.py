"""The symbol universe in Redis: what the feed subscribes, without a database.

Every refresh (Celery, `manage.py refresh_symbols`, `python -m feed
--refresh-minutes`) and every change in the admin writes the active contracts of each
base coin to `ot:contracts:{exchange}:{base}` (options.keys.contracts), and their
count to `ot:contracts:{exchange}`, before telling running feeds on the universe
channel; the feed reads them here. Django-free: the feed core (`python -m feed`)
imports this module.

A contract is one hash field, symbol -> `settle|C or P|strike|expiry ms|tick|status`.
"""

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from options import keys
from options.instruments import Instrument

SEP = "|"


def encode(inst: Instrument) -> str:
    tick = "" if inst.tick_size is None else str(inst.tick_size)
    expiry = str(int(inst.expiry.timestamp() * 1000))
    parts = (inst.settle, inst.option_type, str(inst.strike), expiry, tick, inst.status)
    return SEP.join(parts)


def decode(exchange: str, base: str, rows: Mapping) -> list[Instrument]:
    """Instruments from one base's hash (bytes or str), ordered by expiry, strike,
    type; thousands of rows share a few expiries, strikes and statuses, so each
    distinct value is one object (the feed keeps its universe small)."""
    one: dict = {}
    out = []
    for symbol, row in rows.items():
        settle, kind, strike, expiry, tick, status = _text(row).split(SEP)
        out.append(
            Instrument(
                exchange, _text(symbol), base, one.setdefault(settle, settle),
                one.setdefault(kind, kind),
                one.setdefault(("s", strike), Decimal(strike)),
                one.setdefault(("e", expiry), _expiry(expiry)),
                one.setdefault(("t", tick), Decimal(tick)) if tick else None,
                one.setdefault(status, status),
            )
        )  # fmt: skip
    out.sort(key=lambda i: (i.expiry, i.strike, i.option_type))
    return out


def queue_replace(pipe, exchange: str, by_base: Mapping[str, Iterable[Instrument]]):
    """Queue, for each base, the replacement of its whole hash and its count; the
    caller runs the pipeline as one transaction."""
    for base, instruments in by_base.items():
        key = keys.contracts(exchange, base)
        pipe.delete(key)
        mapping = {i.symbol: encode(i) for i in instruments}
        if mapping:
            pipe.hset(key, mapping=mapping)
        pipe.hset(keys.contract_bases(exchange), base, len(mapping))


def replace(client, exchange: str, by_base: Mapping[str, Iterable[Instrument]]):
    """Replace the universe of these bases in one MULTI/EXEC (sync client)."""
    pipe = client.pipeline(transaction=True)
    queue_replace(pipe, exchange, by_base)
    pipe.execute()


def read(client, exchange: str, bases: Sequence[str]) -> dict[str, list[Instrument]]:
    """The universe of these bases (sync client), by base; [] for an unknown one."""
    pipe = client.pipeline(transaction=False)
    for base in bases:
        pipe.hgetall(keys.contracts(exchange, base))
    replies = pipe.execute()
    return {b: decode(exchange, b, r) for b, r in zip(bases, replies, strict=True)}


async def a_read(client, exchange: str, bases: Sequence[str]) -> dict:
    """The universe of these bases (asyncio client): base -> instruments, or None
    for a base Redis knows nothing of (never written, or Redis lost its data)."""
    pipe = client.pipeline(transaction=False)
    pipe.hmget(keys.contract_bases(exchange), *bases)
    for base in bases:
        pipe.hgetall(keys.contracts(exchange, base))
    counts, *replies = await pipe.execute()
    return {
        base: None if count is None else decode(exchange, base, rows)
        for base, count, rows in zip(bases, counts, replies, strict=True)
    }


def _expiry(ms: str) -> datetime:
    return datetime.fromtimestamp(int(ms) / 1000, UTC)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value
