"""The Redis-backed endpoints. Each is served by an async handler (api.fast) with its
DRF view behind it for the browsable API and the schema; both get their data from the
same async function (api.chain, api.status)."""

from functools import partial

import orjson
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
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
from options.fields import FIELDS
from options.models import Underlying

Q = OpenApiParameter.QUERY
P = OpenApiParameter.PATH
EXCHANGE = OpenApiParameter("exchange", str, P, description="Registry name, e.g. bybit")
BASE = OpenApiParameter("base", str, P, description="Base coin, e.g. BTC")
EXPIRY = OpenApiParameter(
    "expiry", OpenApiTypes.DATE, P, description="Expiry date YYYY-MM-DD (UTC)"
)
CHAIN_QUERY = [
    OpenApiParameter("strike_min", OpenApiTypes.NUMBER, Q, description="Lowest strike"),
    OpenApiParameter(
        "strike_max", OpenApiTypes.NUMBER, Q, description="Highest strike"
    ),
    OpenApiParameter(
        "around_atm",
        {"type": "integer", "minimum": 0, "maximum": params.AROUND_ATM_MAX},
        Q,
        description=f"N strikes each side of the ATM one (0-{params.AROUND_ATM_MAX})",
    ),  # fmt: skip
    OpenApiParameter(
        "fields",
        str,
        Q,
        explode=False,
        description=f"Comma-separated store fields: {', '.join(FIELDS)}",
    ),  # fmt: skip
    OpenApiParameter(
        "format", str, Q, enum=["json", "csv"], description="csv downloads"
    ),
]


class ChainView(APIView):
    """The option chain of one expiry: one row per strike, call and put side by side."""

    renderer_classes = [JSONRenderer, BrowsableAPIRenderer, CsvRenderer]

    @extend_schema(
        parameters=[EXCHANGE, BASE, EXPIRY, *CHAIN_QUERY],
        responses={
            (200, "application/json"): ChainSerializer,
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR),
            **errors(400, 404, 503),
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


class TickView(APIView):
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


class ExpiriesView(APIView):
    """The expiries of one base coin that have a chain in Redis, soonest first."""

    @extend_schema(
        parameters=[EXCHANGE, BASE],
        responses={200: ExpiriesSerializer, **errors(404, 503)},
    )
    def get(self, request, exchange, base):
        return Response(drf_data(expiries_data, request, exchange, base))


async def expiries_data(query, exchange, base) -> dict:
    return await status.expiries(params.exchange_name(exchange), params.base_name(base))


class StrikesView(APIView):
    """The strikes of one expiry (or of all expiries) of a base coin, from Redis."""

    @extend_schema(
        parameters=[
            EXCHANGE,
            BASE,
            OpenApiParameter(
                "expiry", OpenApiTypes.DATE, Q, description="YYYY-MM-DD; all if absent"
            ),
        ],
        responses={200: StrikesSerializer, **errors(400, 404, 503)},
    )
    def get(self, request, exchange, base):
        return Response(drf_data(strikes_data, request, exchange, base))


async def strikes_data(query, exchange, base) -> dict:
    raw = query.get("expiry")
    expiry = params.expiry(raw) if raw else None
    exchange, base = params.exchange_name(exchange), params.base_name(base)
    return await status.strikes(exchange, base, expiry)


class FeedView(APIView):
    """Each feed's status: state, message rate, last message age, reconnects."""

    @extend_schema(responses={200: FeedStatusSerializer(many=True), **errors(503)})
    def get(self, request):
        return Response(drf_data(feed_data, request))


async def feed_data(query) -> list[dict]:
    """One object per exchange that has underlyings in the database."""
    names = Underlying.objects.values_list("exchange", flat=True).distinct()
    return await status.feeds(sorted({name async for name in names}))


tick_handler = json_handler(tick_data)
expiries_handler = json_handler(expiries_data)
strikes_handler = json_handler(strikes_data)
feed_handler = json_handler(feed_data)
