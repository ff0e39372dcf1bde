"""The analytics endpoints: every expiry of an underlying, one expiry with its GEX by
strike, and the minute samples of the last 24 hours.

Each has one data function, served by a fast handler (api.fast) with its DRF view
behind it for the browsable API and the schema, as the chain is. The numbers are
options.analytics_read's (definitions: docs/analytics.md); the samples come from the
database (options.samples), so that endpoint runs on Django's whole path.
"""

import orjson
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from api import params
from api.analytics_serializers import (
    ExpiryAnalyticsSerializer,
    SamplesSerializer,
    UnderlyingAnalyticsSerializer,
)
from api.coalesce import coalescer
from api.errors import bad_parameter, errors
from api.fast import drf_data, json_handler
from api.live_views import BASE, EXCHANGE, EXPIRY
from api.strict import KnownQuery
from options import samples
from options.analytics_read import read_analytics, read_expiry_analytics
from options.gex import CONVENTIONS, DEFAULT_CONVENTION

Q = OpenApiParameter.QUERY
GEX_QUERY = (
    OpenApiParameter(
        "gex",
        str,
        Q,
        enum=list(CONVENTIONS),
        description="GEX convention: classic (dealers long calls, short puts; the "
        "default) or short (dealers short both)",
    ),
)
RANGE_QUERY = (
    OpenApiParameter(
        "since",
        {"type": "string", "format": "date-time"},
        Q,
        description="ISO 8601 time; default: `until` minus HISTORY_RETENTION",
    ),
    OpenApiParameter(
        "until",
        {"type": "string", "format": "date-time"},
        Q,
        description="ISO 8601 time; default: now",
    ),
)


def convention(raw: str) -> str:
    if raw in CONVENTIONS:
        return raw
    raise ValueError(f"{raw!r} is not one of {', '.join(CONVENTIONS)}")


def gex_convention(query) -> str:
    return params.parsed(query, "gex", convention) or DEFAULT_CONVENTION


def names(exchange: str, base: str) -> tuple[str, str]:
    return params.exchange_name(exchange), params.base_name(base)


class AnalyticsView(KnownQuery, APIView):
    """Analytics of every expiry of an underlying (without GEX by strike), its term
    structure, constant-maturity ATM IVs and totals. Definitions: docs/analytics.md."""

    query = GEX_QUERY

    @extend_schema(
        operation_id="analytics_underlying",
        parameters=[EXCHANGE, BASE, *query],
        responses={200: UnderlyingAnalyticsSerializer, **errors(404, 503)},
    )
    def get(self, request, exchange, base):
        return Response(drf_data(analytics_data, request, exchange, base))


async def analytics_data(query, exchange, base) -> dict:
    wanted = gex_convention(query)
    return (await read_analytics(*names(exchange, base), wanted)).as_dict()


class ExpiryAnalyticsView(KnownQuery, APIView):
    """Analytics of one expiry, with its gamma exposure by strike."""

    query = GEX_QUERY

    @extend_schema(
        operation_id="analytics_expiry",
        parameters=[EXCHANGE, BASE, EXPIRY, *query],
        responses={200: ExpiryAnalyticsSerializer, **errors(404, 503)},
    )
    def get(self, request, exchange, base, expiry):
        return Response(drf_data(expiry_data, request, exchange, base, expiry))


async def expiry_data(query, exchange, base, expiry) -> dict:
    wanted = gex_convention(query)
    exchange, base = names(exchange, base)
    return await read_expiry_analytics(exchange, base, params.expiry(expiry), wanted)


class AnalyticsHistoryView(KnownQuery, APIView):
    """RR25, BF25 (per expiry) and constant-maturity ATM IVs kept once a
    HISTORY_INTERVAL while HISTORY_ENABLED, oldest first."""

    query = RANGE_QUERY

    @extend_schema(
        operation_id="analytics_history",
        parameters=[EXCHANGE, BASE, *query],
        responses={200: SamplesSerializer, **errors(400)},
    )
    def get(self, request, exchange, base):
        return Response(drf_data(history_data, request, exchange, base))


async def history_data(query, exchange, base) -> dict:
    since = params.parsed(query, "since", samples.parse_time)
    until = params.parsed(query, "until", samples.parse_time)
    try:
        window = samples.window(since, until)
    except ValueError as exc:
        raise bad_parameter("since", str(exc)) from None
    return await samples.read_samples(*names(exchange, base), *window)


def shared_handler(data, view_cls):
    """A fast handler answering `data(query, *path)` as JSON, after the DRF view's
    query check; identical concurrent requests share one computation (api.coalesce,
    as the chain's do), since one underlying's analytics read all its contracts."""
    allowed = view_cls().query_names()

    async def handler(request, fmt, **path):
        params.check_query(request.GET, allowed)
        query = request.GET
        key = (view_cls.__name__, *path.values(), *sorted(query.items()))

        async def body() -> bytes:
            return orjson.dumps(await data(query, **path))

        found = await coalescer().run(key, body)
        return HttpResponse(found, content_type="application/json")

    return handler


analytics_handler = shared_handler(analytics_data, AnalyticsView)
expiry_handler = shared_handler(expiry_data, ExpiryAnalyticsView)
history_handler = json_handler(history_data, AnalyticsHistoryView)
