"""The analytics on the dashboard, end to end in headless Chromium: simulator →
run_feed → Redis → daphne → the chain page's strip and GEX chart, updating live; and
the term-structure page with its 24 h lines from the minute samples.

The infrastructure is tests/test_browser.py's; the page sets window.analyticsStats
and window.termReady, which the tests wait on instead of sleeping.
"""

import pytest
from playwright.sync_api import expect

from options import keys
from tests.test_browser import ARTIFACTS, browser, daphne, painted_pixels  # noqa: F401

pytestmark = pytest.mark.browser


def metric(page, name: str) -> str:
    return page.locator(f'#analytics [data-metric="{name}"]').text_content()


def test_the_strip_updates_live_and_the_gex_chart_draws(daphne, browser):  # noqa: F811
    redis, sim = daphne.feed.redis, daphne.feed.sim
    expiry = redis.zrange(keys.expiries("bybit", "BTC"), 0, -1)[3]
    page = browser.new_page(viewport={"width": 1600, "height": 1100}, bypass_csp=True)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{daphne.url}/chain/bybit/BTC/{expiry}/")
    page.wait_for_function("window.analyticsStats.updates >= 1", timeout=10000)

    # The strip shows what the socket sent, IVs in percent with one decimal.
    first = page.evaluate("window.analyticsStats.last")
    assert first["expiry"] == expiry and first["convention"] == "classic"
    assert metric(page, "atm_iv") == f"{first['atm_iv'] * 100:.1f}%"
    assert metric(page, "max_pain") not in ("", "–")
    assert metric(page, "zero_gamma") == (
        "–" if first["zero_gamma"] is None else f"{first['zero_gamma']:g}"
    )

    # At the exchange: every contract's underlying at the ATM strike (so that the
    # forward stays there), and new mark IVs for that strike's call and put. The
    # strip follows within seconds (computed at most once a second, pushed with
    # the chain).
    strike = first["atm_strike"]
    for symbol, _ in _index(redis, expiry):
        sim.control("set", symbol=symbol, underlyingPrice=f"{strike:g}")
    call, put = sorted(redis.zrangebyscore(keys.chain("bybit", "BTC", expiry),
                                           strike, strike))  # fmt: skip
    sim.control("set", symbol=call, markPriceIv="0.9999")
    sim.control("set", symbol=put, markPriceIv="0.8888")
    # A locator assertion: the page's Content-Security-Policy refuses the eval()
    # an evaluated predicate needs.
    atm_iv = page.locator("#analytics [data-metric=atm_iv]")
    expect(atm_iv).to_have_text("94.4%", timeout=10000)
    assert metric(page, "forward") == f"{strike:.2f}"
    assert page.evaluate("window.analyticsStats.updates") >= 2

    # The GEX chart has bars: one value per listed strike.
    gex = page.evaluate("window.analyticsStats.last.gex_by_strike")
    assert [p["strike"] for p in gex] == sorted({s for _, s in _index(redis, expiry)})
    assert painted_pixels(page, "#gex") > 500
    assert errors == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chain-analytics.png"), full_page=True)


def _index(redis, expiry: str) -> list:
    return redis.zrange(keys.chain("bybit", "BTC", expiry), 0, -1, withscores=True)


def test_the_term_page_draws_the_term_structure_and_the_24h_lines(daphne, browser):  # noqa: F811
    # Three minutes of samples, as the Celery task writes them, in daphne's database.
    daphne.feed.stack.run(
        "shell", "-c",
        "from datetime import timedelta; from django.utils import timezone; "
        "from options import samples; now = timezone.now(); "
        "[samples.record(now - timedelta(minutes=m)) for m in (2, 1, 0)]",
    )  # fmt: skip
    expiries = daphne.feed.redis.zrange(keys.expiries("bybit", "BTC"), 0, -1)
    page = browser.new_page(viewport={"width": 1400, "height": 1200}, bypass_csp=True)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{daphne.url}/term/bybit/BTC/")
    page.wait_for_function("window.termReady === true", timeout=10000)

    assert page.evaluate("window.termStats.samples") == 3
    rows = page.locator("#expiries tbody tr")
    assert rows.count() == len(expiries)
    assert rows.first.get_attribute("data-expiry") == expiries[0]
    # Constant maturities inside the listed range show an IV in percent.
    cm30 = page.locator('[data-cm="30"]')
    assert cm30.text_content().endswith("%")
    assert f"{float(cm30.get_attribute('data-value')) * 100:.1f}%" == (
        cm30.text_content()
    )
    for chart in ("#term-chart", "#cm-chart", "#rr-chart", "#bf-chart"):
        assert painted_pixels(page, chart) > 300, chart
    assert page.locator("#no-history").is_hidden()
    assert errors == []
    # The chain page links here.
    page.goto(f"{daphne.url}/chain/bybit/BTC/{expiries[0]}/")
    page.click("#analytics a")
    page.wait_for_function("window.termReady === true", timeout=10000)
    page.screenshot(path=str(ARTIFACTS / "term.png"), full_page=True)
