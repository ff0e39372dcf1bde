"""Bad query parameters are 400s that name the parameter, and the OpenAPI document
states every rule the server applies (the disagreements schemathesis found).

The chain and tick requests go both through Django and through the ASGI shortcut
(api/asgi.py). Their 400s come before any read, so an empty private Redis serves.
"""

import re

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from api.params import FIELD_NAMES, STRIKE_LIMIT
from devtools.processes import BASE_DIR
from options.history_models import HISTORY_FIELDS
from options.models import Underlying
from tests.test_api import asgi_get, error_of
from tests.test_browser import browser  # noqa: F401  (Chromium)

CHAIN = "/api/chain/bybit/BTC/2026-03-27/"
TICK = "/api/ticks/bybit/BTC-27MAR26-70000-P-USDT/"
FILTER_FORM_JS = BASE_DIR / "api" / "static" / "api" / "filter_form.js"


@pytest.fixture(autouse=True)
def private_redis(redis_url, settings):
    settings.REDIS_URL = redis_url


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        return Client().get("/api/schema/?format=json").json()


def parameter(schema: dict, path: str, name: str) -> dict:
    declared = schema["paths"][path]["get"]["parameters"]
    [found] = [p for p in declared if p["name"] == name]
    return found["schema"]


def test_page_size_is_a_whole_number_from_1_to_1000(db, schema):
    # null was a page of the default size; 0 and 5000 were quietly changed too.
    for bad in ("null", "0", "1001", "1.5", "-1", ""):
        response = Client().get("/api/contracts/", {"page_size": bad})
        error_of(response, 400, "page_size")
    assert Client().get("/api/contracts/", {"page_size": 1000}).status_code == 200
    stated = parameter(schema, "/api/contracts/", "page_size")
    assert stated == {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}


def test_an_empty_expiry_is_a_400_not_every_expiry(db, schema):
    # `?expiry=` gave the strikes of every expiry, though the schema says a date.
    error_of(Client().get("/api/strikes/bybit/BTC/", {"expiry": ""}), 400, "expiry")
    error_of(Client().get("/api/contracts/", {"expiry": ""}), 400, "expiry")
    assert parameter(schema, "/api/strikes/{exchange}/{base}/", "expiry") == {
        "type": "string",
        "format": "date",
    }


def test_strike_bounds_stop_at_the_limit_the_schema_states(db, schema):
    # 1.2e301 was refused on /api/contracts/ with a limit (1e50) nowhere stated.
    for path in ("/api/contracts/", "/api/chain/{exchange}/{base}/{expiry}/"):
        stated = parameter(schema, path, "strike_min")
        assert (stated["minimum"], stated["maximum"]) == (-STRIKE_LIMIT, STRIKE_LIMIT)
    for url in ("/api/contracts/", CHAIN):
        huge = Client().get(url, {"strike_min": "1.2e301"})
        assert f"{STRIKE_LIMIT:g}" in error_of(huge, 400, "strike_min")["message"]
        below = Client().get(url, {"strike_max": "-1000000000000001"})
        error_of(below, 400, "strike_max")
    at_limit = {"strike_min": f"{-STRIKE_LIMIT:g}", "strike_max": f"{STRIKE_LIMIT:g}"}
    assert Client().get("/api/contracts/", at_limit).status_code == 200
    # The chain takes them too: the empty Redis answers, not the parser.
    error_of(Client().get(CHAIN, at_limit), 404, "exchange")


def test_fields_takes_exactly_the_names_the_schema_lists(schema):
    stated = parameter(schema, "/api/chain/{exchange}/{base}/{expiry}/", "fields")
    pattern = re.compile(stated["pattern"])
    assert pattern.match(",".join(FIELD_NAMES)) and pattern.match("mark")
    # An unknown name was refused although the schema allowed any string.
    for bad in ("colour", "mark,colour", "mark, delta", "mark,,delta", "mark,"):
        assert not pattern.match(bad)
        error_of(Client().get(CHAIN, {"fields": bad}), 400, "fields")


def test_unknown_repeated_and_empty_parameters_are_400s_naming_them(db):
    client = Client()
    # A misspelt filter no longer widens the result without a word.
    typo = client.get("/api/contracts/", {"strke_min": "1"})
    assert "strike_min" in error_of(typo, 400, "strke_min")["message"]
    error_of(client.get("/api/feed/", {"verbose": "1"}), 400, "verbose")
    error_of(client.get(TICK, {"fields": "mark"}), 400, "fields")
    error_of(client.get(f"{CHAIN}?around_atm=1&around_atm=2"), 400, "around_atm")
    error_of(client.get(CHAIN, {"strike_min": ""}), 400, "strike_min")
    error_of(client.get(CHAIN, {"format": ""}), 400, "format")


def test_an_unknown_format_is_a_400_naming_the_known_ones(db):
    error = error_of(Client().get(CHAIN, {"format": "xml"}), 400, "format")
    assert "csv" in error["message"]
    error_of(Client().get("/api/feed/", {"format": "csv"}), 400, "format")


@pytest.mark.django_db(transaction=True)
async def test_the_asgi_shortcut_applies_the_same_rules():
    for query, field in (("fields=colour", "fields"), ("around_atm=", "around_atm"),
                         ("strike_min=1.2e301", "strike_min"), ("page=2", "page"),
                         ("format=xml", "format")):  # fmt: skip
        response = await asgi_get(f"{CHAIN}?{query}")
        assert response.status_code == 400, (query, response.text)
        assert response.json()["error"]["field"] == field
    response = await asgi_get(f"{TICK}?fields=mark")
    assert response.status_code == 400 and response.json()["error"]["field"] == "fields"


