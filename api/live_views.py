"""The Redis-backed endpoints. Chain and ticks are served by async handlers (api.fast)
with these DRF views behind them for the browsable API and the schema."""

from functools import partial

import orjson
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from api import chain, params, status
from api.client import async_client, bulk_reader, sync_client
from api.coalesce import coalescer
from api.errors import errors
from api.fast import CsvRenderer, json_response
from api.serializers import (
    ChainSerializer,
    ExpiriesSerializer,
    FeedStatusSerializer,
    StrikesSerializer,
    TickSerializer,
)
from api.strict import KnownQuery
from options.models import Underlying

Q = OpenApiParameter.QUERY
P = OpenApiParameter.PATH
EXCHANGE = OpenApiParameter(
    "exchange",
    str,
    P,
    description="Registry name, e.g. bybit (any case)",
    examples=[OpenApiExample("bybit", value="bybit")],
)
BASE = OpenApiParameter(
    "base",
    str,
    P,
    description="Base coin, e.g. BTC (any case)",
    examples=[OpenApiExample("BTC", value="BTC")],
)
EXPIRY = OpenApiParameter(
    "expiry", OpenApiTypes.DATE, P, description="Expiry date YYYY-MM-DD (UTC)"
)
CHAIN_QUERY = (
    OpenApiParameter("strike_min", params.STRIKE_BOUND, Q, description="Lowest strike"),
    OpenApiParameter(
        "strike_max", params.STRIKE_BOUND, Q, description="Highest strike"
    ),
    OpenApiParameter(
        "around_atm",
        params.AROUND_ATM,
        Q,
        description=f"N strikes each side of the ATM one (0-{params.AROUND_ATM_MAX})",
    ),  # fmt: skip
    OpenApiParameter(
        "fields",
        params.FIELD_LIST,
        Q,
        description="Only these store fields, comma separated, e.g. mark,delta: "
        f"{', '.join(params.FIELD_NAMES)} (`symbol` is always there)",
        examples=[OpenApiExample("mark,delta", value="mark,delta")],
    ),  # fmt: skip
    OpenApiParameter(
        params.FORMAT, str, Q, enum=["json", "csv"], description="csv downloads"
    ),
)
CHAIN_NAMES = frozenset(parameter.name for parameter in CHAIN_QUERY)
STRIKES_QUERY = (
    OpenApiParameter(
        "expiry", OpenApiTypes.DATE, Q, description="YYYY-MM-DD; all if absent"
    ),
)


class ChainView(KnownQuery, APIView):
    """The option chain of one expiry: one row per strike, call and put side by side."""

    renderer_classes = [JSONRenderer, BrowsableAPIRenderer, CsvRenderer]
    query = CHAIN_QUERY

    @extend_schema(
        parameters=[EXCHANGE, BASE, EXPIRY, *query],
        responses={
            (200, "application/json"): ChainSerializer,
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR),
            **errors(404, 503),
        },
    )
    def get(self, request, exchange, base, expiry):
        args = _chain_args(request.query_params, exchange, base, expiry)
        return Response(chain.chain(sync_client(), *args))


def _chain_args(query, exchange, base, expiry):
    return (
        params.exchange_name(exchange),
        params.base_name(base),
        params.expiry(expiry),
        params.chain_params(query),
    )


async def chain_handler(request, fmt, exchange, base, expiry):
    params.check_query(request.GET, CHAIN_NAMES)
    args = _chain_args(request.GET, exchange, base, expiry)
    # Requests for the same chain at the same time share the read (api.coalesce).
    body = await coalescer().run((fmt, *args), partial(_chain_body, fmt, args))
    if fmt == "csv":
        name = f"{args[0]}-{args[1]}-{args[2]}.csv"
        return HttpResponse(
            body,
            content_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return HttpResponse(body, content_type="application/json")


async def _chain_body(fmt: str, args: tuple) -> bytes:
    data = await chain.a_chain(async_client(), *args, bulk=bulk_reader())
    if fmt == "csv":
        return chain.csv_bytes(data, args[3].fields)
    return orjson.dumps(data)


class TickView(KnownQuery, APIView):
    """One contract's latest state, with its age in milliseconds."""

    @extend_schema(
        parameters=[
            EXCHANGE,
            OpenApiParameter(
                "symbol", str, P, description="e.g. BTC-27MAR26-70000-P-USDT"
            ),
        ],
        responses={200: TickSerializer, **errors(404, 503)},
    )
    def get(self, request, exchange, symbol):
        return Response(
            chain.tick(sync_client(), params.exchange_name(exchange), symbol)
        )


async def tick_handler(request, fmt, exchange, symbol):
    params.check_query(request.GET, ())
    data = await chain.a_tick(async_client(), params.exchange_name(exchange), symbol)
    return json_response(data)


class ExpiriesView(KnownQuery, APIView):
    """The expiries of one base coin that have a chain in Redis, soonest first."""

    @extend_schema(
        parameters=[EXCHANGE, BASE],
        responses={200: ExpiriesSerializer, **errors(404, 503)},
    )
    def get(self, request, exchange, base):
        exchange, base = params.exchange_name(exchange), params.base_name(base)
        return Response(status.expiries(sync_client(), exchange, base))


class StrikesView(KnownQuery, APIView):
    """The strikes of one expiry (or of all expiries) of a base coin, from Redis."""

    query = STRIKES_QUERY

    @extend_schema(
        parameters=[EXCHANGE, BASE, *query],
        responses={200: StrikesSerializer, **errors(404, 503)},
    )
    def get(self, request, exchange, base):
        raw = request.query_params.get("expiry")
        expiry = None if raw is None else params.expiry(raw)
        exchange, base = params.exchange_name(exchange), params.base_name(base)
        return Response(status.strikes(sync_client(), exchange, base, expiry))


class FeedView(KnownQuery, APIView):
    """Each feed's status: state, message rate, last message age, reconnects."""

    @extend_schema(responses={200: FeedStatusSerializer(many=True), **errors(503)})
    def get(self, request):
        exchanges = Underlying.objects.values_list("exchange", flat=True).distinct()
        client = sync_client()
        return Response([status.feed(client, ex) for ex in sorted(set(exchanges))])
