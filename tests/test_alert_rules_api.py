"""/api/alert-rules/ and /api/alert-events/ through the Django test client, with the
private Redis: who may do what, clear 400s, the rule set written to Redis, firings
read from the event stream; and the admin's lists keep notify URLs masked."""

import json

import pytest
import redis
from django.test import Client
from rest_framework.authtoken.models import Token

from alerts import ruleset
from alerts.evaluate import Firing
from alerts.models import AlertEvent, AlertRule
from alerts.rules import Rule
from options import keys
from options.universe import sync_listing
from tests.test_api import error_of
from tests.test_universe import instrument

RULES = "/api/alert-rules/"
EVENTS = "/api/alert-events/"
SYMBOL = "BTC-27MAR99-70000-P-USDT"
SECRET = "json://127.0.0.1:9/hook?token=s3cr3t"
BODY = {"symbol": SYMBOL, "field": "mark", "condition": "above", "value": 1200,
        "cooldown_s": 60, "notify_urls": [SECRET]}  # fmt: skip


@pytest.fixture
def store(db, settings, redis_url):
    settings.REDIS_URL = redis_url
    symbols = [f"BTC-27MAR99-{k}-{t}-USDT" for k in (60000, 70000) for t in "CP"]
    sync_listing("bybit", "BTC", [instrument(s) for s in symbols])
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


def client_of(django_user_model, name: str, staff: bool) -> Client:
    user = django_user_model.objects.create_user(name, is_staff=staff)
    token = Token.objects.create(user=user).key
    return Client(HTTP_AUTHORIZATION=f"Token {token}")


@pytest.fixture
def staff(django_user_model) -> Client:
    return client_of(django_user_model, "ops", staff=True)


@pytest.fixture
def trader(django_user_model) -> Client:
    return client_of(django_user_model, "trader", staff=False)


def post(client: Client, body: dict, url=RULES, method="post"):
    return getattr(client, method)(url, body, content_type="application/json")


def rule_set(store) -> list[dict]:
    return json.loads(store.hget(keys.alert_rules("bybit"), "rules") or "[]")


