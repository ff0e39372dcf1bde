"""`/api/history/<exchange>/<symbol>/`: one contract's samples from the 24 h history
(options.history), downsampled server-side by `step`.

Values are JSON numbers (the exchange's decimals, exactly as far as a double goes),
null where the contract had none; times are ISO 8601. Defaults: the whole retention up
to now, every field, every sample.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from api import params
from api.chain import iso
from api.errors import bad_parameter, errors
from api.fast import drf_data, json_handler
from api.strict import KnownQuery
from options import history
from options.history_models import HISTORY_FIELDS

Q = OpenApiParameter.QUERY
STEP_MAX = 86_400
_ONE = f"({'|'.join(HISTORY_FIELDS)})"
FIELDS_PATTERN = {"type": "string", "pattern": f"^{_ONE}(,{_ONE})*$"}
STEP = {"type": "integer", "minimum": 1, "maximum": STEP_MAX}
QUERY = (
    OpenApiParameter(
        "since", OpenApiTypes.DATETIME, Q, description="From (ISO 8601); "
        "default: the oldest sample kept (HISTORY_RETENTION before now)",
    ),
    OpenApiParameter(
        "until", OpenApiTypes.DATETIME, Q,
        description="To, inclusive (ISO 8601); default: now. Not before `since`",
    ),
    OpenApiParameter(
        "fields", FIELDS_PATTERN, Q,
        description=f"Comma separated, of {', '.join(HISTORY_FIELDS)}; default all",
        examples=[OpenApiExample("mark,mark_iv", value="mark,mark_iv")],
    ),
    OpenApiParameter(
        "step", STEP, Q, description="Seconds: only the last sample of each step "
        "(aligned to the epoch), as a candle's close; default every sample",
    ),
)  # fmt: skip


SampleSerializer = type(
    "HistorySampleSerializer",
    (serializers.Serializer,),
    {
        "at": serializers.DateTimeField(help_text="start of the sampling slot"),
        **{
            name: serializers.FloatField(allow_null=True, required=False)
            for name in HISTORY_FIELDS
        },
    },
)


class HistorySerializer(serializers.Serializer):
    exchange = serializers.CharField()
    symbol = serializers.CharField()
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    step = serializers.IntegerField(allow_null=True)
    fields = serializers.ListField(child=serializers.CharField())
    samples = SampleSerializer(many=True)


class HistoryView(KnownQuery, APIView):
    """One contract's samples over a time range (the last 24 h by default)."""

    query = QUERY

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "exchange", str, OpenApiParameter.PATH, description="e.g. bybit"
            ),
            OpenApiParameter(
                "symbol",
                str,
                OpenApiParameter.PATH,
                description="e.g. BTC-27MAR26-70000-P-USDT",
            ),  # fmt: skip
            *QUERY,
        ],
        responses={200: HistorySerializer, **errors(404, 503)},
    )
    def get(self, request, exchange, symbol):
        return Response(drf_data(history_data, request, exchange, symbol))


def history_query(query) -> tuple[int, int, tuple[str, ...], int | None]:
    """(since, until, fields, step) from the query string; bad ones are 400s. The
    range is then narrowed to the history kept (retention up to now)."""
    oldest, now = history.window()
    until = params.parsed(query, "until", params.time_ms)
    since = params.parsed(query, "since", params.time_ms)
    if since is not None and until is not None and since > until:
        raise bad_parameter("since", "after until")
    since = oldest if since is None else min(max(since, oldest), now)
    until = now if until is None else max(min(until, now), oldest)
    fields = params.parsed(query, "fields", field_names) or HISTORY_FIELDS
    step = params.parsed(query, "step", params.whole_number, 1, STEP_MAX)
    return since, until, fields, step


def field_names(raw: str) -> tuple[str, ...]:
    names = raw.split(",")
    unknown = [name for name in names if name not in HISTORY_FIELDS]
    if unknown:
        known = ", ".join(HISTORY_FIELDS)
        raise ValueError(f"unknown field {unknown[0]!r}; choose from {known}")
    return tuple(dict.fromkeys(names))


async def history_data(query, exchange, symbol) -> dict:
    since, until, fields, step = history_query(query)
    exchange = params.exchange_name(exchange)
    found = await history.read_history(exchange, symbol, since, until, fields, step)
    return {
        "exchange": exchange,
        "symbol": symbol,
        "since": iso(since),
        "until": iso(until),
        "step": step,
        "fields": list(fields),
        "samples": samples(found),
    }


def samples(found: history.History) -> list[dict]:
    columns = [(name, found.values[name]) for name in found.fields]
    return [
        {"at": iso(at), **{name: values[i] for name, values in columns}}
        for i, at in enumerate(found.times)
    ]


history_handler = json_handler(history_data, HistoryView)
