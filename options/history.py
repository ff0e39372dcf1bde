"""The history's read side: a chain as it was at a past time, and one contract's
samples over a range. Async like the rest of the read model (options.read), and
returning its types: a past chain is the same `Chain` as a live one, its values the
exchange's decimals (options.history_codec keeps them exact).

Layout, retention and measured cost: docs/history.md. The sampler is
options.history_write.
"""

from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import close_old_connections, connection

from options import history_codec, read
from options.history_models import (
    HISTORY_FIELDS,
    ChainSample,
    ContractHour,
    SampleUniverse,
)
from options.read import NotFound
from options.rows import PRICE_FIELDS, Chain
from options.symbols import SymbolError, parse_symbol

CHUNK = 120  # rows decoded at a time: the memory a read holds stays small
HOUR_MS = 3_600_000
# A slot the sampler missed is filled by the sample before it, up to this many slots.
SLOTS_BACK = 2


@dataclass(frozen=True, slots=True)
class History:
    """One contract's samples, oldest first: `times` (slot starts, ms) and, for each
    field asked for, the values at those times (None where absent)."""

    exchange: str
    symbol: str
    fields: tuple[str, ...]
    times: list[int]
    values: dict[str, list[float | None]]


def window(now_ms: int | None = None) -> tuple[int, int]:
    """The times (ms) the history covers now: the retention up to now."""
    now_ms = read.now_ms() if now_ms is None else now_ms
    return now_ms - settings.HISTORY_RETENTION * 1000, now_ms


async def read_span(exchange: str, base: str, expiry: str) -> tuple[int, int] | None:
    """The oldest and newest sample times (ms) of a chain within the retention."""
    oldest, _ = window()
    samples = ChainSample.objects.filter(
        exchange=exchange, base=base, expiry=expiry, at_ms__gte=oldest
    ).values_list("at_ms", flat=True)
    first = await samples.order_by("at_ms").afirst()
    if first is None:
        return None
    return first, await samples.order_by("-at_ms").afirst()


async def read_chain_at(
    exchange: str,
    base: str,
    expiry: str,
    at_ms: int,
    *,
    strike_min: float | None = None,
    strike_max: float | None = None,
    fields=None,
) -> Chain:
    """The chain as sampled in the slot that holds `at_ms` (else up to SLOTS_BACK
    slots before); NotFound("at") outside the retention or without a sample."""
    wanted = HISTORY_FIELDS
    if fields is not None:  # and the prices the ATM row is found from
        wanted = [f for f in HISTORY_FIELDS if f in {*fields, *PRICE_FIELDS}]
    sample = await sync_to_async(_sample_at)(exchange, base, expiry, at_ms, wanted)
    entries = _entries(sample.universe)
    n = len(entries)
    columns = {f: history_codec.unpack(getattr(sample, f), n) for f in wanted}
    states = [
        {f: col[i] for f, col in columns.items() if col[i] is not None}
        for i in range(n)
    ]
    if strike_min is not None or strike_max is not None:
        kept = {s for s, _ in read.within(entries, strike_min, strike_max)}
        pairs = [(e, s) for e, s in zip(entries, states, strict=True) if e[0] in kept]
        entries, states = [e for e, _ in pairs], [s for _, s in pairs]
    return read.chain_of((exchange, base, expiry), entries, states, fields)


def _sample_at(exchange, base, expiry, at_ms: int, fields) -> ChainSample:
    oldest, newest = window()
    if not oldest <= at_ms <= newest:
        raise NotFound("at", "at: outside the history kept (the last "
                       f"{settings.HISTORY_RETENTION} s up to now)")  # fmt: skip
    interval_ms = settings.HISTORY_INTERVAL * 1000
    close_old_connections()
    sample = (
        ChainSample.objects.filter(
            exchange=exchange,
            base=base,
            expiry=expiry,
            at_ms__lte=at_ms,
            at_ms__gt=at_ms - (SLOTS_BACK + 1) * interval_ms,
        )
        .select_related("universe")
        .only("universe__digest", "universe__contracts", *fields)
        .order_by("-at_ms")
        .first()
    )
    if sample is None:
        raise NotFound("at", f"at: no sample of {exchange} {base} {expiry} then")
    return sample


# Parsed universes by digest: the digest is the hash of the contracts' text, so an
# entry never goes out of date.
_ENTRIES: dict[str, list[tuple[str, float]]] = {}
_POSITIONS: dict[str, dict[str, int]] = {}
UNIVERSES_KEPT = 512


def _entries(universe: SampleUniverse) -> list[tuple[str, float]]:
    if universe.digest not in _ENTRIES:
        if len(_ENTRIES) >= UNIVERSES_KEPT:
            _ENTRIES.clear()
        _ENTRIES[universe.digest] = universe.entries()
    return _ENTRIES[universe.digest]


def _positions(digests: set[str]) -> dict[str, dict[str, int]]:
    """Each universe's symbol -> position, loading those not seen before."""
    missing = digests - _POSITIONS.keys()
    if len(_POSITIONS) + len(missing) > UNIVERSES_KEPT:
        _POSITIONS.clear()
        missing = digests
    for universe in SampleUniverse.objects.filter(digest__in=missing):
        entries = _entries(universe)
        _POSITIONS[universe.digest] = {s: i for i, (s, _) in enumerate(entries)}
    return {d: _POSITIONS[d] for d in digests}


async def read_history(
    exchange: str,
    symbol: str,
    since_ms: int,
    until_ms: int,
    fields=HISTORY_FIELDS,
    step_s: int | None = None,
) -> History:
    """One contract's samples from since to until (ms, inclusive), each field a
    list; with `step_s`, only the last sample of each step (a candle's close).
    NotFound("symbol") when no sample within the retention lists the symbol."""
    return await sync_to_async(_history)(
        exchange, symbol, since_ms, until_ms, tuple(fields), step_s
    )


