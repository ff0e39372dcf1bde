"""Refresh the symbol universe: fetch each enabled base coin's listing and sync it.

A base coin whose listing cannot be read keeps its contracts exactly as they are (a
failed fetch says nothing about what is listed); the others proceed.
"""

import logging
from collections.abc import Callable, Iterable
from typing import Protocol

from django.conf import settings

from options.instruments import Instrument
from options.models import Underlying
from options.universe import SyncReport, sync_listing

log = logging.getLogger(__name__)


class Listing(Protocol):
    def fetch(self, base_coin: str) -> list[Instrument]: ...

    def close(self) -> None: ...

    def base_coin_exists(self, base_coin: str) -> bool: ...


def _bybit_listing(**options) -> Listing:
    from feed.exchanges.bybit.listing import BybitListing

    return BybitListing(settings.BYBIT_REST_URL, **options)


LISTINGS: dict[str, Callable[..., Listing]] = {"bybit": _bybit_listing}


def listing_for(exchange: str, **options) -> Listing:
    """A new listing client for `exchange`, configured from settings; `options`
    (max_retries, ban_wait, timeout) tune its patience."""
    try:
        factory = LISTINGS[exchange]
    except KeyError:
        known = ", ".join(sorted(LISTINGS))
        raise ValueError(f"unknown exchange {exchange!r}; known: {known}") from None
    return factory(**options)


def ensure_underlyings(exchange: str) -> None:
    """Seed an exchange without underlyings from settings.TRACKER_UNDERLYINGS."""
    if Underlying.objects.filter(exchange=exchange).exists():
        return
    bases = dict.fromkeys(b.strip().upper() for b in settings.TRACKER_UNDERLYINGS)
    Underlying.objects.bulk_create(
        [Underlying(exchange=exchange, base_coin=b) for b in bases if b],
        ignore_conflicts=True,
    )


def refresh_universe(
    exchange: str = "bybit",
    bases: Iterable[str] | None = None,
    listing: Listing | None = None,
) -> SyncReport:
    """Sync every enabled base coin of `exchange` (or only `bases`) with its listing."""
    client = listing if listing is not None else listing_for(exchange)
    try:
        ensure_underlyings(exchange)
        report = SyncReport(exchange=exchange)
        for base in _wanted(exchange, bases, report):
            report = report.merge(_refresh_base(exchange, base, client))
    finally:
        if listing is None:
            client.close()
    log.info("universe refresh %s", report)
    return report


def _wanted(exchange: str, bases: Iterable[str] | None, report: SyncReport) -> list:
    """The enabled base coins to refresh; asked-for ones that are not go to `failed`."""
    enabled = list(
        Underlying.objects.filter(exchange=exchange, enabled=True)
        .order_by("base_coin")
        .values_list("base_coin", flat=True)
    )
    if bases is None:
        return enabled
    asked = list(dict.fromkeys(b.strip().upper() for b in bases if b.strip()))
    for base in asked:
        if base not in enabled:
            report.failed[base] = f"not an enabled underlying of {exchange}"
    return [b for b in asked if b in enabled]


def _refresh_base(exchange: str, base: str, listing: Listing) -> SyncReport:
    try:
        instruments = listing.fetch(base)
    except Exception as exc:  # one coin's failure must not stop the others
        message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        log.warning("%s %s: listing failed, contracts left as they are: %s",
                    exchange, base, message)  # fmt: skip
        return SyncReport(exchange=exchange, failed={base: message})
    return sync_listing(exchange, base, instruments)


def base_coin_exists(base_coin: str, exchange: str = "bybit") -> bool:
    """Whether `exchange` lists options of `base_coin` (settings.TRACKER_BASE_COIN_CHECK
    for the admin's add form). Raises ValueError for an unknown exchange and the
    listing's error (ListingError, with `.message`) when the exchange cannot answer.

    Someone waits on the answer, so the client tries twice and waits out no ban."""
    client = listing_for(exchange, max_retries=1, ban_wait=1.0, timeout=5.0)
    try:
        return client.base_coin_exists(base_coin)
    finally:
        client.close()
