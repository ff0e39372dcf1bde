"""The analytics' minute samples: written by the Celery beat task (options.tasks)
once a HISTORY_INTERVAL while HISTORY_ENABLED, trimmed to HISTORY_RETENTION at every
run, read by the API and the term-structure page.

A row per underlying per minute in the database (options.analytics_models): three
underlyings make 4,320 small rows a day; the feed never waits on it.
"""

import asyncio
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone

from options import read
from options.analytics_models import AnalyticsSample
from options.analytics_read import UnderlyingAnalytics, read_analytics


def retention() -> timedelta:
    return timedelta(seconds=settings.HISTORY_RETENTION)


# Writing ---------------------------------------------------------------------------


def sample_row(found: UnderlyingAnalytics, at: datetime) -> AnalyticsSample:
    cm = found.constant_maturity()
    return AnalyticsSample(
        exchange=found.exchange,
        base=found.base,
        at=at,
        cm_7=cm["7"],
        cm_30=cm["30"],
        cm_60=cm["60"],
        cm_90=cm["90"],
        expiries=[
            {"expiry": e.expiry, "rr25": f.rr25, "bf25": f.bf25}
            for e, f in found.expiries
        ],
    )


async def collect() -> list[UnderlyingAnalytics]:
    """The analytics of every underlying that has chains in Redis."""
    found = []
    for exchange in await read.read_exchanges():
        for base in await read.read_bases(exchange):
            try:
                found.append(await read_analytics(exchange, base))
            except read.NotFound:
                continue  # its index went between the two reads
    return found


def record(at: datetime | None = None) -> int:
    """One sample of every underlying, at `at` (now); how many were written."""
    at = at or timezone.now()
    rows = [sample_row(found, at) for found in asyncio.run(collect())]
    AnalyticsSample.objects.bulk_create(rows)
    return len(rows)


def trim(now: datetime | None = None) -> int:
    """Delete the samples older than HISTORY_RETENTION; how many went."""
    cutoff = (now or timezone.now()) - retention()
    deleted, _ = AnalyticsSample.objects.filter(at__lt=cutoff).delete()
    return deleted


# Reading ---------------------------------------------------------------------------


def parse_time(raw: str) -> datetime:
    """An ISO 8601 time (UTC when it names no zone); ValueError otherwise."""
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{raw!r} is not an ISO 8601 time") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def window(since: datetime | None, until: datetime | None) -> tuple[datetime, ...]:
    """(since, until): until defaults to now, since to until minus the retention;
    ValueError when since is after until."""
    until = until or timezone.now()
    since = since or until - retention()
    if since > until:
        raise ValueError("since is after until")
    return since, until


def sample_body(row: AnalyticsSample) -> dict:
    return {
        "at": row.at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "constant_maturity": {
            "7": row.cm_7, "30": row.cm_30, "60": row.cm_60, "90": row.cm_90,
        },
        "expiries": row.expiries,
    }  # fmt: skip


async def read_samples(
    exchange: str, base: str, since: datetime, until: datetime
) -> dict:
    """The samples of one underlying from since to until (inclusive), oldest first."""
    rows = AnalyticsSample.objects.filter(
        exchange=exchange, base=base, at__gte=since, at__lte=until
    ).order_by("at")
    return {
        "exchange": exchange,
        "base": base,
        "interval_s": settings.HISTORY_INTERVAL,
        "enabled": settings.HISTORY_ENABLED,
        "samples": [sample_body(row) async for row in rows],
    }
