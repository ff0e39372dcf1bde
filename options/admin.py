"""Admin for the symbol universe: switch underlyings on and off, find any contract.

Contracts belong to the exchange (feed/refresh.py writes them), so their listed fields
are read-only here. Every change an operator makes to what is tracked is announced
on the universe channel (options.universe.publish_universe, which also writes the
universe the feed reads to Redis) once committed, and the running feed resubscribes.
"""

from collections.abc import Iterable
from datetime import date

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from redis.exceptions import RedisError

from options import clients, store
from options.forms import UnderlyingForm
from options.models import OptionContract, Underlying
from options.read import read_tick_ages
from options.universe import publish_universe

REDIS_TIMEOUT = 1.0  # seconds: an admin page must not hang on a Redis outage
EXPIRED = "expired"


def announce(request, exchanges: Iterable[str], reason: str) -> None:
    """Tell running feeds that the universe of `exchanges` changed, after commit."""
    exchanges = sorted(set(exchanges))

    def publish() -> None:
        client = clients.sync_client(timeout=REDIS_TIMEOUT)
        try:
            for exchange in exchanges:
                publish_universe(client, exchange, reason)
        except RedisError as exc:
            messages.warning(
                request,
                f"Saved, but the feed could not be told (Redis: {exc}); it picks "
                "the change up with the next symbol refresh or restart.",
            )
        finally:
            client.close()

    transaction.on_commit(publish)


def switch(modeladmin, request, queryset, field: str, value: bool) -> None:
    """Set a boolean on the selected rows and announce the ones that changed."""
    changed = queryset.exclude(**{field: value})
    exchanges = set(changed.values_list("exchange", flat=True))
    count = changed.update(**{field: value})
    if count:
        announce(request, exchanges, "admin")
    word = "enabled" if value else "disabled"
    modeladmin.message_user(request, f"{count} {_plural(modeladmin, count)} {word}.")


@admin.register(Underlying)
class UnderlyingAdmin(admin.ModelAdmin):
    form = UnderlyingForm
    list_display = ("base_coin", "exchange", "enabled", "active_contracts",
                    "updated_at")  # fmt: skip
    list_filter = ("exchange", "enabled")
    search_fields = ("base_coin",)
    actions = ("enable", "disable")

    def get_queryset(self, request):
        active = Count("contracts", filter=Q(contracts__is_active=True))
        return super().get_queryset(request).annotate(active_contracts=active)

    def get_readonly_fields(self, request, obj=None):
        # The contracts hang off exchange + base coin: changing them would orphan
        # the contracts, so only `enabled` is editable once created.
        return ("exchange", "base_coin", "created_at", "updated_at") if obj else ()

    def get_changeform_initial_data(self, request) -> dict:
        return {"exchange": "bybit", **super().get_changeform_initial_data(request)}

    @admin.display(description="active contracts", ordering="active_contracts")
    def active_contracts(self, obj: Underlying) -> int:
        return obj.active_contracts

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if change and "enabled" in form.changed_data:
            announce(request, [obj.exchange], "admin")
        if not change:
            self.message_user(
                request,
                f"{obj.exchange} lists options for {obj.base_coin}: its contracts "
                "arrive with the next symbol refresh (every 15 minutes), or now "
                f"with `manage.py refresh_symbols --underlyings {obj.base_coin}`.",
            )

    def changelist_view(self, request, extra_context=None):
        if request.method == "GET":
            self._warn_failed_refresh(request)
        return super().changelist_view(request, extra_context)

    def _warn_failed_refresh(self, request) -> None:
        exchanges = Underlying.objects.values_list("exchange", flat=True).distinct()
        client = clients.sync_client(timeout=REDIS_TIMEOUT)
        try:
            for exchange in exchanges.order_by("exchange"):
                status = store.read_refresh(client, exchange)
                if status.get("state") == "failed":
                    messages.warning(
                        request,
                        f"The last symbol refresh of {exchange} failed: "
                        f"{status.get('last_error')} (contracts left as they were).",
                    )
        except RedisError:
            pass  # the contract list says so too; this page works without Redis
        finally:
            client.close()

    @admin.action(description="Enable selected underlyings", permissions=["change"])
    def enable(self, request, queryset) -> None:
        switch(self, request, queryset, "enabled", True)

    @admin.action(description="Disable selected underlyings", permissions=["change"])
    def disable(self, request, queryset) -> None:
        switch(self, request, queryset, "enabled", False)


