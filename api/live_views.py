"""The Redis-backed endpoints. Each is served by an async handler (api.fast) with its
DRF view behind it for the browsable API and the schema; both get their data from the
same async function (api.chain, api.status)."""

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
from api.coalesce import coalescer
from api.errors import errors
from api.fast import CsvRenderer, drf_data, json_handler
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
    OpenApiParameter(
        "at",
        OpenApiTypes.DATETIME,
        Q,
        description="The chain as the history sampled it at this time (ISO 8601; "
        "UTC without an offset); 404 outside the history kept (docs/history.md)",
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
        return Response(drf_data(chain_data, request, exchange, base, expiry))


async def chain_data(query, exchange, base, expiry) -> dict:
    return await chain.chain(*_chain_args(query, exchange, base, expiry))


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
    data = await chain.chain(*args)
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
        return Response(drf_data(tick_data, request, exchange, symbol))


async def tick_data(query, exchange, symbol) -> dict:
    return await chain.tick(params.exchange_name(exchange), symbol)


class ExpiriesView(KnownQuery, APIView):
    """The expiries of one base coin that have a chain in Redis, soonest first."""

    @extend_schema(
        parameters=[EXCHANGE, BASE],
        responses={200: ExpiriesSerializer, **errors(404, 503)},
    )
    def get(self, request, exchange, base):
        return Response(drf_data(expiries_data, request, exchange, base))


async def expiries_data(query, exchange, base) -> dict:
    return await status.expiries(params.exchange_name(exchange), params.base_name(base))


class StrikesView(KnownQuery, APIView):
    """The strikes of one expiry (or of all expiries) of a base coin, from Redis."""

    query = STRIKES_QUERY

    @extend_schema(
        parameters=[EXCHANGE, BASE, *query],
        responses={200: StrikesSerializer, **errors(404, 503)},
    )
    def get(self, request, exchange, base):
        return Response(drf_data(strikes_data, request, exchange, base))


async def strikes_data(query, exchange, base) -> dict:
    raw = query.get("expiry")
    expiry = None if raw is None else params.expiry(raw)
    exchange, base = params.exchange_name(exchange), params.base_name(base)
    return await status.strikes(exchange, base, expiry)


class FeedView(KnownQuery, APIView):
    """Each feed's status: state, message rate, last message age, reconnects."""

    @extend_schema(responses={200: FeedStatusSerializer(many=True), **errors(503)})
    def get(self, request):
        return Response(drf_data(feed_data, request))


async def feed_data(query) -> list[dict]:
    """One object per exchange that has underlyings in the database."""
    names = Underlying.objects.values_list("exchange", flat=True).distinct()
    return await status.feeds(sorted({name async for name in names}))


tick_handler = json_handler(tick_data, TickView)
expiries_handler = json_handler(expiries_data, ExpiriesView)
strikes_handler = json_handler(strikes_data, StrikesView)
feed_handler = json_handler(feed_data, FeedView)
