"""The per-contract hourly table (ContractHour): each finished hour of a chain's
samples rolled up into one row per contract, so that one contract's day is 24 small
rows (options.history reads them).

The sampler (options.history_write.record) calls `roll_up` after each minute's
insert. Which chain-hours are due comes from the samples written since the last
look (RollUpMark), not from a count over the whole retention: that count cost
289 to 421 ms a minute on a day of 2,100 contracts (bench/history_bench.py).
"""

from collections import defaultdict

from django.db import transaction
from django.db.models import BigIntegerField, Count, ExpressionWrapper, F, Max, Min, Q

from options import history_codec
from options.history_models import (
    HISTORY_FIELDS,
    ChainSample,
    ContractHour,
    RollUpMark,
)

HOUR_MS = 3_600_000
CHAIN = ("exchange", "base", "expiry")


def roll_up(now_ms: int, oldest_ms: int, exchanges=None) -> int:
    """Write the per-contract rows of every finished hour (wholly within the
    retention) that received chain samples since the last look: the hour just
    finished, and an hour a late slot was written into. Returns the chain-hours
    written. Without a mark (the first run), the rolled counts say what is due."""
    first, current = -(-oldest_ms // HOUR_MS) * HOUR_MS, now_ms - now_ms % HOUR_MS
    scope = ",".join(sorted(exchanges or ()))
    samples = ChainSample.objects.all()
    if exchanges:
        samples = samples.filter(exchange__in=exchanges)
    mark = RollUpMark.objects.filter(scope=scope).first()
    if mark is None:
        stale = uncounted_hours(samples, first, current, exchanges)
        mark, looked = RollUpMark(scope=scope, hour_ms=current), None
        mark.sample_id, mark.seen_id = _looked_up_to(samples, current)
    else:
        looked = (mark.sample_id, mark.seen_id, mark.hour_ms)
        stale = new_hours(samples, mark, first, current)
    for chain_hour in sorted(stale):
        roll_chain_hour(*chain_hour)
    if looked != (mark.sample_id, mark.seen_id, mark.hour_ms):
        mark.save()  # a commit: skipped when nothing was written since
    return len(stale)


def new_hours(samples, mark: RollUpMark, first: int, current: int) -> set:
    """The finished chain-hours within [first, current) of the samples after the
    mark's `sample_id` that the last look did not roll up: those it had not seen,
    and those of an hour that was not finished then. Moves the mark: below the
    first sample of the current hour or later, read again until it is finished."""
    new = samples.filter(id__gt=mark.sample_id)
    ids = new.aggregate(pending=Min("id", filter=Q(at_ms__gte=current)), last=Max("id"))
    due = new.filter(at_ms__gte=first, at_ms__lt=current).filter(
        Q(id__gt=mark.seen_id) | Q(at_ms__gte=mark.hour_ms)
    )
    stale = {
        (e, b, x, at - at % HOUR_MS) for e, b, x, at in due.values_list(*CHAIN, "at_ms")
    }
    last = max(ids["last"] or 0, mark.sample_id)
    mark.sample_id = last if ids["pending"] is None else ids["pending"] - 1
    mark.seen_id, mark.hour_ms = max(last, mark.seen_id), current
    return stale


def uncounted_hours(samples, first: int, current: int, exchanges=None) -> set:
    """The finished chain-hours within [first, current) whose samples are not all
    rolled up: each chain-hour's samples counted against its rolled rows' count.
    A scan of the retention: the first run's check, then the mark's."""
    hour = ExpressionWrapper(F("at_ms") / HOUR_MS * HOUR_MS, BigIntegerField())
    samples = samples.filter(at_ms__gte=first, at_ms__lt=current)
    rolled = ContractHour.objects.filter(hour_ms__gte=first, hour_ms__lt=current)
    if exchanges:
        rolled = rolled.filter(exchange__in=exchanges)
    counts = samples.annotate(hour=hour).values(*CHAIN, "hour").annotate(n=Count("id"))
    done = {
        (r["exchange"], r["base"], r["expiry"], r["hour_ms"]): r["n"]
        for r in rolled.values(*CHAIN, "hour_ms").annotate(n=Max("samples"))
    }
    return {
        (c["exchange"], c["base"], c["expiry"], c["hour"])
        for c in counts
        if done.get((c["exchange"], c["base"], c["expiry"], c["hour"])) != c["n"]
    }


def _looked_up_to(samples, current: int) -> tuple[int, int]:
    """The mark after a full look (sample_id, seen_id): below the first sample of
    the current hour or later, else the last sample's id; the last sample's id."""
    last = samples.aggregate(last=Max("id"))["last"] or 0
    pending = samples.filter(at_ms__gte=current).aggregate(first=Min("id"))["first"]
    return (last if pending is None else pending - 1), last


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
