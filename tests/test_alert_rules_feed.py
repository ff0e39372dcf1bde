"""Market alert rules end to end: a rule posted to the API reaches the running
`run_feed` through Redis, fires when the simulator's price crosses it, and the
notification arrives at a local HTTP receiver through an apprise json:// URL; the
firing is listed at /api/alert-events/. Every part is real: the simulator over
WebSockets, the feed process, Redis, apprise's delivery process, the receiver."""

import time

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from devtools.processes import free_port, wait_for
from feed.exchanges.bybit.listing import BybitListing
from feed.refresh import refresh_universe
from options import keys
from tests.test_metrics import BYBIT, scrape

RULES = "/api/alert-rules/"


@pytest.fixture
def feed(feed_for, settings, db):
    """A streaming feed with its metrics on a port; this process's database knows
    its universe (the API refuses rules on unknown contracts)."""
    port = free_port()
    running = feed_for("--metrics-port", str(port), contracts=200, rate=2000).start()
    running.metrics = f"http://127.0.0.1:{port}/metrics"
    settings.REDIS_URL = running.stack.redis_url
    refresh_universe(bases=["BTC"], listing=BybitListing(running.sim.rest_url))
    running.wait_streaming()
    return running


@pytest.fixture
def staff(django_user_model) -> Client:
    user = django_user_model.objects.create_user("ops", is_staff=True)
    return Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")


def set_mark(feed, symbol: str, mark: str) -> None:
    """Pin the contract's mark at the simulator and wait until Redis has it."""
    feed.sim.control("set", symbol=symbol, markPrice=mark)
    key = keys.tick("bybit", symbol)
    wait_for(lambda: feed.redis.hget(key, "mark") == mark, 10, f"mark {mark}")


def firings(feed) -> list[dict]:
    return [fields for _, fields in feed.redis.xrange(keys.alert_events("bybit"))]


def in_force(feed, count: int) -> None:
    wait_for(
        lambda: f"{count} alert rules in force" in feed.log_tail(), 10, feed.log_tail
    )


def test_a_rule_fires_once_when_the_price_crosses_it_and_not_again_in_its_cooldown(
    feed, staff, receiver, django_capture_on_commit_callbacks
):
    symbol = feed.redis.zrange("ot:chain:bybit:BTC:" + first_expiry(feed), 0, 0)[0]
    set_mark(feed, symbol, "100")
    body = {"symbol": symbol, "field": "mark", "condition": "crosses", "value": 1000,
            "cooldown_s": 600, "notify_urls": [receiver.url]}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(RULES, body, content_type="application/json")
    assert response.status_code == 201, response.content
    in_force(feed, 1)
    set_mark(feed, symbol, "2000")
    [title] = receiver.wait_for_titles(lambda titles: titles, 20)
    assert title == f"bybit {symbol}: mark crosses 1000"
    [message] = [m["message"] for m in receiver.received]
    assert message == f"{symbol} mark 2000 crossed 1000 (from 100)"
    # Down and up again within the cooldown: nothing more fires.
    set_mark(feed, symbol, "100")
    set_mark(feed, symbol, "2000")
    time.sleep(2)  # several flushes and firing deliveries later
    assert len(firings(feed)) == 1 and len(receiver.received) == 1
    [event] = staff.get("/api/alert-events/", {"symbol": symbol}).json()["results"]
    assert event["rule"] == response.json()["id"] and event["value"] == 2000
    assert event["message"] == message
    # The feed's metrics count the checks, the firing and the notification.
    figures = scrape(feed.metrics)
    assert figures[("optiontracker_alert_rules_fired_total", BYBIT)] == 1
    assert figures[("optiontracker_alert_rules_evaluated_total", BYBIT)] >= 4
    assert figures[("optiontracker_alerts_sent_total", ())] == 1


def test_a_rule_change_takes_effect_within_5_seconds_without_a_restart(
    feed, staff, django_capture_on_commit_callbacks
):
    symbol = feed.redis.zrange("ot:chain:bybit:BTC:" + first_expiry(feed), 0, 0)[0]
    set_mark(feed, symbol, "2000")
    body = {"symbol": symbol, "field": "mark", "condition": "above", "value": 5000,
            "cooldown_s": 600, "notify_urls": []}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        made = staff.post(RULES, body, content_type="application/json").json()
    in_force(feed, 1)
    time.sleep(1)
    assert firings(feed) == []  # 2000 is not above 5000
    changed_at = time.time()
    with django_capture_on_commit_callbacks(execute=True):
        staff.patch(f"{RULES}{made['id']}/", {"value": 1500},
                    content_type="application/json")  # fmt: skip
    wait_for(lambda: firings(feed), 5, "the changed rule firing")
    [event] = firings(feed)
    assert event["threshold"] == "1500" and event["message"].endswith("above 1500")
    assert int(event["ts"]) / 1000 - changed_at < 5
    # Disabled: the rule set is empty and the feed says so.
    with django_capture_on_commit_callbacks(execute=True):
        staff.patch(f"{RULES}{made['id']}/", {"enabled": False},
                    content_type="application/json")  # fmt: skip
    in_force(feed, 0)


def first_expiry(feed) -> str:
    return feed.redis.zrange("ot:expiries:bybit:BTC", 0, 0)[0]
