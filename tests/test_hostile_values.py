"""Hostile exchange values end to end: the simulator sends them over real sockets,
run_feed refuses them field by field while the rest of each frame goes through,
Redis keeps the last good values, and the API (daphne) never fails on one contract,
even with garbage written straight into Redis."""

import csv
import io

import httpx
import orjson
import pytest

from devtools.processes import Daphne, free_port, wait_for
from options import keys
from options.fields import valid
from simulator.frames import BAD_VALUES
from tests.test_browser import browser, cell  # noqa: F401 (browser: the fixture)

SPOILED_FIELDS = ("underlying", "index", "bid", "mark_iv", "delta", "recv_ts", "ask")
GARBAGE = ["abc", "NaN", "-1", "Infinity", "1e999", "", "=1+1", "<b>1</b>"]


@pytest.fixture(scope="module")
def stack(start_module_feed):
    """run_feed on 200 simulated contracts, and daphne serving the API and the
    dashboard from its Redis and database."""
    feed = start_module_feed("hostile", contracts=200, rate=2000)
    wait_for(lambda: feed.redis.zrange(keys.expiries("bybit", "BTC"), 0, -1), 20, "")
    feed.stack.run("collectstatic", "--noinput", "-v", "0")
    env = {**feed.stack.env, "LOG_LEVEL": "WARNING"}
    feed.web = Daphne(free_port(), env, feed.stack.workdir / "web.log").start()
    yield feed
    feed.web.kill()
    feed.stack.close()


def widest_btc_expiry(feed) -> str:
    days = feed.redis.zrange(keys.expiries("bybit", "BTC"), 0, -1)
    return max(days, key=lambda d: feed.redis.zcard(keys.chain("bybit", "BTC", d)))


def refused(feed, field: str) -> int:
    counts = orjson.loads(feed.status().get("invalid_fields") or "{}")
    return counts.get(field, 0)


def symbols_of(feed, expiry: str) -> list[tuple[str, float]]:
    return feed.redis.zrange(keys.chain("bybit", "BTC", expiry), 0, -1, withscores=True)


@pytest.mark.parametrize("kind", list(BAD_VALUES))
def test_each_bad_value_is_refused_counted_and_the_last_good_one_kept(stack, kind):
    # One contract per kind, so that the values pinned at the exchange stay apart.
    symbol = symbols_of(stack, widest_btc_expiry(stack))[list(BAD_VALUES).index(kind)][
        0
    ]
    wire, field = ("bidPrice", "bid") if kind != "text" else ("underlyingPrice", "")
    field = field or "underlying"
    key = keys.tick("bybit", symbol)
    before = refused(stack, field)
    with stack.still():  # the exchange silent, Redis exact
        good, ts = stack.redis.hmget(key, field, "ts")
        try:
            stack.sim.control("bad", kind=kind, symbols=symbol, fields=wire)
            stack.sim.control("set", symbol=symbol, askSize="7.77")
            stack.sim.control("snapshot")  # both in one frame, sent while silent
            wait_for(lambda: stack.redis.hget(key, "ask_size") == "7.77", 10, "ask")
        finally:  # taken off while silent: no bad frame outlives the test
            stack.sim.control("set", symbol=symbol, reset=1)
        # The rest of the frame went through; the bad field kept its last value.
        assert stack.redis.hget(key, field) == good and valid(field, good)
        assert int(stack.redis.hget(key, "ts")) > int(ts)
    wait_for(lambda: refused(stack, field) > before, 5, f"{field} counted")
    logged = f"{symbol} {field}: value"  # the latest refused value, with a sample
    wait_for(lambda: logged in stack.log_tail(), 5, "the refused value logged")
    assert stack.counter("malformed") == 0  # a bad value costs its field only


def test_the_feed_status_shows_refused_values_by_field_in_the_api(stack):
    symbol = symbols_of(stack, widest_btc_expiry(stack))[-1][0]
    try:
        stack.sim.control("bad", kind="nan", symbols=symbol, fields="markPriceIv")
        wait_for(lambda: refused(stack, "mark_iv") > 0, 10, "mark_iv counted")
    finally:
        stack.sim.control("set", symbol=symbol, reset=1)
    (feed,) = httpx.get(stack.web.url + "/api/feed/").json()
    assert feed["invalid_fields"]["mark_iv"] > 0
    assert feed["invalid"] == sum(feed["invalid_fields"].values())


