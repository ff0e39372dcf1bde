"""Schemathesis over the whole OpenAPI document, against the app with real data.

Every check schemathesis has runs on every response: no server error; status,
content type, headers and body as documented; valid requests accepted and invalid
ones refused; unsupported methods answered 405; the write refused without (or with
wrong) credentials. Each operation gets its coverage cases (boundaries, wrong types,
missing, repeated and unknown parameters, other methods) and a bounded number of
generated ones. Reads go anonymously (the alert endpoints' with the token they
need), writes with a staff user's token (the ignored_auth check then sends it again
without and with wrong credentials). The
settings are schemathesis.toml's, as for `schemathesis run` (docs/api.md).

The path parameters get real names as examples (exchange, base, an expiry and a
symbol from Redis), so the chain and tick bodies that come back are real ones, not
only 404s.
"""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.test import Client
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import CHECKS
from schemathesis.config import SchemathesisConfig

from devtools.processes import BASE_DIR
from feed.exchanges.bybit.listing import BybitListing
from feed.refresh import refresh_universe
from options.models import OptionContract
from tests.test_api import api_redis, stack  # noqa: F401  (the module's fixtures)

CONFIG = BASE_DIR / "schemathesis.toml"


@pytest.fixture
def api_schema(stack, db):  # noqa: F811
    refresh_universe(bases=["SOL"], listing=BybitListing(stack.sim.rest_url))
    # One expiry of SOL keeps the contract pages, hit six hundred times, small.
    soonest = OptionContract.objects.earliest("expiry").expiry
    OptionContract.objects.exclude(expiry=soonest).delete()
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
                    param.pop("examples", None)
                    param["example"] = examples[param["name"]]
    loaded = schemathesis.openapi.from_dict(
        raw, config=SchemathesisConfig.from_path(CONFIG)
    )
    loaded.app = get_wsgi_application()
    return loaded


@pytest.fixture
def staff_token(django_user_model) -> str:
    staff = django_user_model.objects.create_user("ops", is_staff=True)
    return Token.objects.create(user=staff).key


schema = schemathesis.pytest.from_fixture("api_schema")
EVERY_CHECK = CHECKS.get_all()


# Every operation in one test: past 120 s on a loaded machine since the alert
# endpoints' eight operations joined (over 300 s at a load average of 15).
@pytest.mark.timeout(600)
@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_operation_agrees_with_its_schema(case, staff_token):
    writes = case.method not in ("GET", "HEAD")
    private = case.path.startswith("/api/alert-")  # reads need a signed-in user
    auth = {"Authorization": f"Token {staff_token}"} if writes or private else None
    case.call_and_validate(checks=EVERY_CHECK, headers=auth)
