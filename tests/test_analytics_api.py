"""The analytics endpoints against a real Redis filled by the real feed from the
simulator, and the minute samples written by the Celery task into the real database.

The numbers themselves are checked by hand in tests/test_analytics.py; here, that the
endpoints compute them from exactly what Redis holds, name their convention, agree
with each other, and refuse bad input with a 400 naming the parameter.
"""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.test import Client
from django.utils import timezone

from options import read
from options.analytics import FIELDS
from options.analytics_models import AnalyticsSample
from options.quote import strikes
from options.tasks import sample_analytics
from tests.test_api import api_redis, error_of, stack, widest_btc_expiry  # noqa: F401

ANALYTICS = "/api/analytics/bybit/BTC/"
PER_EXPIRY = (
    "expiry", "forward", "atm_strike", "atm_iv", "rr25", "bf25", "pcr_oi",
    "pcr_volume", "max_pain", "gex_total", "zero_gamma", "convention",
)  # fmt: skip


def stored_chain(stack, expiry: str) -> list[dict]:  # noqa: F811
    symbols = stack.redis.zrange(f"ot:chain:bybit:BTC:{expiry}", 0, -1)
    return [{"symbol": s, **stack.redis.hgetall(f"ot:tick:bybit:{s}")} for s in symbols]


def test_the_analytics_read_the_same_quotes_as_the_chains_rows_give(stack):  # noqa: F811
    with stack.still():
        quoted = async_to_sync(read.read_quotes)("bybit", "BTC")
        chains = async_to_sync(read.read_chains)("bybit", "BTC", fields=FIELDS)
    assert quoted == [(e, strikes(chain.rows)) for e, chain in chains]
    assert sum(len(s) for _, s in quoted) > 10


