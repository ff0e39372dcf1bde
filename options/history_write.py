"""The history's write side: every chain's latest state, read through the read model
(options.read), written as one database row per chain and sampling slot; and the
trimming of what is older than the retention.

The Celery task feed.tasks.sample_history runs `record` every HISTORY_INTERVAL
seconds. It reads Redis and writes the database from the worker: the feed's hot path
never waits on either.
"""

import asyncio
import hashlib
import time
from collections.abc import Callable, Iterable
from typing import NamedTuple

from django.db import transaction

from options import clients, history_codec, read
from options.history_hours import HOUR_MS, roll_up
from options.history_models import (
    HISTORY_FIELDS,
    ChainSample,
    ContractHour,
    SampleUniverse,
)
from options.rows import Chain


def slot_of(at_ms: int, interval_s: int) -> int:
    """The start of the sampling slot that holds a time (ms)."""
    return at_ms - at_ms % (interval_s * 1000)


def record(
    interval_s: int, retention_s: int, now_ms: int | None = None, exchanges=None
) -> str:
    """Sample every chain of the exchanges (all in Redis when None) into the slot of
    `now_ms`, trim, and roll the finished hours up. A slot already sampled keeps its
    first sample. Returns a one-line summary."""
    now_ms = read.now_ms() if now_ms is None else now_ms
    started = time.perf_counter()
    read_all = read_every_chain(exchanges, each=_pack_with_rows)
    packed = [chain for chain in asyncio.run(read_all) if chain is not None]
    read_s = time.perf_counter() - started
    slot = slot_of(now_ms, interval_s)
    trimmed = trim(now_ms - retention_s * 1000)
    with transaction.atomic():
        rows = [sample_from(chain, slot) for chain in packed]
        ChainSample.objects.bulk_create(rows, ignore_conflicts=True)
    hours = roll_up(now_ms, now_ms - retention_s * 1000, exchanges)
    contracts = sum(len(chain.contracts) for chain in packed)
    write_s = time.perf_counter() - started - read_s
    return (
        f"{len(rows)} chains, {contracts} contracts at {slot}; trimmed {trimmed}; "
        f"{hours} chain-hours rolled up; "
        f"read {read_s * 1000:.0f} ms, written {write_s * 1000:.0f} ms"
    )


async def read_every_chain(
    exchanges=None, each: Callable = lambda chain: chain
) -> list:
    """Every chain of every base of the exchanges (all when None), with the
    history's fields, passed through `each` as soon as it is read. One chain at a
    time: `record` packs each one (`pack`), so the worker holds one chain's rows at
    most, not every contract's (its resident memory keeps the peak)."""
    try:
        found = []
        for exchange in exchanges or await read.read_exchanges():
            for base in await read.read_bases(exchange):
                for expiry in await _expiries(exchange, base):
                    chain = await _chain(exchange, base, expiry)
                    if chain is not None:
                        found.append(each(chain))
        return found
    finally:
        await _close_loop_clients()


async def _expiries(exchange: str, base: str) -> list[str]:
    try:
        return [e.expiry for e in await read.read_expiries(exchange, base)]
    except read.NotFound:  # the base went between two reads
        return []


async def _chain(exchange: str, base: str, expiry: str) -> Chain | None:
    try:
        # Every contract has changed since the last sample: nothing to remember.
        return await read.read_chain(
            exchange, base, expiry, fields=HISTORY_FIELDS, remember=False
        )
    except read.NotFound:  # the expiry rolled off between two reads
        return None


async def _close_loop_clients() -> None:
    """asyncio.run closes the loop afterwards: its clients go with it."""
    await clients.async_client().aclose()
    bulk = clients.bulk_reader()
    if bulk is not None:
        await bulk.close()


class Packed(NamedTuple):
    """A chain's sample before it meets the database: its contracts and a packed
    column per field."""

    exchange: str
    base: str
    expiry: str
    contracts: tuple[tuple[str, float], ...]  # (symbol, strike)
    columns: dict[str, bytes]


def pack(chain: Chain) -> Packed:
    ticks = chain.ticks()
    columns = {
        field: history_codec.pack([t.values.get(field) for t in ticks])
        for field in HISTORY_FIELDS
    }
    contracts = tuple((t.symbol, t.strike) for t in ticks)
    return Packed(chain.exchange, chain.base, chain.expiry, contracts, columns)


def _pack_with_rows(chain: Chain) -> Packed | None:
    return pack(chain) if chain.rows else None


def sample_from(packed: Packed, slot_ms: int) -> ChainSample:
    """One row: the chain's contracts (their universe) and a packed column per field."""
    return ChainSample(
        exchange=packed.exchange,
        base=packed.base,
        expiry=packed.expiry,
        at_ms=slot_ms,
        universe=universe_of(packed.contracts),
        **packed.columns,
    )


def sample_of(chain: Chain, slot_ms: int) -> ChainSample:
    return sample_from(pack(chain), slot_ms)


def universe_of(entries: Iterable[tuple[str, float]]) -> SampleUniverse:
    """The stored universe listing exactly these contracts, created when new."""
    contracts = "\n".join(f"{symbol} {strike!r}" for symbol, strike in entries)
    digest = hashlib.sha1(contracts.encode()).hexdigest()
    universe, _ = SampleUniverse.objects.get_or_create(
        digest=digest, defaults={"contracts": contracts}
    )
    return universe


def trim(cutoff_ms: int) -> int:
    """Delete the samples older than the cutoff, the hours wholly older, then the
    universes no sample uses; returns how many samples went."""
    ContractHour.objects.filter(hour_ms__lte=cutoff_ms - HOUR_MS).delete()
    deleted, _ = ChainSample.objects.filter(at_ms__lt=cutoff_ms).delete()
    if deleted:
        SampleUniverse.objects.filter(chainsample__isnull=True).delete()
    return deleted
