"""The REST API against a real Redis filled by the real feed from the simulator.

One feed streams for the whole module (starting one costs seconds); each test gets its
own database rows from the simulator's listing (refresh_universe in-process).
"""

import asyncio
import csv
import io
from datetime import timedelta

import httpx
import pytest
from django.core.cache import cache
from django.test import AsyncClient, Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from devtools.processes import free_port, wait_for
from feed.exchanges.bybit.listing import BybitListing
from feed.refresh import refresh_universe
from options.fields import FIELDS
from options.models import OptionContract, Underlying

CHAIN = "/api/chain/bybit/BTC/{}/"


@pytest.fixture(scope="module")
def stack(start_module_feed):
    """A private Redis, the simulator (200 contracts) and run_feed, for the module.
    The requests are served in this process (here and in test_api_schema.py, which
    hits it hundreds of times): the simulator gets a process of its own."""
    feed = start_module_feed("api", contracts=200, rate=2000, simulator="process")
    feed.url = feed.stack.redis_url
    wait_for(lambda: feed.redis.zrange("ot:expiries:bybit:BTC", 0, -1), 20, "indexes")
    yield feed
    feed.stack.close()


@pytest.fixture(autouse=True)
def api_redis(stack, settings):
    settings.REDIS_URL = stack.url  # options.clients follows the setting
    cache.clear()  # the throttles' counters


@pytest.fixture
def universe(db, stack):
    refresh_universe(listing=BybitListing(stack.sim.rest_url))
    return OptionContract.objects.all()


def widest_btc_expiry(feed) -> str:
    days = feed.redis.zrange("ot:expiries:bybit:BTC", 0, -1)
    return max(days, key=lambda d: feed.redis.zcard(f"ot:chain:bybit:BTC:{d}"))


