"""Market alert rules and their firings (docs/alert-rules.md).

The feed never reads these tables: every rule change is written to Redis as the rule
set (alerts.ruleset), and the feed's firings come back through a Redis stream that
alerts.ruleset stores here as AlertEvent rows.
"""

import math
import re

from django.core.exceptions import ValidationError
from django.db import models

from alerts.destinations import redact_url
from alerts.rules import CONDITIONS, FIELDS, Rule
from options.models import OptionContract
from options.symbols import SymbolError, parse_symbol

MAX_WINDOW_S = 86_400
MAX_COOLDOWN_S = 7 * 86_400
MAX_URLS = 10
MAX_URL_LENGTH = 2000
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$")


class AlertRule(models.Model):
    exchange = models.CharField(max_length=32, default="bybit")
    symbol = models.CharField(
        max_length=64, blank=True, help_text="one contract; or give base and expiry"
    )
    base = models.CharField(
        max_length=16, blank=True, help_text="with expiry: every contract of the chain"
    )
    expiry = models.DateField(null=True, blank=True, help_text="YYYY-MM-DD (UTC)")
    field = models.CharField(max_length=16, choices=[(f, f) for f in FIELDS])
    condition = models.CharField(max_length=16, choices=[(c, c) for c in CONDITIONS])
    value = models.FloatField(
        help_text="the threshold; for change_pct the move in percent (> 0)"
    )
    window_s = models.PositiveIntegerField(
        null=True, blank=True, help_text="change_pct only: the window, in seconds"
    )
    cooldown_s = models.PositiveIntegerField(
        default=300, help_text="seconds before the rule fires again on a contract"
    )
    notify_urls = models.JSONField(
        default=list, blank=True,
        help_text="apprise URLs (json://, tgram://, slack://...); none: the "
        "deployment's NOTIFY_URLS",
    )  # fmt: skip
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.target()}: {self.as_rule().describe()}"

    def target(self) -> str:
        return self.symbol or f"{self.base} {self.expiry}"

    def destinations(self) -> list[str]:
        """The notify URLs without their secrets."""
        return [redact_url(url) for url in self.notify_urls or []]

    def as_rule(self) -> Rule:
        """The rule as the feed evaluates it (the rule set's entry)."""
        return Rule(
            id=self.pk or 0, field=self.field, condition=self.condition,
            value=self.value, cooldown_s=self.cooldown_s, window_s=self.window_s,
            symbol=self.symbol or None, base=self.base or None,
            expiry=self.expiry.isoformat() if self.expiry else None,
            notify_urls=tuple(self.notify_urls or ()),
        )  # fmt: skip

    def clean(self) -> None:
        for name, value in normalized(vars(self)).items():
            setattr(self, name, value)
        errors = rule_errors(vars(self))
        if errors:
            raise ValidationError(errors)


def normalized(terms: dict) -> dict:
    """The names as the store spells them: `bybit`, `BTC`."""
    out = {}
    if terms.get("exchange"):
        out["exchange"] = terms["exchange"].strip().lower()
    if terms.get("base"):
        out["base"] = terms["base"].strip().upper()
    return out


def rule_errors(terms: dict) -> dict[str, str]:
    """What is wrong with a rule's terms, by field ({} when nothing is); shared by
    the admin's form (AlertRule.clean) and the API's serializer."""
    errors = {}
    for check in (_target_errors, _condition_errors, _url_errors):
        for name, message in check(terms).items():
            errors.setdefault(name, message)
    return errors


def _target_errors(terms: dict) -> dict[str, str]:
    exchange = terms.get("exchange") or "bybit"
    symbol, base, expiry = terms.get("symbol"), terms.get("base"), terms.get("expiry")
    if symbol and (base or expiry):
        return {"symbol": "give a symbol, or a base and an expiry, not both"}
    if symbol:
        try:
            parse_symbol(symbol)
        except SymbolError as exc:
            return {"symbol": str(exc)}
        if not OptionContract.objects.filter(exchange=exchange, symbol=symbol).exists():
            return {"symbol": f"{exchange} lists no contract {symbol}"}
        return {}
    if not (base and expiry):
        missing = "expiry" if base else "base" if expiry else "symbol"
        return {missing: "give a symbol, or a base and an expiry"}
    chain = OptionContract.objects.filter(
        exchange=exchange, underlying__base_coin=base, expiry__date=expiry
    )
    if not chain.exists():
        return {"expiry": f"no {exchange} {base} contracts expire on {expiry}"}
    return {}


def _condition_errors(terms: dict) -> dict[str, str]:
    value, window = terms.get("value"), terms.get("window_s")
    if value is not None and not math.isfinite(value):
        return {"value": "must be a finite number"}
    if (terms.get("cooldown_s") or 0) > MAX_COOLDOWN_S:
        return {"cooldown_s": f"at most {MAX_COOLDOWN_S} seconds (7 days)"}
    if terms.get("condition") != "change_pct":
        if window is not None:
            return {"window_s": "only change_pct takes a window"}
        return {}
    if not window or window > MAX_WINDOW_S:
        return {"window_s": f"change_pct needs a window of 1 to {MAX_WINDOW_S} s"}
    if value is not None and value <= 0:
        return {"value": "change_pct needs a move in percent above 0"}
    return {}


def _url_errors(terms: dict) -> dict[str, str]:
    urls = terms.get("notify_urls") or []
    if not isinstance(urls, list) or len(urls) > MAX_URLS:
        return {"notify_urls": f"a list of at most {MAX_URLS} apprise URLs"}
    for n, url in enumerate(urls):
        if not isinstance(url, str) or len(url) > MAX_URL_LENGTH or not _URL.match(url):
            # The URL itself may hold a secret: name it by its place only.
            return {"notify_urls": f"item {n + 1} is not an apprise URL (scheme://...)"}
    return {}


class AlertEvent(models.Model):
    """One firing of a rule on one contract, from the feed's event stream."""

    rule = models.ForeignKey(
        AlertRule, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="events",
    )  # fmt: skip
    exchange = models.CharField(max_length=32)
    symbol = models.CharField(max_length=64)
    field = models.CharField(max_length=16)
    condition = models.CharField(max_length=16)
    threshold = models.FloatField()
    value = models.FloatField()
    fired_at = models.DateTimeField()
    message = models.TextField()
    stream_id = models.CharField(max_length=40, help_text="the entry's id in Redis")

    class Meta:
        ordering = ["-fired_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["exchange", "stream_id"], name="alertevent_stream_uniq"
            )
        ]
        indexes = [models.Index(fields=["symbol", "fired_at"], name="alertevent_sym")]

    def __str__(self) -> str:
        return self.message