def test_one_expiry_is_computed_from_what_redis_holds(stack):  # noqa: F811
    expiry = widest_btc_expiry(stack)
    with stack.still():
        body = Client().get(f"{ANALYTICS}{expiry}/").json()
        contracts = stored_chain(stack, expiry)
    assert set(PER_EXPIRY) <= set(body) and body["convention"] == "classic"
    assert body["expiry"] == expiry and body["days"] > 0
    forwards = sorted(float(c["underlying"]) for c in contracts)
    assert body["forward"] == forwards[(len(forwards) - 1) // 2]
    strikes = [p["strike"] for p in body["gex_by_strike"]]
    assert strikes == sorted({float(c["symbol"].split("-")[2]) for c in contracts})
    nearest = min(strikes, key=lambda k: (abs(k - body["forward"]), k))
    assert body["atm_strike"] == nearest
    calls = sum(float(c["oi"]) for c in contracts if "-C-" in c["symbol"])
    puts = sum(float(c["oi"]) for c in contracts if "-P-" in c["symbol"])
    assert body["pcr_oi"] == pytest.approx(puts / calls)
    assert body["gex_total"] == pytest.approx(
        sum(p["gex"] for p in body["gex_by_strike"])
    )
    assert 0 < body["atm_iv"] < 5
    # 25-delta IVs exist exactly when deltas bracket +-0.25 (with 200 contracts in
    # all, an expiry's strikes may all lie near the money).
    deltas = {c["symbol"]: float(c["delta"]) for c in contracts}
    call_d = [d for s, d in deltas.items() if "-C-" in s]
    put_d = [d for s, d in deltas.items() if "-P-" in s]
    assert (body["call25_iv"] is None) == (min(call_d) > 0.25 or max(call_d) < 0.25)
    assert (body["put25_iv"] is None) == (min(put_d) > -0.25 or max(put_d) < -0.25)
    assert (body["rr25"] is None) == (None in (body["call25_iv"], body["put25_iv"]))
    assert body["max_pain"] in strikes


def test_every_expiry_the_term_structure_and_the_totals(stack):  # noqa: F811
    with stack.still():
        body = Client().get(ANALYTICS).json()
        one = Client().get(f"{ANALYTICS}{widest_btc_expiry(stack)}/").json()
    expiries = stack.redis.zrange("ot:expiries:bybit:BTC", 0, -1)
    assert [e["expiry"] for e in body["expiries"]] == expiries
    assert [t["expiry"] for t in body["term_structure"]] == expiries
    assert set(body["constant_maturity"]) == {"7", "30", "60", "90"}
    listed = [e for e in body["expiries"] if e["expiry"] == one["expiry"]][0]
    assert "gex_by_strike" not in listed
    # Two reads of the same still state: the same numbers.
    assert {k: listed[k] for k in PER_EXPIRY} == {k: one[k] for k in PER_EXPIRY}
    days = [t["days"] for t in body["term_structure"]]
    assert days == sorted(days)
    # A maturity within the listed range has an IV; beyond the last expiry, none.
    inside = [d for d in (7, 30, 60, 90) if days[0] <= d <= days[-1]]
    for d in (7, 30, 60, 90):
        assert (body["constant_maturity"][str(d)] is not None) == (d in inside)
    totals = body["totals"]
    assert totals["convention"] == "classic"
    assert totals["gex_total"] == pytest.approx(
        sum(e["gex_total"] for e in body["expiries"] if e["gex_total"] is not None)
    )


def test_the_short_convention_is_named_and_every_strike_is_negative(stack):  # noqa: F811
    expiry = widest_btc_expiry(stack)
    body = Client().get(f"{ANALYTICS}{expiry}/", {"gex": "short"}).json()
    assert body["convention"] == "short"
    assert all(p["gex"] <= 0 for p in body["gex_by_strike"] if p["gex"] is not None)
    assert body["largest_positive"] is None and body["zero_gamma"] is None
    whole = Client().get(ANALYTICS, {"gex": "short"}).json()
    assert whole["convention"] == "short" == whole["totals"]["convention"]
    assert {e["convention"] for e in whole["expiries"]} == {"short"}


def test_bad_input_is_a_400_naming_the_parameter_and_unknown_names_404s(stack):  # noqa: F811
    client = Client()
    expiry = widest_btc_expiry(stack)
    for url in (ANALYTICS, f"{ANALYTICS}{expiry}/"):
        error = error_of(client.get(url, {"gex": "long"}), 400, "gex")
        assert "classic, short" in error["message"]
        error_of(client.get(url, {"gex": ""}), 400, "gex")
        error_of(client.get(url, {"convention": "short"}), 400, "convention")
    error_of(client.get(f"{ANALYTICS}2026-02-30/"), 400, "expiry")
    error_of(client.get(f"{ANALYTICS}2020-01-03/"), 404, "expiry")
    error_of(client.get("/api/analytics/bybit/DOGE/"), 404, "base")
    error_of(client.get("/api/analytics/kraken/BTC/"), 404, "exchange")


@pytest.mark.django_db(transaction=True)
def test_samples_are_kept_a_minute_apart_and_trimmed_to_the_retention(
    stack,  # noqa: F811
    settings,
):
    settings.HISTORY_ENABLED = False
    assert sample_analytics() == "history off"
    settings.HISTORY_ENABLED, settings.HISTORY_RETENTION = True, 120
    assert sample_analytics().startswith("3 written")  # BTC, ETH and SOL
    btc = AnalyticsSample.objects.get(base="BTC")
    # Three minutes ago, beyond the retention: the next run trims it.
    AnalyticsSample.objects.filter(pk=btc.pk).update(at=btc.at - timedelta(minutes=3))
    assert sample_analytics() == "3 written, 1 trimmed"
    body = Client().get(f"{ANALYTICS}history/").json()
    assert body["enabled"] is True and body["interval_s"] == 60
    [sample] = body["samples"]
    assert set(sample["constant_maturity"]) == {"7", "30", "60", "90"}
    expiries = stack.redis.zrange("ot:expiries:bybit:BTC", 0, -1)
    assert [e["expiry"] for e in sample["expiries"]] == expiries
    assert set(sample["expiries"][0]) == {"expiry", "rr25", "bf25"}
    # A window before the sample holds nothing.
    before = (timezone.now() - timedelta(hours=1)).isoformat()
    empty = Client().get(f"{ANALYTICS}history/", {"until": before}).json()
    assert empty["samples"] == []


@pytest.mark.django_db
def test_a_bad_history_range_is_a_400(stack):  # noqa: F811
    client, url = Client(), f"{ANALYTICS}history/"
    error_of(client.get(url, {"since": "yesterday"}), 400, "since")
    error_of(client.get(url, {"until": "2026-13-01T00:00:00Z"}), 400, "until")
    later = {"since": "2026-11-30T12:00:00Z", "until": "2026-11-30T11:00:00Z"}
    assert "after" in error_of(client.get(url, later), 400, "since")["message"]
    error_of(client.get(url, {"step": "60"}), 400, "step")


@pytest.mark.django_db
def test_the_term_page_serves_its_data_and_404s_for_an_unknown_base(stack):  # noqa: F811
    assert Client().get("/term/bybit/DOGE/").status_code == 404
    body = Client().get("/term/bybit/BTC/", {"format": "json"}).json()
    assert body["base"] == "BTC" and set(body["constant_maturity"]) == {
        "7", "30", "60", "90",
    }  # fmt: skip
    assert body["history"]["samples"] == [] and body["history"]["enabled"] is False
    page = Client().get("/term/bybit/BTC/")
    assert page.status_code == 200 and b'id="term-data"' in page.content
