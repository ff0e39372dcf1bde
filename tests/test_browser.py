"""The dashboard end to end: simulator → run_feed → Redis → daphne → headless Chromium.

Playwright drives the system Chromium (the set-up installs it with apt-get); the page
sets readiness flags (window.chainReady, window.chartsDrawn, window.lastUpdateTs) that
the test waits on instead of sleeping.
"""

from pathlib import Path

import pytest

from devtools.processes import BASE_DIR, Daphne, free_port
from options import keys

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
ARTIFACTS = BASE_DIR / "test-artifacts"


@pytest.fixture
def daphne(feed_for):
    # The simulator is on the timed path (price set to cell): a process of its own,
    # not a thread competing with Playwright's client for this process's GIL.
    feed = feed_for(contracts=1000, rate=4000, simulator="process").start()
    # daphne serves from the stack's database (copied migrated) and the feed's Redis.
    env = {**feed.stack.env, "LOG_LEVEL": "WARNING"}
    log = feed.stack.workdir / "web.log"
    feed.stack.run("collectstatic", "--noinput", "-v", "0")
    feed.wait_streaming()
    server = Daphne(free_port(), env, log).start()
    server.feed = feed
    yield server
    server.kill()


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def cell(symbol: str, field: str) -> str:
    return f'[data-symbol="{symbol}"][data-field="{field}"]'


def set_mark_and_wait(page, sim, symbol: str, mark: str) -> None:
    """Set a mark at the exchange and wait until the symbol's cell holds it. How fast
    is the benchmark's question (bench/dashboard_bench.py); a time limit here would
    only measure the machine's load."""
    from playwright.sync_api import expect

    sim.control("set", symbol=symbol, markPrice=mark)
    # The raw value (the cell's text has the tick size's precision), through a
    # locator assertion rather than an evaluated predicate: Playwright evaluates a
    # predicate with arguments through eval(), which the page's
    # Content-Security-Policy refuses.
    locator = page.locator(cell(symbol, "mark"))
    expect(locator).to_have_attribute("data-value", mark, timeout=10000)


def painted_pixels(page, selector: str) -> int:
    return page.evaluate(
        """(sel) => {
            let n = 0;
            for (const canvas of document.querySelectorAll(sel + " canvas")) {
                const ctx = canvas.getContext("2d");
                const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
                for (let i = 3; i < data.length; i += 4) if (data[i]) n++;
            }
            return n;
        }""",
        selector,
    )


def test_the_chain_page_streams_recovers_and_draws(daphne, browser):
    feed, redis = daphne.feed, daphne.feed.redis
    expiry = redis.zrange(keys.expiries("bybit", "BTC"), 0, -1)[3]
    index = redis.zrange(keys.chain("bybit", "BTC", expiry), 0, -1, withscores=True)
    # bypass_csp: painted_pixels' evaluate() with an argument runs through eval(),
    # which the page's Content-Security-Policy forbids (tests/test_security_headers.py
    # loads the pages under it).
    page = browser.new_page(viewport={"width": 1600, "height": 1000}, bypass_csp=True)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # The overview links every underlying to its expiries.
    page.goto(daphne.url + "/")
    for base in ("BTC", "ETH", "SOL"):
        assert page.locator(f'tr[data-base="{base}"] .expiries a').count() > 0
    page.click(f'tr[data-base="BTC"] a[href="/chain/bybit/BTC/{expiry}/"]')
    page.wait_for_function("window.chainReady === true", timeout=10000)

    # Every contract has its cells; the ATM strike is the one nearest the underlying.
    assert page.locator("[data-field=mark][data-symbol]").count() == len(index)
    underlying = float(redis.hget(keys.tick("bybit", index[0][0]), "underlying"))
    nearest = min((strike for _, strike in index), key=lambda k: abs(k - underlying))
    atm = page.locator("tr.atm")
    assert atm.count() == 1
    assert float(atm.get_attribute("data-strike")) == nearest
    assert atm.is_visible()
    atm_call = next(s for s, k in index if k == nearest and "-C" in s)

    # A price set at the exchange reaches its cell.
    set_mark_and_wait(page, feed.sim, atm_call, "7777.5")

    # Both charts have painted something.
    page.wait_for_function("window.chartsDrawn === true", timeout=5000)
    assert painted_pixels(page, "#smile") > 500
    assert painted_pixels(page, "#oi") > 500
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chain.png"), full_page=True)

    # daphne dies: the badge says so; it comes back: the page reconnects by itself.
    daphne.kill()
    page.wait_for_selector("#conn[data-state=bad]", timeout=5000)
    daphne.start()
    page.wait_for_function("window.chainStats.snapshots >= 2", timeout=15000)
    page.wait_for_selector("#conn[data-state=good]", timeout=1000)
    set_mark_and_wait(page, feed.sim, atm_call, "7788.5")
    assert errors == []

    # On a phone: bid, mark and ask per side, and nothing wider than the screen.
    phone = browser.new_page(
        viewport={"width": 390, "height": 844}, is_mobile=True, bypass_csp=True
    )
    phone.goto(page.url)
    phone.wait_for_function("window.chainReady === true", timeout=10000)
    row = phone.locator("tr.atm")
    assert row.locator("[data-field=mark]").first.is_visible()
    assert not row.locator("[data-field=bid_size]").first.is_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    wrap = phone.locator(".chain-wrap")
    assert phone.evaluate(
        "(el) => el.scrollWidth <= el.clientWidth", wrap.element_handle()
    )
    phone.screenshot(path=str(ARTIFACTS / "chain-phone.png"))
