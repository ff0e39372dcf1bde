"""Schemathesis over the whole OpenAPI document, against the app with real data.

Each operation gets a bounded number of generated requests (valid and invalid
parameters); every response must be no server error and agree with the schema: its
status documented, its content type documented, its body valid. The path parameters
get real names as examples (exchange, base, an expiry and a symbol from Redis), so the
chain and tick bodies that come back are real ones, not only 404s.
"""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from feed.exchanges.bybit.listing import BybitListing
from feed.refresh import refresh_universe
from tests.test_api import api_redis, stack  # noqa: F401  (the module's fixtures)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def api_schema(stack, db):  # noqa: F811
    # SOL alone (30 contracts) keeps the contract pages, hit hundreds of times, small.
    refresh_universe(bases=["SOL"], listing=BybitListing(stack.sim.rest_url))
    expiry = stack.redis.zrange("ot:expiries:bybit:SOL", 0, 0)[0]
    examples = {
        "exchange": "bybit",
        "base": "SOL",
        "expiry": expiry,
        "symbol": stack.redis.zrange(f"ot:chain:bybit:SOL:{expiry}", 0, 0)[0],
    }
    raw = Client().get("/api/schema/?format=json").json()
    for item in raw["paths"].values():
        for operation in item.values():
            for param in operation.get("parameters", []):
                if param["in"] == "path" and param["name"] in examples:
                    param["example"] = examples[param["name"]]
    loaded = schemathesis.openapi.from_dict(raw)
    loaded.app = get_wsgi_application()
    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_operation_agrees_with_its_schema(case):
    case.call_and_validate(checks=CHECKS)
