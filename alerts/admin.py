"""Admin for market alert rules and their firings.

The lists never show a notify URL whole (apprise URLs carry tokens): only the
masked destinations. Every change reaches the feed through Redis once committed
(alerts.ruleset); the enable/disable actions publish too, as `update()` sends no
signal.
"""

from django.contrib import admin

from alerts import ruleset
from alerts.models import AlertEvent, AlertRule


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = ("id", "exchange", "target", "field", "condition", "value",
                    "window_s", "cooldown_s", "destinations", "enabled",
                    "updated_at")  # fmt: skip
    list_display_links = ("id", "target")
    list_filter = ("enabled", "exchange", "field", "condition")
    search_fields = ("symbol", "base")
    actions = ("enable", "disable")
    fieldsets = (
        ("Contracts", {"fields": ("exchange", "symbol", ("base", "expiry"))}),
        ("Condition", {"fields": ("field", "condition", "value", "window_s")}),
        ("Delivery", {"fields": ("cooldown_s", "notify_urls", "enabled")}),
    )

    @admin.display(description="contracts")
    def target(self, rule: AlertRule) -> str:
        return rule.target()

    @admin.display(description="destinations")
    def destinations(self, rule: AlertRule) -> str:
        return ", ".join(rule.destinations()) or "NOTIFY_URLS"

    @admin.action(description="Enable the selected rules")
    def enable(self, request, queryset):
        self._switch(request, queryset, True)

    @admin.action(description="Disable the selected rules")
    def disable(self, request, queryset):
        self._switch(request, queryset, False)

    def _switch(self, request, queryset, enabled: bool) -> None:
        changed = queryset.exclude(enabled=enabled)
        exchanges = set(changed.values_list("exchange", flat=True))
        count = changed.update(enabled=enabled)
        for exchange in exchanges:
            ruleset.publish_after_commit(exchange)
        word = "enabled" if enabled else "disabled"
        self.message_user(request, f"{count} rule(s) {word}.")


@admin.register(AlertEvent)
class AlertEventAdmin(admin.ModelAdmin):
    """Read-only: firings come from the feed."""

    list_display = ("fired_at", "rule", "exchange", "symbol", "field", "value",
                    "message")  # fmt: skip
    list_filter = ("exchange", "field", "condition")
    search_fields = ("symbol", "message")
    date_hierarchy = "fired_at"

    def changelist_view(self, request, extra_context=None):
        ruleset.sync_quietly()  # the newest firings, even without Celery beat
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
