"""Market alert rules and their firings: /api/alert-rules/ and /api/alert-events/.

Signed-in users (DRF token or session) read; staff write. A rule's notify URLs are
write-only (apprise URLs carry tokens): reads show them masked, as `destinations`.
The firings are read from the feed's event stream before each list
(alerts.ruleset.sync_quietly), so they show without Celery beat too.
"""

from django import forms
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import permissions, serializers, viewsets
from rest_framework.parsers import JSONParser

from alerts import ruleset
from alerts.models import (
    MAX_URL_LENGTH,
    MAX_URLS,
    AlertEvent,
    AlertRule,
    normalized,
    rule_errors,
)
from api.access import ApiAccess
from api.errors import errors
from api.serializers import StrictBooleanField
from api.strict import KnownQuery
from api.views import ContractCursor, FilterBackend

TERMS = ("exchange", "symbol", "base", "expiry", "field", "condition", "value",
         "window_s", "cooldown_s", "notify_urls")  # fmt: skip


class SignedInAccess(ApiAccess):
    """ApiAccess, but reads need a signed-in user too."""

    message = "Sign in (token or session) to read alert rules; writes are for staff."

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        user = request.user
        return request.method not in permissions.SAFE_METHODS or bool(
            user and user.is_authenticated
        )


class AlertRuleSerializer(serializers.ModelSerializer):
    notify_urls = serializers.ListField(
        child=serializers.CharField(max_length=MAX_URL_LENGTH, trim_whitespace=False),
        max_length=MAX_URLS, required=False, write_only=True,
        help_text="apprise URLs; never shown again (see destinations). None: the "
        "deployment's NOTIFY_URLS",
    )  # fmt: skip
    destinations = serializers.SerializerMethodField(
        help_text="the notify URLs without their secrets"
    )
    enabled = StrictBooleanField(required=False)

    class Meta:
        model = AlertRule
        fields = ["id", *TERMS, "destinations", "enabled", "created_at",
                  "updated_at"]  # fmt: skip

    def get_destinations(self, rule: AlertRule) -> list[str]:
        return rule.destinations()

    def validate(self, attrs: dict) -> dict:
        """The model's rules (alerts.models.rule_errors) on the terms as they will
        be saved: a PATCH is checked together with what it leaves unchanged."""
        attrs.update(normalized(attrs))
        current = {}
        if self.instance is not None:
            current = {name: getattr(self.instance, name) for name in TERMS}
        problems = rule_errors({**current, **attrs})
        if problems:
            raise serializers.ValidationError(problems)
        return attrs


class AlertEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AlertEvent
        fields = ["id", "rule", "exchange", "symbol", "field", "condition",
                  "threshold", "value", "fired_at", "message"]  # fmt: skip


class RuleIdField(forms.IntegerField):
    def __init__(self, **kwargs):
        super().__init__(min_value=1, **kwargs)


@extend_schema_field({"type": "integer", "minimum": 1})
class RuleFilter(filters.Filter):
    field_class = RuleIdField


class AlertEventFilter(filters.FilterSet):
    rule = RuleFilter(field_name="rule_id", help_text="a rule's id")
    symbol = filters.CharFilter(help_text="e.g. BTC-27MAR26-70000-P-USDT")

    class Meta:
        model = AlertEvent
        fields = ["rule", "symbol"]


class EventCursor(ContractCursor):
    ordering = ("-fired_at", "-id")


READ = errors(404)


@extend_schema_view(
    list=extend_schema(responses={200: AlertRuleSerializer(many=True), **errors()}),
    create=extend_schema(responses={201: AlertRuleSerializer, **errors()}),
    retrieve=extend_schema(responses={200: AlertRuleSerializer, **READ}),
    update=extend_schema(responses={200: AlertRuleSerializer, **READ}),
    partial_update=extend_schema(responses={200: AlertRuleSerializer, **READ}),
    destroy=extend_schema(responses={204: None, **READ}),
)
class AlertRuleViewSet(KnownQuery, viewsets.ModelViewSet):
    """Market alert rules; a change reaches the feed within seconds."""

    queryset = AlertRule.objects.all()
    serializer_class = AlertRuleSerializer
    permission_classes = [SignedInAccess]
    parser_classes = [JSONParser]
    anonymous_reads = False  # api.schema.ApiAutoSchema


@extend_schema_view(
    list=extend_schema(responses={200: AlertEventSerializer(many=True), **errors()}),
    retrieve=extend_schema(responses={200: AlertEventSerializer, **READ}),
)
class AlertEventViewSet(KnownQuery, viewsets.ReadOnlyModelViewSet):
    """Firings of the market alert rules, newest first, cursor-paginated."""

    queryset = AlertEvent.objects.all()
    serializer_class = AlertEventSerializer
    permission_classes = [SignedInAccess]
    filterset_class = AlertEventFilter
    filter_backends = [FilterBackend]
    pagination_class = EventCursor
    anonymous_reads = False

    def list(self, request, *args, **kwargs):
        ruleset.sync_quietly()
        return super().list(request, *args, **kwargs)

    def query_names(self) -> set[str]:
        if self.action != "list":
            return set()
        return {*AlertEventFilter.base_filters, *self.paginator.query_names()}
