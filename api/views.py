"""The database-backed endpoints (underlyings, contracts, with the contracts' filters)
and the API root."""

from asgiref.sync import async_to_sync
from django import forms
from django.core.validators import RegexValidator
from django.db.models import Count, Q
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, viewsets
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from api import params, status
from api.errors import errors
from api.serializers import ContractSerializer, UnderlyingSerializer
from api.strict import KnownQuery
from options.models import OptionContract, OptionType, Underlying


class ApiRoot(APIView):
    """Live crypto option chains, tickers and feed status. See /api/docs/."""

    @extend_schema(exclude=True)
    def get(self, request, format=None):
        def url(name):
            return reverse(name, request=request, format=format)

        return Response(
            {
                "underlyings": url("underlying-list"),
                "contracts": url("contract-list"),
                "feed": url("feed"),
                "alert-rules": url("alertrule-list"),
                "alert-events": url("alertevent-list"),
                "expiries": url("api-root") + "expiries/{exchange}/{base}/",
                "strikes": url("api-root") + "strikes/{exchange}/{base}/?expiry=",
                "chain": url("api-root") + "chain/{exchange}/{base}/{expiry}/",
                "ticks": url("api-root") + "ticks/{exchange}/{symbol}/",
                "history": url("api-root") + "history/{exchange}/{symbol}/",
                "analytics": url("api-root") + "analytics/{exchange}/{base}/",
                "schema": url("schema"),
                "docs": url("docs"),
            }
        )


@extend_schema_view(
    list=extend_schema(responses={200: UnderlyingSerializer(many=True), **errors(503)}),
    retrieve=extend_schema(responses={200: UnderlyingSerializer, **errors(404, 503)}),
    partial_update=extend_schema(
        responses={200: UnderlyingSerializer, **errors(404, 503)}
    ),
)
class UnderlyingViewSet(
    KnownQuery,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Tracked underlyings with index price, live contracts and expiries; staff may
    enable or disable one (PATCH `enabled`)."""

    serializer_class = UnderlyingSerializer
    parser_classes = [JSONParser]
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self):
        live = Q(contracts__is_active=True, contracts__expiry__gt=timezone.now())
        return Underlying.objects.annotate(live_contracts=Count("contracts", live))

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["expiries"], context["index_prices"] = self.live_data()
        return context

    def live_data(self):
        """Expiry dates from the database and index prices from Redis, per id."""
        rows = (
            OptionContract.objects.active()
            .filter(expiry__gt=timezone.now())
            .order_by("underlying_id", "expiry")
            .values_list("underlying_id", "expiry")
            .distinct()
        )
        expiries: dict[int, list[str]] = {}
        for pk, expiry in rows.iterator(chunk_size=2000):
            days = expiries.setdefault(pk, [])
            day = expiry.date().isoformat()
            if not days or days[-1] != day:
                days.append(day)
        names = Underlying.objects.values_list("pk", "exchange", "base_coin")
        # A sync DRF viewset: the read model is async.
        return expiries, async_to_sync(status.index_prices)(list(names))


TRUE_FALSE = [("true", "true"), ("false", "false")]


class StrikeBoundField(forms.Field):
    """A strike bound as the chain parses one (params.strike_bound)."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return params.strike_bound(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from None


class StrikeBoundFilter(filters.Filter):
    field_class = StrikeBoundField


def strike_filter(lookup: str, description: str) -> StrikeBoundFilter:
    bound = StrikeBoundFilter(field_name="strike", lookup_expr=lookup)
    return extend_schema_field({**params.STRIKE_BOUND, "description": description})(
        bound
    )


def name_filter(field_name: str, example: str) -> filters.CharFilter:
    """An exchange or base-coin name, any case: letters and digits only, matched as
    given (no stripping)."""
    name = filters.CharFilter(
        field_name=field_name,
        lookup_expr="iexact",
        help_text=f"e.g. {example}",
        strip=False,
        validators=[RegexValidator(params.NAME_RE, "letters and digits only")],
    )
    description = f"e.g. {example} (letters and digits, any case)"
    return extend_schema_field({**params.NAME, "description": description})(name)


class ContractFilter(filters.FilterSet):
    exchange = name_filter("exchange", "bybit")
    base = name_filter("underlying__base_coin", "BTC")
    expiry = filters.DateFilter(
        field_name="expiry", lookup_expr="date", help_text="YYYY-MM-DD (UTC)"
    )
    type = filters.ChoiceFilter(field_name="option_type", choices=OptionType.choices)
    strike_min = strike_filter("gte", "Lowest strike")
    strike_max = strike_filter("lte", "Highest strike")
    # Strict true/false (a BooleanFilter would silently ignore `active=maybe`).
    active = filters.ChoiceFilter(choices=TRUE_FALSE, method="filter_active")

    class Meta:
        model = OptionContract
        fields = ["exchange", "base", "expiry", "type", "strike_min", "strike_max",
                  "active"]  # fmt: skip

    def filter_active(self, queryset, name, value):
        return queryset.filter(is_active=value == "true")


class FilterBackend(filters.DjangoFilterBackend):
    """Its form in the browsable API leaves empty fields out of the query, where
    they would be 400s (params.check_query)."""

    template = "api/filter_form.html"


class ContractCursor(CursorPagination):
    ordering = ("expiry", "strike", "option_type", "id")
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_page_size(self, request) -> int:
        """Strict, unlike DRF's (which falls back to the default on a bad value)."""
        size = params.parsed(
            request.query_params,
            self.page_size_query_param,
            params.whole_number,
            1,
            self.max_page_size,
        )
        return self.page_size if size is None else size

    def get_schema_operation_parameters(self, view) -> list[dict]:
        cursor, size = super().get_schema_operation_parameters(view)
        cursor["schema"]["minLength"] = 1
        size["schema"].update(minimum=1, maximum=self.max_page_size)
        size["schema"]["default"] = self.page_size
        return [cursor, size]

    def query_names(self) -> set[str]:
        return {self.cursor_query_param, self.page_size_query_param}


@extend_schema_view(
    list=extend_schema(responses={200: ContractSerializer(many=True), **errors(404)}),
    retrieve=extend_schema(responses={200: ContractSerializer, **errors(404)}),
)
class ContractViewSet(KnownQuery, viewsets.ReadOnlyModelViewSet):
    """The symbol universe from the database, filterable, cursor-paginated."""

    queryset = OptionContract.objects.select_related("underlying")
    serializer_class = ContractSerializer
    filterset_class = ContractFilter
    pagination_class = ContractCursor
    filter_backends = [FilterBackend]

    def query_names(self) -> set[str]:
        """The list takes the filters and the cursor's; one contract, nothing."""
        if self.action != "list":
            return set()
        return {*ContractFilter.base_filters, *self.paginator.query_names()}