def _history(exchange, symbol, since_ms, until_ms, fields, step_s) -> History:
    try:
        parsed = parse_symbol(symbol)
    except SymbolError:
        raise NotFound("symbol", f"no history for symbol {symbol!r}") from None
    chain = {"exchange": exchange, "base": parsed.base,
             "expiry": parsed.expiry_date.isoformat()}  # fmt: skip
    close_old_connections()
    rolled = _rolled_hours(chain, since_ms, until_ms)
    samples = ChainSample.objects.filter(
        **chain, at_ms__gte=since_ms, at_ms__lte=until_ms
    ).order_by("at_ms")
    # A step no longer than a slot keeps every sample. Else the slots to keep come
    # from the index alone (every slot of the chain, rolled up or not), then only
    # their samples are read.
    kept = None
    if step_s and step_s > settings.HISTORY_INTERVAL:
        stamps = samples.values_list("at_ms", flat=True)
        kept = [t for (t,) in _last_per_step(((t,) for t in stamps), step_s)]
        samples = samples.filter(at_ms__in=kept)
    for start, end in _runs(rolled):  # those hours come from the per-contract rows
        samples = samples.exclude(at_ms__gte=start, at_ms__lt=end)
    times, values = _from_chains(samples, symbol, fields)
    if rolled:
        hours = _from_hours(chain, symbol, rolled, since_ms, until_ms, fields)
        if kept is not None:
            kept = set(kept)
            hours = [row for row in hours if row[0] in kept]
        times, values = _merged(hours, times, values, fields)
    if not times and not _ever_listed(chain, symbol):
        raise NotFound("symbol", f"no history for symbol {symbol!r} on {exchange}")
    return History(exchange, symbol, fields, times, values)


def _from_chains(samples, symbol, fields) -> tuple[list, dict]:
    """The contract's times and values out of its chain's rows."""
    times, values = [], {field: [] for field in fields}
    for chunk in _chunks(samples.values_list("at_ms", "universe__digest", *fields)):
        positions = _positions({row[1] for row in chunk})
        found = [(row, positions[row[1]].get(symbol)) for row in chunk]
        found = [(row, position) for row, position in found if position is not None]
        times.extend(row[0] for row, _ in found)
        places = [position for _, position in found]
        for i, field in enumerate(fields, start=2):
            column = [row[i] for row, _ in found]
            values[field].extend(history_codec.values_at(column, places))
    return times, values


def _rolled_hours(chain: dict, since_ms: int, until_ms: int) -> list[int]:
    """The chain's hours in the range that the per-contract table holds."""
    hours = ContractHour.objects.filter(
        **chain, hour_ms__gt=since_ms - HOUR_MS, hour_ms__lte=until_ms
    )
    return sorted(hours.values_list("hour_ms", flat=True).distinct())


def _runs(hours: list[int]):
    """Consecutive hours as (start, end) spans, in ms."""
    start = None
    for k, hour in enumerate(hours):
        start = hour if start is None else start
        if k + 1 == len(hours) or hours[k + 1] != hour + HOUR_MS:
            yield start, hour + HOUR_MS
            start = None


def _from_hours(chain, symbol, hours, since_ms, until_ms, fields) -> list[tuple]:
    """(time, values...) of the contract's rolled-up samples in the range; none
    older than its chain's oldest sample (the trim drops an hour only once wholly
    past the retention: what the chain rows no longer hold is gone)."""
    oldest = (
        ChainSample.objects.filter(**chain)
        .order_by("at_ms")
        .values_list("at_ms", flat=True)
        .first()
    )
    if oldest is None:
        return []
    since_ms = max(since_ms, oldest)
    wanted = [HISTORY_FIELDS.index(field) for field in fields]
    blobs = ContractHour.objects.filter(
        exchange=chain["exchange"], symbol=symbol, hour_ms__in=hours
    ).values_list("data", flat=True)
    found = []
    for blob in blobs:
        times, columns = history_codec.unpack_hour(bytes(blob), wanted)
        found += [
            (t, *(column[k] for column in columns))
            for k, t in enumerate(times)
            if since_ms <= t <= until_ms
        ]
    return found


def _merged(hours, times, values, fields):
    """The rolled-up samples and the chain rows' in time order."""
    rows = hours + [
        (t, *(values[field][k] for field in fields)) for k, t in enumerate(times)
    ]
    rows.sort(key=lambda row: row[0])
    merged = {field: [row[i] for row in rows] for i, field in enumerate(fields, 1)}
    return [row[0] for row in rows], merged


def _chunks(rows):
    """The query's rows, CHUNK at a time (a day of a wide chain is 20 MB), through
    the database cursor: the ORM's per-row work cost 8 x the query itself."""
    try:
        sql, params = rows.query.sql_with_params()
    except EmptyResultSet:  # a filter no row can match (e.g. `__in` an empty list)
        return
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(CHUNK):
            yield chunk


def _last_per_step(rows, step_s: int | None):
    """Rows in time order; with a step, only the last row of each step."""
    if not step_s:
        yield from rows
        return
    step_ms, held = step_s * 1000, None
    for row in rows:
        if held is not None and row[0] // step_ms != held[0] // step_ms:
            yield held
        held = row
    if held is not None:
        yield held


def _ever_listed(chain: dict, symbol: str) -> bool:
    oldest, _ = window()
    return SampleUniverse.objects.filter(
        chainsample__in=ChainSample.objects.filter(**chain, at_ms__gte=oldest),
        contracts__contains=f"{symbol} ",
    ).exists()