def test_staff_post_a_rule_and_the_feed_s_rule_set_holds_it(
    store, staff, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(staff, BODY)
    assert response.status_code == 201, response.content
    made = response.json()
    # The notify URL is never shown again, only its masked form.
    assert "notify_urls" not in made and SECRET.split("?")[0] not in str(made)
    assert made["destinations"] == ["json://127.0.0.1:9/***"]
    assert made["exchange"] == "bybit" and made["enabled"] is True
    [entry] = rule_set(store)
    assert entry["id"] == made["id"] and entry["notify_urls"] == [SECRET]
    assert entry["value"] == 1200 and entry["symbol"] == SYMBOL


def test_a_change_gets_a_new_version_announced_on_the_channel(
    store, staff, django_capture_on_commit_callbacks
):
    listener = store.pubsub(ignore_subscribe_messages=True)
    listener.subscribe(keys.alert_rules_channel("bybit"))
    made = post(staff, BODY).json()
    with django_capture_on_commit_callbacks(execute=True):
        patched = post(staff, {"enabled": False}, f"{RULES}{made['id']}/", "patch")
    assert patched.status_code == 200 and patched.json()["enabled"] is False
    messages = (listener.get_message(timeout=0.5) for _ in range(4))
    message = next(m for m in messages if m)
    assert message["data"] == store.hget(keys.alert_rules("bybit"), "version")
    assert rule_set(store) == []  # disabled rules leave the set
    with django_capture_on_commit_callbacks(execute=True):
        post(staff, {"enabled": True}, f"{RULES}{made['id']}/", "patch")
    assert [r["id"] for r in rule_set(store)] == [made["id"]]
    with django_capture_on_commit_callbacks(execute=True):
        assert staff.delete(f"{RULES}{made['id']}/").status_code == 204
    assert rule_set(store) == []
    listener.close()


def test_a_whole_chain_rule_and_a_change_pct_rule_are_accepted(store, staff):
    chain = {**BODY, "symbol": "", "base": "btc", "expiry": "2099-03-27",
             "condition": "change_pct", "value": 5, "window_s": 300}  # fmt: skip
    response = post(staff, chain)
    assert response.status_code == 201, response.content
    assert response.json()["base"] == "BTC"
    assert AlertRule.objects.get().as_rule().describe() == "mark change_pct 5 in 300 s"


@pytest.mark.parametrize(
    "change, field",
    [
        ({"symbol": "BTC-27MAR99-99999-P-USDT"}, "symbol"),  # not listed
        ({"symbol": "BTC-PERP"}, "symbol"),
        ({"base": "BTC", "expiry": "2099-03-27"}, "symbol"),  # both targets
        ({"symbol": ""}, "symbol"),  # no target
        ({"symbol": "", "base": "BTC", "expiry": "2099-01-01"}, "expiry"),
        ({"symbol": "", "base": "BTC"}, "expiry"),
        ({"field": "gamma"}, "field"),
        ({"condition": "between"}, "condition"),
        ({"value": "lots"}, "value"),
        ({"value": None}, "value"),
        ({"condition": "change_pct"}, "window_s"),
        ({"condition": "change_pct", "window_s": 60, "value": -5}, "value"),
        ({"window_s": 60}, "window_s"),
        ({"cooldown_s": -1}, "cooldown_s"),
        ({"cooldown_s": 10**7}, "cooldown_s"),
        ({"notify_urls": ["not a url"]}, "notify_urls"),
        ({"notify_urls": SECRET}, "notify_urls"),
        ({"enabled": "yes"}, "enabled"),
    ],
)
def test_a_bad_rule_is_a_400_naming_the_field_and_nothing_is_saved(
    store, staff, change, field
):
    error = error_of(post(staff, {**BODY, **change}), 400, field)
    assert SECRET not in error["message"]
    assert not AlertRule.objects.exists()


def test_a_patch_is_checked_with_the_terms_it_leaves_unchanged(store, staff):
    made = post(staff, BODY).json()
    url = f"{RULES}{made['id']}/"
    error_of(post(staff, {"condition": "change_pct"}, url, "patch"), 400, "window_s")
    ok = post(staff, {"condition": "change_pct", "window_s": 60, "value": 3}, url,
              "patch")  # fmt: skip
    assert ok.status_code == 200 and ok.json()["window_s"] == 60
    # A PATCH without notify_urls keeps them.
    assert AlertRule.objects.get().notify_urls == [SECRET]


def test_writes_are_for_staff_and_reads_for_signed_in_users(store, staff, trader):
    made = post(staff, BODY).json()
    error_of(post(trader, BODY), 403)
    error_of(post(trader, {"value": 1}, f"{RULES}{made['id']}/", "patch"), 403)
    error_of(trader.delete(f"{RULES}{made['id']}/"), 403)
    anonymous = Client()
    for url in (RULES, f"{RULES}{made['id']}/", EVENTS):
        error_of(anonymous.get(url), 401)
    error_of(post(anonymous, BODY), 401)
    listed = trader.get(RULES).json()
    assert [r["id"] for r in listed] == [made["id"]]
    assert "notify_urls" not in listed[0]
    assert AlertRule.objects.count() == 1


def test_unknown_query_parameters_are_400s(store, trader):
    error_of(trader.get(RULES, {"symbol": SYMBOL}), 400, "symbol")
    error_of(trader.get(EVENTS, {"rul": "1"}), 400, "rul")
    error_of(trader.get(EVENTS, {"rule": "x"}), 400, "rule")


def fire(store, rule: Rule, symbol: str, value: str, at: float) -> None:
    """A firing as the feed appends it to the event stream (alerts.evaluate)."""
    firing = Firing(rule, symbol, value, at, f"above {rule.value:g}")
    store.xadd(keys.alert_events("bybit"), firing.event())


def test_firings_in_the_stream_are_listed_once_filtered_and_paginated(
    store, staff, trader
):
    made = post(staff, BODY).json()
    rule = AlertRule.objects.get().as_rule()
    other = "BTC-27MAR99-60000-C-USDT"
    fire(store, rule, SYMBOL, "1250", 1_900_000_000)
    fire(store, rule, other, "1300", 1_900_000_010)
    fire(store, rule, SYMBOL, "1400", 1_900_000_020)
    page = trader.get(EVENTS, {"page_size": 2}).json()
    assert [e["value"] for e in page["results"]] == [1400, 1300]  # newest first
    first = page["results"][0]
    assert first["rule"] == made["id"] and first["symbol"] == SYMBOL
    assert first["message"] == f"{SYMBOL} mark 1400 above 1200"
    assert first["fired_at"] == "2030-03-17T17:47:00Z"
    rest = trader.get(page["next"]).json()
    assert [e["value"] for e in rest["results"]] == [1250] and rest["next"] is None
    by_symbol = trader.get(EVENTS, {"symbol": other}).json()["results"]
    assert [e["value"] for e in by_symbol] == [1300]
    assert trader.get(EVENTS, {"rule": made["id"] + 1}).json()["results"] == []
    assert AlertEvent.objects.count() == 3  # read again: not stored twice


def test_firings_of_a_deleted_rule_stay_listed(store, staff, trader):
    made = post(staff, BODY).json()
    fire(store, AlertRule.objects.get().as_rule(), SYMBOL, "1250", 1_900_000_000)
    staff.delete(f"{RULES}{made['id']}/")
    [event] = trader.get(EVENTS).json()["results"]
    assert event["rule"] is None and event["symbol"] == SYMBOL


def test_the_admin_lists_show_destinations_masked(store, admin_client):
    AlertRule.objects.create(symbol=SYMBOL, field="mark", condition="above",
                             value=1200, notify_urls=[SECRET])  # fmt: skip
    fire(store, AlertRule.objects.get().as_rule(), SYMBOL, "1250", 1_900_000_000)
    rules = admin_client.get("/admin/alerts/alertrule/").content.decode()
    assert "json://127.0.0.1:9/***" in rules and "s3cr3t" not in rules
    events = admin_client.get("/admin/alerts/alertevent/").content.decode()
    assert f"{SYMBOL} mark 1250 above 1200" in events and "s3cr3t" not in events


def test_a_rule_saved_while_redis_is_down_reaches_it_with_the_next_sync(
    db, settings, own_redis, staff, django_capture_on_commit_callbacks
):
    settings.REDIS_URL = own_redis.url
    symbols = ["BTC-27MAR99-70000-P-USDT"]
    sync_listing("bybit", "BTC", [instrument(s) for s in symbols])
    own_redis.stop()
    with django_capture_on_commit_callbacks(execute=True):
        response = post(staff, BODY)
    assert response.status_code == 201  # saved; the feed hears of it later
    own_redis.start()
    client = redis.Redis.from_url(own_redis.url, decode_responses=True)
    assert rule_set(client) == []
    ruleset.sync()  # Celery beat's task, every 5 s
    assert [r["id"] for r in rule_set(client)] == [response.json()["id"]]
    client.close()