def test_a_method_an_endpoint_lacks_is_a_405_for_anyone(db):
    # Anonymous TRACE and POST were 401s: the permission ran before the method check.
    for method, url in (("trace", "/api/feed/"), ("post", CHAIN),
                        ("put", "/api/underlyings/1/"), ("delete", TICK)):  # fmt: skip
        response = getattr(Client(), method)(url)
        assert error_of(response, 405)["code"] == "method_not_allowed"
        assert "GET" in response["Allow"]


def test_enabled_takes_json_true_or_false_only(db, django_user_model):
    staff = django_user_model.objects.create_user("ops", is_staff=True)
    auth = {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=staff).key}"}
    btc = Underlying.objects.create(exchange="bybit", base_coin="BTC")
    url = f"/api/underlyings/{btc.pk}/"
    for bad in (0, 1, "yes", "false", None):
        body = {"enabled": bad}
        response = Client().patch(url, body, content_type="application/json", **auth)
        error_of(response, 400, "enabled")
    btc.refresh_from_db()
    assert btc.enabled is True
    body = {"enabled": False}
    ok = Client().patch(url, body, content_type="application/json", **auth)
    assert ok.status_code == 200 and ok.json()["enabled"] is False


@pytest.fixture
def filter_form(db) -> str:
    """The contracts' filter form as the browsable API renders it."""
    page = Client().get("/api/contracts/", HTTP_ACCEPT="text/html").content.decode()
    return re.search(r'<form class="form api-filters".*?</script>', page, re.S)[0]


@pytest.mark.browser
def test_the_browsable_filter_form_leaves_empty_fields_out(filter_form, browser):  # noqa: F811
    # The form sends every field; empty ones would be 400s now.
    sent = []

    def serve_form(route):  # no server: the browser only has to submit the form
        if route.request.url.endswith("/filter_form.js"):
            route.fulfill(path=FILTER_FORM_JS, content_type="text/javascript")
            return
        sent.append(route.request.url)
        route.fulfill(body=f"<body>{filter_form}</body>", content_type="text/html")

    page = browser.new_page()
    page.route("http://api.test/**", serve_form)
    page.goto("http://api.test/api/contracts/")
    page.fill("#id_base", "btc")
    page.select_option("#id_type", "P")
    page.click("button[type=submit]")
    page.wait_for_function("location.search !== ''")
    assert sent[-1] == "http://api.test/api/contracts/?base=btc&type=P"


def test_the_history_parameters_are_what_the_schema_states(db, schema):
    path = "/api/history/{exchange}/{symbol}/"
    assert parameter(schema, path, "step") == {
        "type": "integer", "minimum": 1, "maximum": 86400,
    }  # fmt: skip
    for name in ("since", "until"):
        assert parameter(schema, path, name)["format"] == "date-time"
    chain = "/api/chain/{exchange}/{base}/{expiry}/"
    assert parameter(schema, chain, "at")["format"] == "date-time"
    pattern = re.compile(parameter(schema, path, "fields")["pattern"])
    assert pattern.match(",".join(HISTORY_FIELDS)) and not pattern.match("recv_ts")
    url = "/api/history/bybit/BTC-27MAR26-70000-P-USDT/"
    for query, field in (({"step": "0"}, "step"), ({"step": "86401"}, "step"),
                         ({"fields": "recv_ts"}, "fields"), ({"until": "x"}, "until"),
                         ({"strike_min": "1"}, "strike_min")):  # fmt: skip
        error_of(Client().get(url, query), 400, field)
    # Well-formed: the empty history answers, not the parser.
    error_of(Client().get(url, {"step": "86400", "fields": "mark"}), 404, "symbol")


def test_the_analytics_take_the_conventions_and_times_the_schema_states(db, schema):
    url = "/api/analytics/bybit/BTC/"
    for path in ("/api/analytics/{exchange}/{base}/",
                 "/api/analytics/{exchange}/{base}/{expiry}/"):  # fmt: skip
        assert parameter(schema, path, "gex") == {
            "type": "string",
            "enum": ["classic", "short"],
        }
    for bad in ("long", "CLASSIC", ""):
        error_of(Client().get(url, {"gex": bad}), 400, "gex")
        error_of(Client().get(f"{url}2026-03-27/", {"gex": bad}), 400, "gex")
    history = "/api/analytics/{exchange}/{base}/history/"
    assert parameter(schema, history, "since")["format"] == "date-time"
    error_of(Client().get(f"{url}history/", {"since": "noon"}), 400, "since")
    # The empty Redis answers once the parameters are good.
    error_of(Client().get(url, {"gex": "short"}), 404, "exchange")


@pytest.mark.django_db(transaction=True)
async def test_the_asgi_shortcut_checks_the_analytics_parameters_too():
    for url in ("/api/analytics/bybit/BTC/?gex=long",
                "/api/analytics/bybit/BTC/2026-03-27/?gex=long"):  # fmt: skip
        response = await asgi_get(url)
        assert (
            response.status_code == 400 and response.json()["error"]["field"] == "gex"
        )