def test_the_chain_answers_200_with_a_sane_atm_despite_garbage_in_redis(stack):
    expiry = widest_btc_expiry(stack)
    index = symbols_of(stack, expiry)
    spoiled = [symbol for symbol, _ in index[: len(GARBAGE)]]  # the lowest strikes
    chain_url = f"{stack.web.url}/api/chain/bybit/BTC/{expiry}/"
    with stack.still():
        saved = {s: stack.redis.hgetall(keys.tick("bybit", s)) for s in spoiled}
        try:
            for symbol, junk in zip(spoiled, GARBAGE, strict=True):
                stack.redis.hset(keys.tick("bybit", symbol), mapping={
                    "underlying": junk, "index": junk, "bid": "<b>x</b>",
                    "mark_iv": "Infinity", "delta": "=1+1", "recv_ts": "soon",
                    "ask": "9" * 7000, "html": "<script>",
                })  # fmt: skip
            stack.redis.hdel(keys.tick("bybit", spoiled[0]), "mark")
            # The centre price: the first valid positive forward, by strike.
            forward = stack.redis.hget(
                keys.tick("bybit", index[len(GARBAGE)][0]), "underlying"
            )
            nearest = min({k for _, k in index}, key=lambda k: abs(k - float(forward)))

            answer = httpx.get(chain_url, timeout=10)
            narrowed = httpx.get(chain_url, params={"around_atm": 2}, timeout=10)
            picked = httpx.get(chain_url, params={"fields": "mark,bid"}, timeout=10)
            table = httpx.get(chain_url, params={"format": "csv"}, timeout=10)
            tick = httpx.get(f"{stack.web.url}/api/ticks/bybit/{spoiled[0]}/")
        finally:
            for symbol, state in saved.items():
                stack.redis.delete(keys.tick("bybit", symbol))
                stack.redis.hset(keys.tick("bybit", symbol), mapping=state)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["atm_price"] == forward and float(body["atm_strike"]) == nearest
    contracts = {
        c["symbol"]: c for row in body["rows"] for c in (row["call"], row["put"]) if c
    }
    for symbol in spoiled:
        shown = contracts[symbol]
        for field in SPOILED_FIELDS:
            assert shown[field] is None, (symbol, field, shown[field])
        assert "html" not in shown and shown["ts"].endswith("Z")
    assert "mark" not in contracts[spoiled[0]]  # never written: absent

    assert narrowed.status_code == 200
    strikes = [float(row["strike"]) for row in narrowed.json()["rows"]]
    assert strikes[len(strikes) // 2] == nearest and len(strikes) <= 5

    first = picked.json()["rows"][0]["call"] or picked.json()["rows"][0]["put"]
    assert picked.status_code == 200 and first["bid"] is None
    assert "mark" in first  # asked for: null when the contract lacks it

    assert table.status_code == 200
    text = table.text
    for junk in ("NaN", "Infinity", "1e999", "<b>", "=1+1", "soon", "999999999"):
        assert junk not in text
    rows = list(csv.DictReader(io.StringIO(text)))
    spoiled_row = rows[0]
    assert spoiled_row["call_underlying"] == "" and spoiled_row["call_bid"] == ""

    assert tick.status_code == 200 and tick.json()["underlying"] is None
    assert tick.json()["age_ms"] is not None  # from `ts`: `recv_ts` was garbage


@pytest.mark.browser
def test_the_dashboard_shows_blank_where_a_value_cannot_be_used(stack, browser):  # noqa: F811
    expiry = widest_btc_expiry(stack)
    symbol = symbols_of(stack, expiry)[0][0]
    key = keys.tick("bybit", symbol)
    page = browser.new_page(viewport={"width": 1600, "height": 1000}, bypass_csp=True)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    with stack.still():
        saved = stack.redis.hgetall(key)
        try:
            stack.redis.hset(key, mapping={
                "bid": "NaN", "mark_iv": "Infinity", "mark": "-5", "delta": "abc",
                "ask": "1e999", "underlying": "Infinity", "oi": "<b>1</b>",
            })  # fmt: skip
            page.goto(f"{stack.web.url}/chain/bybit/BTC/{expiry}/")
            page.wait_for_function("window.chainReady === true", timeout=10000)
            for field in ("bid", "mark_iv", "mark", "delta", "ask", "oi"):
                assert page.text_content(cell(symbol, field)) == "", field
            table = page.text_content("#chain")
            assert "NaN" not in table and "Infinity" not in table
            assert page.locator("tr.atm").count() == 1  # from the valid forwards
        finally:
            stack.redis.delete(key)
            stack.redis.hset(key, mapping=saved)
    # The cell formatter itself, for values a message could still carry.
    shown = page.evaluate(
        """(cases) => cases.map(([field, raw]) => window.chainFormat(field, raw))""",
        [["bid", "NaN"], ["bid_iv", "Infinity"], ["mark_iv", "1e999"],
         ["mark", "-5"], ["delta", "abc"], ["ask", None], ["oi", "=1+1"],
         ["mark_iv", "0.5"], ["delta", "-0.25"], ["mark", "1205.5"], ["bid", "0"]],
    )  # fmt: skip
    assert shown == ["", "", "", "", "", "", "", "50.0%", "-0.250", "1205.5", "–"]
    assert errors == []
