"""The history in Chromium: the chain page's time slider shows a past chain and goes
back to live; a click on a contract's cell opens its page, whose 24 h charts draw.

simulator → run_feed → Redis; the sampler (what the Celery task runs) writes the
stack's database in a `manage.py shell` child; daphne serves the pages.
"""

import re

import pytest
from playwright.sync_api import expect

from devtools.processes import Daphne, free_port
from options import keys
from tests.test_browser import ARTIFACTS, browser, cell, painted_pixels  # noqa: F401

# Four processes start (simulator, feed, the sampler's shell, daphne) and Chromium:
# on a loaded 2-core machine that alone can take most of the default 120 s.
pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

SAMPLE = """
from options.history_write import record, slot_of
from options.read import now_ms
now = slot_of(now_ms(), 60)
for k in (3, 2, 1):
    print(record(60, 86400, now_ms=now - k * 60000))
"""


@pytest.fixture
def site(feed_for):
    feed = feed_for(contracts=200, rate=1000, simulator="process").start()
    env = {**feed.stack.env, "LOG_LEVEL": "WARNING"}
    feed.stack.run("collectstatic", "--noinput", "-v", "0")
    feed.wait_streaming()
    server = Daphne(free_port(), env, feed.stack.workdir / "web.log").start()
    server.feed = feed
    yield server
    server.kill()


def atm_call(redis, expiry: str) -> str:
    index = redis.zrange(keys.chain("bybit", "BTC", expiry), 0, -1, withscores=True)
    forward = float(redis.hget(keys.tick("bybit", index[0][0]), "underlying"))
    strike = min((k for _, k in index), key=lambda k: abs(k - forward))
    return next(s for s, k in index if k == strike and "-C-" in s)


def test_the_slider_shows_a_past_chain_and_a_row_opens_the_contract(site, browser):  # noqa: F811
    feed, redis = site.feed, site.feed.redis
    expiry = redis.zrange(keys.expiries("bybit", "BTC"), 0, 0)[0]
    symbol = atm_call(redis, expiry)
    feed.stack.run("shell", "-c", SAMPLE)
    page = browser.new_page(viewport={"width": 1600, "height": 1000}, bypass_csp=True)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{site.url}/chain/bybit/BTC/{expiry}/")
    page.wait_for_function("window.chainReady && window.historyReady", timeout=10000)

    # Prices have the tick size's precision; IVs are percent with one decimal.
    assert page.locator("#history-control").is_visible()
    feed.sim.control("set", symbol=symbol, markPrice="7777.123456")
    mark = page.locator(cell(symbol, "mark"))
    expect(mark).to_have_attribute("data-value", "7777.123456", timeout=10000)
    meta = page.request.get(f"{site.url}/chain/bybit/BTC/{expiry}/meta.json").json()
    tick = meta["ticks"][symbol]  # from the listing, e.g. "5" or "0.1"
    places = len(tick.split(".")[1]) if "." in tick else 0
    assert mark.text_content() == f"{7777.123456:.{places}f}"
    iv = page.locator(cell(symbol, "mark_iv")).text_content()
    assert re.fullmatch(r"\d+\.\d%", iv), iv

    # The slider's oldest position: the chain of three minutes ago, without 7777.
    page.evaluate(
        "() => { const s = document.getElementById('when'); s.value = s.min;"
        " s.dispatchEvent(new Event('change')); }"
    )
    page.wait_for_function("window.pastShown !== null", timeout=5000)
    past_value = mark.get_attribute("data-value")
    assert past_value != "7777.123456"
    at = page.evaluate("window.pastShown")
    body = page.request.get(
        f"{site.url}/chain/bybit/BTC/{expiry}/at.json?at={at}"
    ).json()
    assert body["rows"][symbol]["mark"] == past_value
    assert page.locator("#conn").text_content() == "past"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chain-past.png"), full_page=True)

    # Back to live: the exchange's latest mark again.
    page.click("#live-button")
    expect(mark).to_have_attribute("data-value", "7777.123456", timeout=10000)

    # A click on the call's cell opens the contract's page; its charts draw.
    mark.click()
    page.wait_for_url(f"**/contract/bybit/{symbol}/")
    page.wait_for_function("window.historyDrawn === true", timeout=10000)
    assert page.evaluate("window.historyPoints") == 3
    for chart in ("#price", "#iv", "#underlying", "#oi"):
        assert painted_pixels(page, chart) > 200, chart
    page.screenshot(path=str(ARTIFACTS / "contract.png"), full_page=True)
    assert errors == []