class ExpiryFilter(admin.SimpleListFilter):
    """The expiry dates still tracked, plus everything already expired."""

    title = "expiry"
    parameter_name = "expiry"

    def lookups(self, request, model_admin):
        days = OptionContract.objects.active().dates("expiry", "day")
        return [(d.isoformat(), d.strftime("%d %b %Y")) for d in days] + [
            (EXPIRED, "Expired")
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if value == EXPIRED:
            return queryset.filter(expiry__lte=timezone.now())
        try:
            return queryset.filter(expiry__date=date.fromisoformat(value))
        except ValueError:
            raise IncorrectLookupParameters(f"bad expiry {value!r}") from None


@admin.register(OptionContract)
class OptionContractAdmin(admin.ModelAdmin):
    list_display = ("symbol", "underlying", "expiry_days", "strike", "option_type",
                    "is_active", "last_seen", "tick")  # fmt: skip
    list_filter = ("underlying", ExpiryFilter, "option_type", "is_active")
    list_select_related = ("underlying",)
    search_fields = ("symbol",)
    actions = ("enable", "disable")
    # Written by the symbol refresh from the exchange's listing.
    readonly_fields = ("exchange", "symbol", "underlying", "expiry", "strike",
                       "option_type", "settle_coin", "tick_size", "status",
                       "first_seen", "last_seen")  # fmt: skip

    def has_add_permission(self, request) -> bool:
        return False  # contracts come from the exchange's listing

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the next refresh would list them again

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        attach_tick_ages(changelist.result_list)
        return changelist

    @admin.display(description="expiry (days)", ordering="expiry")
    def expiry_days(self, obj: OptionContract) -> str:
        days = obj.days_to_expiry
        when = f"{obj.expiry:%Y-%m-%d %H:%M}"
        return f"{when} (expired)" if days <= 0 else f"{when} ({days:.1f} d)"

    @admin.display(description="tick in Redis")
    def tick(self, obj: OptionContract) -> str:
        age = getattr(obj, "tick_age", None)
        if age is None:
            return "Redis down" if getattr(obj, "tick_redis_down", False) else "none"
        fresh = age <= settings.TRACKER_TICK_FRESH_SECONDS
        return f"{'fresh' if fresh else 'stale'} ({_age(age)} ago)"

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if "is_active" in form.changed_data:
            announce(request, [obj.exchange], "admin")

    @admin.action(description="Activate selected contracts", permissions=["change"])
    def enable(self, request, queryset) -> None:
        switch(self, request, queryset, "is_active", True)

    @admin.action(description="Deactivate selected contracts", permissions=["change"])
    def disable(self, request, queryset) -> None:
        switch(self, request, queryset, "is_active", False)
        self.message_user(
            request,
            "A symbol refresh reactivates contracts that the exchange still lists; "
            "disable the underlying to stop tracking a whole coin.",
            messages.WARNING,
        )


def attach_tick_ages(contracts: Iterable[OptionContract]) -> None:
    """Set `tick_age` (seconds, or None) on each contract of a changelist page: one
    Redis round trip per exchange on the page."""
    by_exchange: dict[str, list[OptionContract]] = {}
    for contract in contracts:
        by_exchange.setdefault(contract.exchange, []).append(contract)
    client = clients.sync_client(timeout=REDIS_TIMEOUT)
    try:
        for exchange, rows in by_exchange.items():
            symbols = [c.symbol for c in rows]
            ages = read_tick_ages(client, exchange, symbols)
            for contract, age in zip(rows, ages, strict=True):
                contract.tick_age = age
    except RedisError:
        for rows in by_exchange.values():
            for contract in rows:
                contract.tick_redis_down = True
    finally:
        client.close()


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h"


def _plural(modeladmin, count: int) -> str:
    meta = modeladmin.model._meta
    return meta.verbose_name if count == 1 else meta.verbose_name_plural
