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


@pytest.fixture(scope="module")
def module_feed(start_module_feed):
    """One streaming feed for the module, with its metrics on a port; each test
    watches contracts of its own."""
    port = free_port()
    feed = start_module_feed("rules", "--metrics-port", str(port), rate=2000)
    feed.metrics = f"http://127.0.0.1:{port}/metrics"
    yield feed
    feed.stack.close()


@pytest.fixture
def feed(module_feed, settings, db):
    """The module's feed; this test's database knows its universe (the API refuses
    rules on unknown contracts) and its rule changes go to the feed's Redis."""
    settings.REDIS_URL = module_feed.stack.redis_url
    refresh_universe(bases=["BTC"], listing=BybitListing(module_feed.sim.rest_url))
    return module_feed


@pytest.fixture
def staff(django_user_model) -> Client:
    user = django_user_model.objects.create_user("ops", is_staff=True)
    return Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")


def contract(feed, n: int) -> str:
    """The n-th BTC contract of the first expiry."""
    expiry = feed.redis.zrange("ot:expiries:bybit:BTC", 0, 0)[0]
    return feed.redis.zrange(f"ot:chain:bybit:BTC:{expiry}", n, n)[0]


def set_mark(feed, symbol: str, mark: str) -> None:
    """Pin the contract's mark at the simulator and wait until Redis has it."""
    feed.sim.control("set", symbol=symbol, markPrice=mark)
    key = keys.tick("bybit", symbol)
    wait_for(lambda: feed.redis.hget(key, "mark") == mark, 10, f"mark {mark}")


def firings(feed, symbol: str) -> list[dict]:
    entries = feed.redis.xrange(keys.alert_events("bybit"))
    return [fields for _, fields in entries if fields["symbol"] == symbol]


def change_rules(feed, count: int, change, on_commit):
    """Make a rule change (a callable; its result is returned), commit it, and wait
    until the feed says `count` rules are in force."""
    said = f"{count} alert rules in force"

    def reloads() -> list[str]:
        lines = feed.log.read_text().splitlines()
        return [line for line in lines if "in force" in line]

    before = len(reloads())

    def loaded() -> bool:
        lines = reloads()
        return len(lines) > before and said in lines[-1]

    with on_commit(execute=True):  # the rule set is published after the commit
        result = change()
    wait_for(loaded, 10, feed.log_tail)
    return result


def post(staff: Client, body: dict, url: str = RULES, method: str = "post"):
    response = getattr(staff, method)(url, body, content_type="application/json")
    assert response.status_code in (200, 201), response.content
    return response.json()


def counts(feed) -> tuple[float, float, float]:
    """The feed's metrics: rule checks, firings, notifications sent."""
    figures = scrape(feed.metrics)
    return (
        figures[("optiontracker_alert_rules_evaluated_total", BYBIT)],
        figures[("optiontracker_alert_rules_fired_total", BYBIT)],
        figures[("optiontracker_alerts_sent_total", ())],
    )


def test_a_rule_fires_once_when_the_price_crosses_it_and_not_again_in_its_cooldown(
    feed, staff, receiver, django_capture_on_commit_callbacks
):
    symbol = contract(feed, 0)
    set_mark(feed, symbol, "100")
    checked, fired, sent = counts(feed)
    body = {"symbol": symbol, "field": "mark", "condition": "crosses", "value": 1000,
            "cooldown_s": 600, "notify_urls": [receiver.url]}  # fmt: skip
    made = change_rules(
        feed, 1, lambda: post(staff, body), django_capture_on_commit_callbacks
    )
    set_mark(feed, symbol, "2000")
    [title] = receiver.wait_for_titles(lambda titles: titles, 20)
    assert title == f"bybit {symbol}: mark crosses 1000"
    [message] = [m["message"] for m in receiver.received]
    assert message == f"{symbol} mark 2000 crossed 1000 (from 100)"
    # Down and up again within the cooldown: nothing more fires.
    set_mark(feed, symbol, "100")
    set_mark(feed, symbol, "2000")
    time.sleep(2)  # several flushes and firing deliveries later
    assert len(firings(feed, symbol)) == 1 and len(receiver.received) == 1
    [event] = staff.get("/api/alert-events/", {"symbol": symbol}).json()["results"]
    assert event["rule"] == made["id"] and event["value"] == 2000
    assert event["message"] == message
    # The feed's metrics count the checks, the firing and the notification.
    now_checked, now_fired, now_sent = counts(feed)
    assert now_checked >= checked + 4 and (now_fired, now_sent) == (fired + 1, sent + 1)


def test_a_rule_change_takes_effect_within_5_seconds_without_a_restart(
    feed, staff, django_capture_on_commit_callbacks
):
    symbol = contract(feed, 1)
    set_mark(feed, symbol, "2000")
    body = {"symbol": symbol, "field": "mark", "condition": "above", "value": 5000,
            "cooldown_s": 600, "notify_urls": []}  # fmt: skip
    made = change_rules(
        feed, 1, lambda: post(staff, body), django_capture_on_commit_callbacks
    )
    time.sleep(1)
    assert firings(feed, symbol) == []  # 2000 is not above 5000
    changed_at = time.time()
    url = f"{RULES}{made['id']}/"
    with django_capture_on_commit_callbacks(execute=True):
        post(staff, {"value": 1500}, url, "patch")
    wait_for(lambda: firings(feed, symbol), 5, "the changed rule firing")
    [event] = firings(feed, symbol)
    assert event["threshold"] == "1500" and event["message"].endswith("above 1500")
    assert int(event["ts"]) / 1000 - changed_at < 5
    # Disabled: the rule set is empty and the feed says so.
    disable = lambda: post(staff, {"enabled": False}, url, "patch")  # noqa: E731
    change_rules(feed, 0, disable, django_capture_on_commit_callbacks)
