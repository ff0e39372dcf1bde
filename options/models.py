"""The symbol universe: which base coins are tracked, and every option listed for them.

These models depend on no other app: the feed process installs only `options` and
`feed` (TRACKER_FEED_ONLY=1).
"""

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import models
from django.utils import timezone

from options.analytics_models import AnalyticsSample  # noqa: F401  (its own module)
from options.instruments import Instrument
from options.symbols import format_strike


class Underlying(models.Model):
    exchange = models.CharField(max_length=32)
    base_coin = models.CharField(max_length=16)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["exchange", "base_coin"]
        constraints = [
            models.UniqueConstraint(
                fields=["exchange", "base_coin"], name="underlying_exchange_base_uniq"
            )
        ]

    def __str__(self) -> str:
        return f"{self.exchange} {self.base_coin}"


class OptionType(models.TextChoices):
    CALL = "C", "Call"
    PUT = "P", "Put"


class OptionContractQuerySet(models.QuerySet):
    def active(self) -> "OptionContractQuerySet":
        return self.filter(is_active=True)

    def of_exchange(self, exchange: str) -> "OptionContractQuerySet":
        return self.filter(exchange=exchange)

    def feed_instruments(
        self, exchange: str, bases: Iterable[str] | None = None
    ) -> list[Instrument]:
        """What the feed subscribes: active contracts of enabled underlyings."""
        rows = self.active().filter(
            exchange=exchange,
            underlying__exchange=exchange,
            underlying__enabled=True,
        )
        if bases is not None:
            rows = rows.filter(underlying__base_coin__in=[b.upper() for b in bases])
        rows = rows.order_by("underlying__base_coin", "expiry", "strike", "option_type")
        # Plain tuples, not model instances: the feed process keeps its memory small.
        columns = ("symbol", "underlying__base_coin", "settle_coin", "option_type",
                   "strike", "expiry", "tick_size", "status")  # fmt: skip
        # Thousands of rows share a few expiries, strikes, tick sizes and statuses:
        # one object for each keeps the feed's universe small.
        one: dict = {}
        return [
            Instrument(
                exchange,
                symbol,
                one.setdefault(base, base),
                one.setdefault(settle, settle),
                one.setdefault(kind, kind),
                one.setdefault(("strike", strike), _plain(strike)),
                one.setdefault(expiry, expiry),
                None if tick is None else one.setdefault(("tick", tick), _plain(tick)),
                one.setdefault(status, status),
            )
            for symbol, base, settle, kind, strike, expiry, tick, status in (
                rows.values_list(*columns).iterator(chunk_size=500)
            )
        ]


class OptionContract(models.Model):
    exchange = models.CharField(max_length=32)
    symbol = models.CharField(max_length=64)
    underlying = models.ForeignKey(
        Underlying, on_delete=models.PROTECT, related_name="contracts"
    )
    expiry = models.DateTimeField()
    strike = models.DecimalField(max_digits=24, decimal_places=8)
    option_type = models.CharField(max_length=1, choices=OptionType.choices)
    settle_coin = models.CharField(max_length=16)
    tick_size = models.DecimalField(
        max_digits=24, decimal_places=8, null=True, blank=True
    )
    status = models.CharField(max_length=32, blank=True)
    is_active = models.BooleanField(default=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()

    objects = OptionContractQuerySet.as_manager()

    class Meta:
        ordering = ["exchange", "expiry", "strike", "option_type"]
        constraints = [
            models.UniqueConstraint(
                fields=["exchange", "symbol"], name="contract_exchange_symbol_uniq"
            )
        ]
        indexes = [
            models.Index(fields=["exchange", "is_active"], name="contract_exch_active"),
            models.Index(fields=["underlying", "expiry"], name="contract_under_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.exchange} {self.symbol}"

    def time_to_expiry(self, now: datetime | None = None) -> timedelta:
        return self.expiry - (now or timezone.now())

    @property
    def days_to_expiry(self) -> float:
        """Days (fractional) until expiry; negative once expired."""
        return self.time_to_expiry().total_seconds() / 86400

    @property
    def is_expired(self) -> bool:
        return self.time_to_expiry() <= timedelta(0)

    def to_instrument(self) -> Instrument:
        """The exchange-neutral row (loads `underlying`: use select_related)."""
        return Instrument(
            exchange=self.exchange,
            symbol=self.symbol,
            base=self.underlying.base_coin,
            settle=self.settle_coin,
            option_type=self.option_type,
            strike=_plain(self.strike),
            expiry=self.expiry,
            tick_size=None if self.tick_size is None else _plain(self.tick_size),
            status=self.status,
        )


def _plain(value: Decimal) -> Decimal:
    """`70000.00000000` from the database back to `70000`, as the listing gives it."""
    return Decimal(format_strike(value))


# The history's tables live in a module of their own (options/history_models.py).
from options.history_models import (  # noqa: E402, F401
    ChainSample,
    ContractHour,
    RollUpMark,
    SampleUniverse,
)