def error_of(response, status: int, field=None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert set(error) == {"code", "message", "field"} and error["message"]
    assert error["field"] == field
    return error


# Chain --------------------------------------------------------------------------------


def test_the_chain_has_one_row_per_strike_with_exactly_what_redis_holds(stack):
    expiry = widest_btc_expiry(stack)
    with stack.still():
        body = Client().get(CHAIN.format(expiry)).json()
    index = stack.redis.zrange(f"ot:chain:bybit:BTC:{expiry}", 0, -1, withscores=True)
    assert body["exchange"] == "bybit" and body["expiry"] == expiry
    assert len(body["rows"]) == len({score for _, score in index})
    strikes = [float(row["strike"]) for row in body["rows"]]
    assert strikes == sorted(strikes)
    row = body["rows"][len(body["rows"]) // 2]
    call, put = row["call"], row["put"]
    assert call["symbol"].endswith(f"-{row['strike']}-C-USDT")
    assert put["symbol"].endswith(f"-{row['strike']}-P-USDT")
    stored = stack.redis.hgetall(f"ot:tick:bybit:{call['symbol']}")
    # The exchange's decimal strings, untouched; times as ISO 8601 UTC.
    for name in ("bid", "ask", "mark", "mark_iv", "delta", "underlying", "index"):
        assert call[name] == stored[name]
    assert call["ts"].endswith("Z") and call["ts"][:2] == "20"
    # The ATM strike is the one nearest the underlying price.
    atm = min(strikes, key=lambda s: abs(s - float(body["atm_price"])))
    assert float(body["atm_strike"]) == atm


def test_chain_filters_narrow_the_rows_and_the_columns(stack):
    expiry = widest_btc_expiry(stack)
    client = Client()
    strikes = [
        float(r["strike"]) for r in client.get(CHAIN.format(expiry)).json()["rows"]
    ]
    low, high = strikes[2], strikes[5]
    body = client.get(CHAIN.format(expiry), {"strike_min": low, "strike_max": high})
    assert [float(r["strike"]) for r in body.json()["rows"]] == strikes[2:6]

    body = client.get(CHAIN.format(expiry), {"around_atm": 2}).json()
    rows = [r["strike"] for r in body["rows"]]
    assert len(rows) == 5 and rows[2] == body["atm_strike"]
    assert (
        client.get(CHAIN.format(expiry), {"around_atm": 0}).json()["rows"][0]["strike"]
        == body["atm_strike"]
    )

    # Only the asked columns, though the ATM strike still uses the prices.
    body = client.get(CHAIN.format(expiry), {"fields": "mark,delta"}).json()
    assert set(body["rows"][0]["call"]) == {"symbol", "mark", "delta"}
    assert body["atm_strike"] is not None

    # Bounds that exclude everything give no rows, not an error.
    empty = client.get(CHAIN.format(expiry), {"strike_min": 10**9}).json()
    assert empty["rows"] == [] and empty["atm_strike"] is None


def test_the_chain_downloads_as_csv(stack):
    expiry = widest_btc_expiry(stack)
    response = Client().get(
        CHAIN.format(expiry), {"format": "csv", "fields": "bid,ask"}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert f"bybit-BTC-{expiry}.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["strike", "call_symbol", "call_bid", "call_ask",
                       "put_symbol", "put_bid", "put_ask"]  # fmt: skip
    assert len(rows) - 1 == stack.redis.zcard(f"ot:chain:bybit:BTC:{expiry}") // 2
    full = Client().get(CHAIN.format(expiry), {"format": "csv"}).content.decode()
    assert len(full.splitlines()[0].split(",")) == 1 + 2 * (1 + len(FIELDS))


def test_bad_chain_parameters_are_400s_that_name_the_parameter(stack):
    url = CHAIN.format(widest_btc_expiry(stack))
    client = Client()
    error_of(client.get(url, {"strike_min": "abc"}), 400, "strike_min")
    error_of(client.get(url, {"strike_max": "nan"}), 400, "strike_max")
    error_of(client.get(url, {"around_atm": "-1"}), 400, "around_atm")
    error = error_of(client.get(url, {"around_atm": "501"}), 400, "around_atm")
    assert "0 to 500" in error["message"]
    error = error_of(client.get(url, {"fields": "mark,colour"}), 400, "fields")
    assert "colour" in error["message"]
    error_of(client.get(CHAIN.format("2026-13-01")), 400, "expiry")
    error_of(client.get(CHAIN.format("27MAR26")), 400, "expiry")


def test_unknown_exchange_base_or_expiry_is_a_404_naming_it(stack):
    expiry = widest_btc_expiry(stack)
    client = Client()
    error_of(client.get(f"/api/chain/kraken/BTC/{expiry}/"), 404, "exchange")
    error = error_of(client.get(f"/api/chain/bybit/DOGE/{expiry}/"), 404, "base")
    assert "BTC" in error["message"]  # the known ones
    error_of(client.get(CHAIN.format("2020-01-03")), 404, "expiry")
    error_of(client.get("/api/nothing/here/"), 404)


# Ticks, expiries, strikes, feed -------------------------------------------------------


def test_a_tick_is_the_latest_state_with_its_age(stack):
    symbol = stack.redis.zrange("ot:chain:bybit:ETH:" + stack.redis.zrange(
        "ot:expiries:bybit:ETH", 0, 0)[0], 0, 0)[0]  # fmt: skip
    stack.sim.control("set", symbol=symbol, markPrice="123.4500")
    client = Client()
    wait_for(
        lambda: client.get(f"/api/ticks/bybit/{symbol}/").json()["mark"] == "123.4500",
        10,
        "the set mark price through the feed",
    )
    body = client.get(f"/api/ticks/bybit/{symbol}/").json()
    assert body["symbol"] == symbol and body["exchange"] == "bybit"
    assert 0 <= body["age_ms"] < 60_000
    assert body["recv_ts"].endswith("Z")
    error_of(client.get("/api/ticks/bybit/BTC-1JAN20-1-C/"), 404, "symbol")
    error_of(client.get(f"/api/ticks/kraken/{symbol}/"), 404, "exchange")


async def test_the_async_views_serve_from_a_running_loop(stack):
    expiry = widest_btc_expiry(stack)
    client = AsyncClient()
    for _ in range(3):  # the same loop's client, reused
        response = await client.get(CHAIN.format(expiry), {"around_atm": 1})
        assert response.status_code == 200 and len(response.json()["rows"]) == 3


def test_expiries_and_strikes_come_from_the_chain_indexes(stack):
    client = Client()
    days = stack.redis.zrange("ot:expiries:bybit:BTC", 0, -1)
    body = client.get("/api/expiries/bybit/btc/").json()
    assert [e["expiry"] for e in body["expiries"]] == days
    assert body["expiries"][0]["expires_at"].endswith("T08:00:00.000Z")
    index = stack.redis.zrange(f"ot:chain:bybit:BTC:{days[0]}", 0, -1, withscores=True)
    body = client.get("/api/strikes/bybit/BTC/", {"expiry": days[0]}).json()
    assert [float(s) for s in body["strikes"]] == sorted({s for _, s in index})
    every = client.get("/api/strikes/bybit/BTC/").json()
    assert every["expiry"] is None and len(every["strikes"]) >= len(body["strikes"])
    error_of(client.get("/api/strikes/bybit/BTC/", {"expiry": "soon"}), 400, "expiry")
    error_of(
        client.get("/api/strikes/bybit/BTC/", {"expiry": "2020-01-03"}), 404, "expiry"
    )
    error_of(client.get("/api/expiries/bybit/XYZ/"), 404, "base")


@pytest.mark.django_db
def test_the_feed_status_says_it_streams(stack, universe):
    [status] = Client().get("/api/feed/").json()
    assert status["exchange"] == "bybit" and status["state"] == "streaming"
    assert status["stale"] is False and status["heartbeat_age_ms"] < 5000
    assert status["msgs_total"] > 0 and status["malformed"] == 0
    assert status["last_msg_at"].endswith("Z")


def test_redis_down_is_a_503_in_the_same_shape(settings, db):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    btc = Underlying.objects.create(exchange="bybit", base_coin="BTC")
    now = timezone.now()
    OptionContract.objects.create(
        exchange="bybit", symbol="BTC-27MAR26-70000-C", underlying=btc,
        expiry=now + timedelta(days=30), strike=70000, option_type="C",
        settle_coin="USDC", first_seen=now, last_seen=now,
    )  # fmt: skip
    client = Client()
    urls = (CHAIN.format("2026-03-27"), "/api/ticks/bybit/BTC-27MAR26-70000-C/",
            "/api/expiries/bybit/BTC/", "/api/feed/", "/api/underlyings/")  # fmt: skip
    for url in urls:
        assert error_of(client.get(url), 503)["code"] == "unavailable"


# Database-backed endpoints ------------------------------------------------------------


def test_underlyings_carry_index_price_live_contracts_and_expiries(stack, universe):
    rows = {u["base_coin"]: u for u in Client().get("/api/underlyings/").json()}
    btc = rows["BTC"]
    assert btc["live_contracts"] == universe.filter(underlying__base_coin="BTC").count()
    assert btc["expiries"] == stack.redis.zrange("ot:expiries:bybit:BTC", 0, -1)
    assert float(btc["index_price"]) > 1000 and btc["enabled"] is True


def test_only_staff_may_enable_or_disable_an_underlying(universe, django_user_model):
    btc = Underlying.objects.get(base_coin="BTC")
    url = f"/api/underlyings/{btc.pk}/"
    body = {"enabled": False}
    anonymous = Client().patch(url, body, content_type="application/json")
    assert error_of(anonymous, 401)["code"] == "not_authenticated"
    assert anonymous["WWW-Authenticate"] == "Token"

    user = django_user_model.objects.create_user("quant", password="x")
    token = Token.objects.create(user=user)
    auth = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    plain = Client().patch(url, body, content_type="application/json", **auth)
    error_of(plain, 403)

    user.is_staff = True
    user.save()
    staff = Client().patch(url, body, content_type="application/json", **auth)
    assert staff.status_code == 200 and staff.json()["enabled"] is False
    btc.refresh_from_db()
    assert btc.enabled is False
    bad = Client().patch(url, {"enabled": "perhaps"}, content_type="application/json",
                         **auth)  # fmt: skip
    error_of(bad, 400, "enabled")
    # Only `enabled` is writable.
    Client().patch(url, {"base_coin": "ZZZ"}, content_type="application/json", **auth)
    btc.refresh_from_db()
    assert btc.base_coin == "BTC"
    error_of(Client().put(url, body, content_type="application/json", **auth), 405)


def test_contracts_filter_by_every_field(stack, universe):
    client = Client()
    expiry = widest_btc_expiry(stack)

    def symbols(**query):
        response = client.get("/api/contracts/", {"page_size": 1000, **query})
        assert response.status_code == 200, response.content
        return {c["symbol"] for c in response.json()["results"]}

    btc = universe.filter(underlying__base_coin="BTC")
    assert symbols(base="btc") == set(btc.values_list("symbol", flat=True))
    puts = symbols(base="BTC", expiry=expiry, type="P")
    assert puts and all(s.split("-")[3] == "P" for s in puts)
    assert len(puts) == stack.redis.zcard(f"ot:chain:bybit:BTC:{expiry}") // 2
    between = symbols(base="BTC", strike_min="80000", strike_max="90000")
    assert between == set(
        btc.filter(strike__gte=80000, strike__lte=90000).values_list(
            "symbol", flat=True
        )
    )
    OptionContract.objects.filter(symbol__in=list(puts)[:3]).update(is_active=False)
    assert len(symbols(active="false")) == 3
    assert symbols(exchange="kraken") == set()
    one = client.get("/api/contracts/", {"base": "BTC", "page_size": 1}).json()
    contract = one["results"][0]
    assert "." not in contract["strike"] and contract["base"] == "BTC"
    assert contract["expiry"].endswith("Z") or contract["expiry"].endswith("+00:00")


def test_bad_contract_filters_are_400s_and_a_bad_cursor_a_404(universe):
    client = Client()
    error_of(client.get("/api/contracts/", {"strike_min": "cheap"}), 400, "strike_min")
    error_of(client.get("/api/contracts/", {"type": "X"}), 400, "type")
    error_of(client.get("/api/contracts/", {"expiry": "2026-02-30"}), 400, "expiry")
    error_of(client.get("/api/contracts/", {"active": "maybe"}), 400, "active")
    error_of(client.get("/api/contracts/", {"cursor": "garbage"}), 404)
    error_of(client.get("/api/contracts/999999/"), 404)


def test_the_cursor_walks_every_contract_once_in_order(universe):
    client = Client()
    url, seen = "/api/contracts/?page_size=37", []
    while url:
        page = client.get(url).json()
        assert len(page["results"]) <= 37
        seen += [
            (c["expiry"], float(c["strike"]), c["symbol"]) for c in page["results"]
        ]
        url = page["next"]
    assert len(seen) == len({s for *_, s in seen}) == universe.count()
    assert [s[:2] for s in seen] == sorted(s[:2] for s in seen)


# Auth and throttling ------------------------------------------------------------------


def test_a_token_is_needed_when_the_setting_says_so(stack, settings, universe,
                                                    django_user_model):  # fmt: skip
    settings.API_TOKEN_REQUIRED = True
    expiry = widest_btc_expiry(stack)
    token = Token.objects.create(user=django_user_model.objects.create_user("q"))
    auth = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    for url in ("/api/underlyings/", CHAIN.format(expiry), "/api/feed/"):
        assert error_of(Client().get(url), 401)["code"] == "not_authenticated"
        assert Client().get(url, **auth).status_code == 200
    wrong = Client().get(CHAIN.format(expiry), HTTP_AUTHORIZATION="Token nope")
    assert error_of(wrong, 401)["code"] == "authentication_failed"


def test_anonymous_clients_are_throttled_only_when_configured(stack, settings, db):
    url = CHAIN.format(widest_btc_expiry(stack))
    client = Client()
    assert all(client.get(url).status_code == 200 for _ in range(5))
    settings.API_THROTTLE_ANON = "3/min"
    for target in (url, "/api/expiries/bybit/BTC/"):
        cache.clear()
        assert [client.get(target).status_code for _ in range(3)] == [200] * 3
        response = client.get(target)
        assert error_of(response, 429)["code"] == "throttled"
        assert int(response["Retry-After"]) > 0


# Browsable API and documentation ------------------------------------------------------


def test_the_browsable_api_schema_and_docs_are_served(stack, db):
    client = Client()
    html = client.get(CHAIN.format(widest_btc_expiry(stack)), HTTP_ACCEPT="text/html")
    assert html.status_code == 200 and b"The option chain of one expiry" in html.content
    # The DRF views get their data from the same async functions as the JSON.
    feed = client.get("/api/feed/", HTTP_ACCEPT="text/html")
    # (The description is rendered through markdown, which apprise brings along.)
    assert feed.status_code == 200 and b"<p>Each feed's status" in feed.content
    expiries = client.get("/api/expiries/bybit/BTC/", HTTP_ACCEPT="text/html")
    assert expiries.status_code == 200 and b"expires_at" in expiries.content
    root = client.get("/api/").json()
    assert root["chain"].endswith("/api/chain/{exchange}/{base}/{expiry}/")
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    paths = schema.json()["paths"]
    assert "/api/chain/{exchange}/{base}/{expiry}/" in paths
    assert "/api/ticks/{exchange}/{symbol}/" in paths
    docs = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in docs and "cdn" not in docs.lower()


# The ASGI shortcut for the hot reads (api/asgi.py) --------------------------------


async def asgi_gets(paths: list[str], **headers) -> list[httpx.Response]:
    """GETs through the project's ASGI application, all at once."""
    from tracker_project.asgi import application

    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
        return await asyncio.gather(*(c.get(path, headers=headers) for path in paths))


async def asgi_get(path: str, **headers) -> httpx.Response:
    return (await asgi_gets([path], **headers))[0]


@pytest.mark.django_db(transaction=True)
async def test_the_asgi_shortcut_answers_exactly_as_the_django_view(stack):
    expiry = widest_btc_expiry(stack)
    with stack.still():
        path = CHAIN.format(expiry) + "?around_atm=3&fields=bid,ask,mark"
        fast = await asgi_get(path)
        slow = await AsyncClient().get(path)
        assert fast.status_code == 200 and fast.json() == slow.json()
        assert fast.headers["x-content-type-options"] == "nosniff"
        # The security headers are Django's own, as on the ordinary path.
        for name in ("X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options",
                     "Cross-Origin-Opener-Policy"):  # fmt: skip
            assert fast.headers[name] == slow[name]
        assert fast.headers["content-length"] == str(len(fast.content))
        symbol = fast.json()["rows"][0]["call"]["symbol"]
        tick = await asgi_get(f"/api/ticks/bybit/{symbol}/")
        assert tick.json()["symbol"] == symbol and tick.json()["mark"]


@pytest.mark.django_db(transaction=True)
async def test_concurrent_requests_for_one_chain_share_reads(stack):
    expiry = widest_btc_expiry(stack)
    with stack.still():
        path = CHAIN.format(expiry) + "?around_atm=5"
        alone = await asgi_get(path)
        reads_before = stack.redis.info("commandstats")["cmdstat_zrange"]["calls"]
        burst = await asgi_gets([path] * 30)
        reads = stack.redis.info("commandstats")["cmdstat_zrange"]["calls"]
    # The same bytes as a request of its own, for a fraction of the reads.
    assert all(r.status_code == 200 and r.content == alone.content for r in burst)
    assert 1 <= reads - reads_before < 10


@pytest.mark.django_db(transaction=True)
async def test_the_asgi_shortcut_leaves_everything_else_to_django(stack):
    missing = await asgi_get("/api/ticks/bybit/BTC-1JAN20-1-C-USDT/")
    assert missing.status_code == 404 and missing.json()["error"]["field"] == "symbol"
    bad = await asgi_get(CHAIN.format("2026-13-01"))
    assert bad.status_code in (400, 404) and "error" in bad.json()
    html = await asgi_get(CHAIN.format(widest_btc_expiry(stack)), accept="text/html")
    assert html.status_code == 200 and "text/html" in html.headers["content-type"]
    wrong_host = await asgi_get("/api/ticks/bybit/X/", host="evil.example")
    assert wrong_host.status_code == 400
