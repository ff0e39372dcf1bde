"""Upsert one base coin's listing into the contract table.

A refresh reads the whole listing of one exchange + base coin, so whatever the table
holds as active for that pair and the listing lacks has been delisted (expired).
Everything is bulk: a base coin has up to a few thousand contracts.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from options import contracts, store
from options.instruments import Instrument
from options.models import OptionContract, Underlying

log = logging.getLogger(__name__)

BATCH = 500  # rows per statement: keeps every query under SQLite's variable limit
# The fields a listing sets; a change in any of them is an update.
LISTED_FIELDS = (
    "expiry",
    "strike",
    "option_type",
    "settle_coin",
    "tick_size",
    "status",
)


@dataclass
class SyncReport:
    exchange: str = ""
    bases: list[str] = field(default_factory=list)  # base coins synced
    added: list[str] = field(default_factory=list)
    reactivated: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)  # listed fields changed
    unchanged: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # base coin -> error

    @property
    def listed(self) -> int:
        """Contracts present in the listings that were synced."""
        moved = len(self.added) + len(self.reactivated) + len(self.updated)
        return moved + self.unchanged

    @property
    def changed(self) -> bool:
        return bool(self.added or self.reactivated or self.deactivated or self.updated)

    def merge(self, other: "SyncReport") -> "SyncReport":
        return SyncReport(
            exchange=self.exchange or other.exchange,
            bases=self.bases + other.bases,
            added=self.added + other.added,
            reactivated=self.reactivated + other.reactivated,
            deactivated=self.deactivated + other.deactivated,
            updated=self.updated + other.updated,
            unchanged=self.unchanged + other.unchanged,
            failed={**self.failed, **other.failed},
        )

    def __str__(self) -> str:
        bases = ", ".join(self.bases) or "none"
        text = (
            f"{self.exchange or '?'} [{bases}]: {self.listed} listed, "
            f"{len(self.added)} added, {len(self.reactivated)} reactivated, "
            f"{len(self.deactivated)} deactivated, {len(self.updated)} updated, "
            f"{self.unchanged} unchanged"
        )
        if self.failed:
            errors = "; ".join(f"{base}: {err}" for base, err in self.failed.items())
            text += f"; FAILED {errors}"
        return text


def sync_listing(
    exchange: str,
    base_coin: str,
    instruments: Iterable[Instrument],
    now: datetime | None = None,
) -> SyncReport:
    """Make the table match one complete listing of `exchange` + `base_coin`."""
    now = now or timezone.now()
    listing = _by_symbol(exchange, base_coin, instruments)
    report = SyncReport(exchange=exchange, bases=[base_coin])
    with transaction.atomic():
        underlying, _ = Underlying.objects.get_or_create(
            exchange=exchange, base_coin=base_coin
        )
        existing = {
            c.symbol: c
            for c in OptionContract.objects.filter(
                exchange=exchange, underlying=underlying
            ).order_by()
        }
        _create(underlying, listing, existing, now, report)
        _update(underlying, listing, existing, now, report)
        _deactivate(listing, existing, report)
    if not listing and report.deactivated:
        log.warning("%s %s: empty listing, all deactivated", exchange, base_coin)
    return report


def _by_symbol(
    exchange: str, base_coin: str, instruments: Iterable[Instrument]
) -> dict[str, Instrument]:
    listing: dict[str, Instrument] = {}
    for inst in instruments:
        if inst.exchange != exchange or inst.base != base_coin:
            raise ValueError(
                f"{inst.exchange} {inst.symbol} (base {inst.base}) is not in the "
                f"listing of {exchange} {base_coin}"
            )
        listing[inst.symbol] = inst  # a page overlap repeats a symbol: last wins
    return listing


def _create(underlying, listing, existing, now, report: SyncReport) -> None:
    new = [
        OptionContract(
            exchange=underlying.exchange,
            symbol=inst.symbol,
            underlying=underlying,
            first_seen=now,
            last_seen=now,
            is_active=True,
            **_listed_values(inst),
        )
        for symbol, inst in listing.items()
        if symbol not in existing
    ]
    OptionContract.objects.bulk_create(new, batch_size=BATCH)
    report.added.extend(c.symbol for c in new)


def _update(underlying, listing, existing, now, report: SyncReport) -> None:
    changed: list[OptionContract] = []
    seen_ids: list[int] = []
    for symbol, inst in listing.items():
        contract = existing.get(symbol)
        if contract is None:
            continue
        values = _listed_values(inst)
        differs = any(getattr(contract, k) != v for k, v in values.items())
        if contract.is_active and not differs:
            seen_ids.append(contract.pk)
            report.unchanged += 1
            continue
        (report.updated if contract.is_active else report.reactivated).append(symbol)
        for key, value in values.items():
            setattr(contract, key, value)
        contract.is_active = True
        contract.last_seen = now
        changed.append(contract)
    fields = [*LISTED_FIELDS, "is_active", "last_seen"]
    OptionContract.objects.bulk_update(changed, fields, batch_size=BATCH)
    for start in range(0, len(seen_ids), BATCH):
        chunk = seen_ids[start : start + BATCH]
        OptionContract.objects.filter(pk__in=chunk).update(last_seen=now)


def _deactivate(listing, existing, report: SyncReport) -> None:
    gone = [c for s, c in existing.items() if c.is_active and s not in listing]
    for start in range(0, len(gone), BATCH):
        chunk = [c.pk for c in gone[start : start + BATCH]]
        OptionContract.objects.filter(pk__in=chunk).update(is_active=False)
    report.deactivated.extend(c.symbol for c in gone)


def _listed_values(inst: Instrument) -> dict:
    return {
        "expiry": inst.expiry,
        "strike": inst.strike,
        "option_type": inst.option_type,
        "settle_coin": inst.settle,
        "tick_size": inst.tick_size,
        "status": inst.status,
    }


def publish_universe(client, exchange: str, reason: str = "") -> None:
    """Write what the feed subscribes (active contracts of enabled underlyings) to
    Redis, base by base (options.contracts), then, given a reason, tell running
    feeds. Every change to the table ends here: the feed reads no database."""
    by_base: dict[str, list[Instrument]] = {
        base: []
        for base in Underlying.objects.filter(exchange=exchange).values_list(
            "base_coin", flat=True
        )
    }
    for inst in OptionContract.objects.feed_instruments(exchange):
        by_base.setdefault(inst.base, []).append(inst)
    contracts.replace(client, exchange, by_base)
    if reason:
        store.notify_universe_changed(client, exchange, reason)
