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
from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.db.models import BigIntegerField, Count, ExpressionWrapper, F, Max

from options import clients, history_codec, read
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
    chains = asyncio.run(read_every_chain(exchanges))
    read_s = time.perf_counter() - started
    slot = slot_of(now_ms, interval_s)
    trimmed = trim(now_ms - retention_s * 1000)
    with transaction.atomic():
        rows = [sample_of(chain, slot) for chain in chains if chain.rows]
        ChainSample.objects.bulk_create(rows, ignore_conflicts=True)
    hours = roll_up(now_ms, now_ms - retention_s * 1000, exchanges)
    contracts = sum(len(chain.ticks()) for chain in chains)
    write_s = time.perf_counter() - started - read_s
    return (
        f"{len(rows)} chains, {contracts} contracts at {slot}; trimmed {trimmed}; "
        f"{hours} chain-hours rolled up; "
        f"read {read_s * 1000:.0f} ms, written {write_s * 1000:.0f} ms"
    )


async def read_every_chain(exchanges=None) -> list[Chain]:
    """Every chain of every base of the exchanges (all when None), with the
    history's fields."""
    try:
        chains = []
        for exchange in exchanges or await read.read_exchanges():
            for base in await read.read_bases(exchange):
                chains.extend(await _chains_of(exchange, base))
        return chains
    finally:
        await _close_loop_clients()


async def _chains_of(exchange: str, base: str) -> list[Chain]:
    try:
        expiries = await read.read_expiries(exchange, base)
    except read.NotFound:  # the base went between two reads
        return []
    found = await asyncio.gather(*(_chain(exchange, base, e.expiry) for e in expiries))
    return [chain for chain in found if chain is not None]


async def _chain(exchange: str, base: str, expiry: str) -> Chain | None:
    try:
        return await read.read_chain(exchange, base, expiry, fields=HISTORY_FIELDS)
    except read.NotFound:  # the expiry rolled off between two reads
        return None


async def _close_loop_clients() -> None:
    """asyncio.run closes the loop afterwards: its clients go with it."""
    await clients.async_client().aclose()
    bulk = clients.bulk_reader()
    if bulk is not None:
        await bulk.close()


def sample_of(chain: Chain, slot_ms: int) -> ChainSample:
    """One row: the chain's contracts (their universe) and a packed column per field."""
    ticks = chain.ticks()
    columns = {
        field: history_codec.pack([t.values.get(field) for t in ticks])
        for field in HISTORY_FIELDS
    }
    return ChainSample(
        exchange=chain.exchange,
        base=chain.base,
        expiry=chain.expiry,
        at_ms=slot_ms,
        universe=universe_of((t.symbol, t.strike) for t in ticks),
        **columns,
    )


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


# The per-contract table ------------------------------------------------------------

HOUR_MS = 3_600_000
CHAIN = ("exchange", "base", "expiry")


def roll_up(now_ms: int, oldest_ms: int, exchanges=None) -> int:
    """Write the per-contract rows of every finished hour (wholly within the
    retention) whose chain samples are not all rolled up yet: the hour just finished,
    and an hour a late slot was written into since. Returns the chain-hours written."""
    first, current = -(-oldest_ms // HOUR_MS) * HOUR_MS, now_ms - now_ms % HOUR_MS
    hour = ExpressionWrapper(F("at_ms") / HOUR_MS * HOUR_MS, BigIntegerField())
    samples = ChainSample.objects.filter(at_ms__gte=first, at_ms__lt=current)
    rolled = ContractHour.objects.filter(hour_ms__gte=first, hour_ms__lt=current)
    if exchanges:
        samples = samples.filter(exchange__in=exchanges)
        rolled = rolled.filter(exchange__in=exchanges)
    counts = samples.annotate(hour=hour).values(*CHAIN, "hour").annotate(n=Count("id"))
    done = {
        (r["exchange"], r["base"], r["expiry"], r["hour_ms"]): r["n"]
        for r in rolled.values(*CHAIN, "hour_ms").annotate(n=Max("samples"))
    }
    stale = [
        (c["exchange"], c["base"], c["expiry"], c["hour"])
        for c in counts
        if done.get((c["exchange"], c["base"], c["expiry"], c["hour"])) != c["n"]
    ]
    for chain_hour in stale:
        roll_chain_hour(*chain_hour)
    return len(stale)


def roll_chain_hour(exchange: str, base: str, expiry: str, hour_ms: int) -> None:
    """Replace one chain's rows of one hour: a row per contract it listed then."""
    chain = {"exchange": exchange, "base": base, "expiry": expiry}
    rows = (
        ChainSample.objects.filter(**chain, at_ms__gte=hour_ms)
        .filter(at_ms__lt=hour_ms + HOUR_MS)
        .select_related("universe")
        .order_by("at_ms")
    )
    times = defaultdict(list)
    values = defaultdict(lambda: [[] for _ in HISTORY_FIELDS])
    count, universes = 0, {}
    for row in rows:
        count += 1
        if row.universe_id not in universes:
            universes[row.universe_id] = row.universe.entries()
        entries = universes[row.universe_id]
        columns = [history_codec.unpack(getattr(row, f), len(entries))
                   for f in HISTORY_FIELDS]  # fmt: skip
        for i, (symbol, _) in enumerate(entries):
            times[symbol].append(row.at_ms)
            for field, column in zip(values[symbol], columns, strict=True):
                field.append(column[i])
    hours = [
        ContractHour(**chain, symbol=symbol, hour_ms=hour_ms, samples=count,
                     data=history_codec.pack_hour(
                         times[symbol], [history_codec.pack(v) for v in fields]))
        for symbol, fields in values.items()
    ]  # fmt: skip
    with transaction.atomic():
        ContractHour.objects.filter(**chain, hour_ms=hour_ms).delete()
        ContractHour.objects.bulk_create(hours)
