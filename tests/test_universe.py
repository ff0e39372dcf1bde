"""The symbol universe: models, the sync service, the Bybit listing client, refresh."""

import re
import socket
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import httpx
import orjson
import pytest
from django.core.management import CommandError, call_command

from devtools.simulators import SimulatorThread
from feed.exchanges.base import ListingError
from feed.exchanges.bybit import Bybit
from feed.exchanges.bybit.listing import BybitListing, parse_item
from feed.refresh import refresh_universe
from options.instruments import Instrument
from options.models import OptionContract, Underlying
from options.symbols import parse_symbol
from options.universe import SyncReport, sync_listing

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def instrument(symbol: str, status: str = "Trading", tick: str = "5") -> Instrument:
    parsed = parse_symbol(symbol)
    return Instrument(
        exchange="bybit",
        symbol=symbol,
        base=parsed.base,
        settle=parsed.settle or "USDC",
        option_type=parsed.option_type,
        strike=parsed.strike,
        expiry=parsed.expiry,
        tick_size=Decimal(tick),
        status=status,
    )


def item(symbol: str, /, **changes) -> dict:
    """A listing item with Bybit's full field set (strings, integer symbolId)."""
    parsed = parse_symbol(symbol)
    ms = int(parsed.expiry.timestamp() * 1000)
    data = {
        "symbol": symbol,
        "symbolId": 123,
        "status": "Trading",
        "baseCoin": parsed.base,
        "quoteCoin": "USDT",
        "settleCoin": parsed.settle or "USDC",
        "optionsType": "Call" if parsed.option_type == "C" else "Put",
        "launchTime": "1743669649256",
        "deliveryTime": str(ms),
        "deliveryFeeRate": "0.00015",
        "priceFilter": {"minPrice": "5", "maxPrice": "1110000", "tickSize": "5"},
        "lotSizeFilter": {
            "maxOrderQty": "500",
            "minOrderQty": "0.01",
            "qtyStep": "0.01",
        },
        "displayName": symbol,
        "symbolType": "someNewField",
    }
    data.update(changes)
    return data


def envelope(items: list, cursor: str = "", code: int = 0) -> dict:
    return {
        "retCode": code,
        "retMsg": "OK" if code == 0 else "error",
        "result": {"category": "option", "nextPageCursor": cursor, "list": items},
        "retExtInfo": {},
        "time": 1672712537130,
    }


BTC = [f"BTC-27MAR26-{k}-{t}-USDT" for k in (60000, 70000, 80000) for t in "CP"]


# --- sync_listing -----------------------------------------------------------------


@pytest.mark.django_db
def test_sync_adds_then_unchanged():
    report = sync_listing("bybit", "BTC", [instrument(s) for s in BTC], now=T0)
    assert sorted(report.added) == sorted(BTC)
    assert report.unchanged == 0 and not report.deactivated
    assert str(Underlying.objects.get()) == "bybit BTC"
    row = OptionContract.objects.get(symbol="BTC-27MAR26-70000-P-USDT")
    assert row.strike == Decimal("70000") and row.option_type == "P"
    assert row.expiry == datetime(2026, 3, 27, 8, tzinfo=UTC)
    assert row.first_seen == row.last_seen == T0 and row.is_active

    later = T0 + timedelta(hours=1)
    again = sync_listing("bybit", "BTC", [instrument(s) for s in BTC], now=later)
    assert again.unchanged == len(BTC) and not again.changed
    row.refresh_from_db()
    assert row.first_seen == T0 and row.last_seen == later


@pytest.mark.django_db
def test_sync_vanished_then_reactivated():
    sync_listing("bybit", "BTC", [instrument(s) for s in BTC], now=T0)
    gone = BTC[:2]
    report = sync_listing("bybit", "BTC", [instrument(s) for s in BTC[2:]], now=T0)
    assert sorted(report.deactivated) == sorted(gone)
    assert report.unchanged == len(BTC) - 2
    assert set(
        OptionContract.objects.filter(is_active=False).values_list("symbol", flat=True)
    ) == set(gone)

    back = sync_listing("bybit", "BTC", [instrument(s) for s in BTC], now=T0)
    assert sorted(back.reactivated) == sorted(gone)
    assert OptionContract.objects.active().count() == len(BTC)


@pytest.mark.django_db
def test_sync_updates_changed_fields_and_leaves_other_bases():
    sync_listing("bybit", "ETH", [instrument("ETH-27MAR26-2000-C-USDT")], now=T0)
    sync_listing("bybit", "BTC", [instrument(s) for s in BTC], now=T0)
    changed = [instrument(BTC[0], status="Delivering", tick="0.5")]
    report = sync_listing("bybit", "BTC", changed + [instrument(s) for s in BTC[1:]])
    assert report.updated == [BTC[0]]
    row = OptionContract.objects.get(symbol=BTC[0])
    assert row.status == "Delivering" and row.tick_size == Decimal("0.5")
    assert OptionContract.objects.get(symbol="ETH-27MAR26-2000-C-USDT").is_active


@pytest.mark.django_db
def test_sync_rejects_other_base():
    with pytest.raises(ValueError, match="not in the listing of bybit BTC"):
        sync_listing("bybit", "BTC", [instrument("ETH-27MAR26-2000-C-USDT")])


@pytest.mark.django_db
def test_sync_bulk_is_few_queries(django_assert_max_num_queries):
    symbols = [f"BTC-27MAR26-{k}-{t}-USDT" for k in range(1000, 2200) for t in "CP"]
    with django_assert_max_num_queries(50):  # SQLite: 999 variables per INSERT
        report = sync_listing("bybit", "BTC", [instrument(s) for s in symbols])
    assert len(report.added) == 2400
    with django_assert_max_num_queries(20):
        again = sync_listing("bybit", "BTC", [instrument(s) for s in symbols[100:]])
    assert again.unchanged == 2300 and len(again.deactivated) == 100


def test_report_merge_and_str():
    a = SyncReport("bybit", ["BTC"], added=["x"], unchanged=3)
    b = SyncReport("bybit", ["ETH"], deactivated=["y"], failed={"SOL": "HTTP 500"})
    merged = a.merge(b)
    assert merged.bases == ["BTC", "ETH"] and merged.listed == 4
    text = str(merged)
    assert text.startswith("bybit [BTC, ETH]: 4 listed, 1 added")
    assert "1 deactivated" in text and "FAILED SOL: HTTP 500" in text


# --- models --------------------------------------------------------------------------


@pytest.mark.django_db
def test_feed_instruments_only_active_of_enabled():
    sync_listing("bybit", "BTC", [instrument(s) for s in BTC], now=T0)
    sync_listing("bybit", "BTC", [instrument(s) for s in BTC[1:]], now=T0)
    sync_listing("bybit", "ETH", [instrument("ETH-27MAR26-2000-C-USDT")], now=T0)
    sync_listing("bybit", "SOL", [instrument("SOL-28NOV26-142.5-C-USDT")], now=T0)
    Underlying.objects.filter(base_coin="SOL").update(enabled=False)

    got = OptionContract.objects.feed_instruments("bybit")
    assert {i.symbol for i in got} == set(BTC[1:]) | {"ETH-27MAR26-2000-C-USDT"}
    assert got[0] == instrument(got[0].symbol)
    assert str(got[0].strike) == "60000"
    only_eth = OptionContract.objects.feed_instruments("bybit", bases=["eth"])
    assert [i.symbol for i in only_eth] == ["ETH-27MAR26-2000-C-USDT"]
    assert OptionContract.objects.feed_instruments("deribit") == []


@pytest.mark.django_db
def test_days_to_expiry():
    sync_listing("bybit", "BTC", [instrument(BTC[0])])
    row = OptionContract.objects.get()
    expected = (row.expiry - datetime.now(UTC)).total_seconds() / 86400
    assert row.days_to_expiry == pytest.approx(expected, abs=0.01)
    assert str(row) == f"bybit {BTC[0]}"


# --- parsing listing items ---------------------------------------------------------


def test_parse_item():
    inst = parse_item(item("BTC-27MAR26-70000-P-USDT"))
    assert inst == Instrument(
        exchange="bybit",
        symbol="BTC-27MAR26-70000-P-USDT",
        base="BTC",
        settle="USDT",
        option_type="P",
        strike=Decimal("70000"),
        expiry=datetime(2026, 3, 27, 8, tzinfo=UTC),
        tick_size=Decimal("5"),
        status="Trading",
    )
    legacy = parse_item(item("BTC-6JAN23-17500-C", settleCoin="USDC"))
    assert legacy.option_type == "C" and legacy.settle == "USDC"
    assert parse_item(item("XRP-30OCT26-0.4-P-USDT")).strike == Decimal("0.4")


def test_parse_item_takes_delivery_time_from_record():
    inst = parse_item(item(BTC[0], deliveryTime="1774598400123"))
    assert inst.expiry == datetime(2026, 3, 27, 8, 0, 0, 123000, tzinfo=UTC)


def test_parse_item_skips_non_option_names():
    assert parse_item(item(BTC[0], symbol="BTCUSDT")) is None


@pytest.mark.parametrize(
    "changes",
    [
        {"optionsType": "Straddle"},
        {"optionsType": None},
        {"deliveryTime": 1774598400000},
        {"deliveryTime": "soon"},
        {"baseCoin": ""},
        {"status": None},
        {"priceFilter": {"tickSize": "abc"}},
        {"priceFilter": "5"},
        {"symbol": 5},
    ],
)
def test_parse_item_rejects_malformed(changes):
    with pytest.raises(ListingError) as caught:
        parse_item(item(BTC[0], **changes))
    assert caught.value.permanent


# --- BybitListing over a mock transport ----------------------------------------------


class Script:
    """A mock transport answering from a list of (status, body, headers)."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.urls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        status, body, headers = self.answers.pop(0)
        if isinstance(body, Exception):
            raise body
        content = body if isinstance(body, bytes) else orjson.dumps(body)
        return httpx.Response(status, content=content, headers=headers)


def listing_with(answers, **kwargs):
    script = Script(answers)
    sleeps: list[float] = []
    client = httpx.Client(transport=httpx.MockTransport(script))
    listing = BybitListing(
        "http://bybit.test/", client=client, sleep=sleeps.append, **kwargs
    )
    return listing, script, sleeps


def test_fetch_pages_with_verbatim_cursor():
    cursor = "first%3DBTC-27MAR26-60000-C-USDT%26last%3DBTC-27MAR26-70000-P-USDT"
    listing, script, sleeps = listing_with(
        [
            (200, envelope([item(s) for s in BTC[:4]], cursor), {}),
            (200, envelope([item(s) for s in BTC[3:]] + [item("ETH-27MAR26-2-C")]), {}),
        ],
        page_limit=4,
    )
    got = listing.fetch("BTC")
    assert [i.symbol for i in got] == BTC
    assert script.urls == [
        "http://bybit.test/v5/market/instruments-info"
        "?category=option&baseCoin=BTC&limit=4",
        "http://bybit.test/v5/market/instruments-info"
        f"?category=option&baseCoin=BTC&limit=4&cursor={cursor}",
    ]
    assert listing.skipped == ["ETH-27MAR26-2-C"] and sleeps == []


def test_fetch_skips_unparseable_symbols():
    items = [item(BTC[0]), item(BTC[1], symbol="BTC-27MAR26-70000-X-USDT")]
    listing, _, _ = listing_with([(200, envelope(items), {})])
    assert [i.symbol for i in listing.fetch("BTC")] == [BTC[0]]
    assert listing.skipped == ["BTC-27MAR26-70000-X-USDT"]


@pytest.mark.parametrize(
    "answer",
    [
        (500, b"oops", {}),
        (502, b"<html>", {}),
        (200, envelope([], code=10016), {}),
        (0, httpx.ConnectError("refused"), {}),
        (0, httpx.ReadTimeout("slow"), {}),
    ],
)
def test_fetch_retries_transient(answer):
    listing, script, sleeps = listing_with(
        [answer, (200, envelope([item(BTC[0])]), {})]
    )
    assert [i.symbol for i in listing.fetch("BTC")] == [BTC[0]]
    assert len(sleeps) == 1 and 0 <= sleeps[0] <= 0.5


def test_fetch_gives_up_after_retries():
    answers = [(500, b"down", {})] * 4
    listing, script, sleeps = listing_with(answers, max_retries=3, backoff_base=1)
    with pytest.raises(ListingError, match="HTTP 500 .after 3 retries") as caught:
        listing.fetch("BTC")
    assert not caught.value.permanent
    assert len(script.urls) == 4
    assert [s <= cap for s, cap in zip(sleeps, (1, 2, 4), strict=True)] == [True] * 3


def test_rate_limits_honour_retry_after_and_ban_wait():
    ok = (200, envelope([item(BTC[0])]), {})
    listing, _, sleeps = listing_with(
        [
            (429, b"", {"Retry-After": "7"}),
            (200, envelope([], code=10006), {}),
            (403, b"access too frequent", {}),
            ok,
        ],
        ban_wait=60,
        backoff_base=0.5,
    )
    assert len(listing.fetch("BTC")) == 1
    assert sleeps[0] == 7 and sleeps[1] <= 1 and sleeps[2] == 60


def test_persistent_ban_gives_up():
    ban = (403, b"access too frequent", {})
    listing, script, sleeps = listing_with([ban, ban], ban_wait=0.01)
    with pytest.raises(ListingError, match="403.*still banned"):
        listing.fetch("BTC")
    assert sleeps == [0.01]


@pytest.mark.parametrize(
    "answer, match",
    [
        ((200, b"not json", {}), "not JSON"),
        ((200, [1, 2], {}), "no integer retCode"),
        ((200, {"retCode": "0", "result": {}}, {}), "no integer retCode"),
        ((200, {"retCode": 0, "retMsg": "OK", "result": None}, {}), "no result"),
        ((200, {"retCode": 0, "result": {"list": None}}, {}), "lacks list"),
        ((200, envelope([], code=10001), {}), "retCode 10001"),
        ((404, b"", {}), "HTTP 404"),
        ((200, envelope([item(BTC[0], optionsType="Both")]), {}), "optionsType"),
    ],
)
def test_malformed_is_permanent(answer, match):
    listing, script, sleeps = listing_with([answer])
    with pytest.raises(ListingError, match=match) as caught:
        listing.fetch("BTC")
    assert caught.value.permanent and sleeps == []


def test_ret_msg_is_ignored():
    answer = envelope([item(BTC[0])])
    answer["retMsg"] = "success"
    listing, _, _ = listing_with([(200, answer, {})])
    assert len(listing.fetch("BTC")) == 1


def test_base_coin_exists():
    listing, script, _ = listing_with(
        [(200, envelope([item(BTC[0])], "c%3D1"), {}), (200, envelope([]), {})]
    )
    assert listing.base_coin_exists("BTC") is True
    assert listing.base_coin_exists("NOPE") is False
    assert script.urls[1].endswith("baseCoin=NOPE&limit=1")
    assert listing.base_coin_exists("btc") is False


# --- refresh_universe with a stand-in listing ----------------------------------------


class FakeListing:
    def __init__(self, listings: dict[str, list[str]], broken: dict[str, str] = ()):
        self.listings = listings
        self.broken = dict(broken)
        self.closed = False

    def fetch(self, base_coin: str) -> list[Instrument]:
        if base_coin in self.broken:
            raise ListingError(self.broken[base_coin])
        return [instrument(s) for s in self.listings.get(base_coin, [])]

    def close(self) -> None:
        self.closed = True


ETH = ["ETH-27MAR26-2000-C-USDT", "ETH-27MAR26-2000-P-USDT"]
SOL = ["SOL-28NOV26-142.5-C-USDT"]


@pytest.mark.django_db
def test_refresh_seeds_underlyings_from_settings(settings):
    settings.TRACKER_UNDERLYINGS = ["btc", "ETH", "BTC"]
    report = refresh_universe("bybit", listing=FakeListing({"BTC": BTC, "ETH": ETH}))
    assert report.bases == ["BTC", "ETH"] and not report.failed
    assert len(report.added) == len(BTC) + len(ETH)
    assert [str(u) for u in Underlying.objects.all()] == ["bybit BTC", "bybit ETH"]


@pytest.mark.django_db
def test_refresh_failure_leaves_that_coin_untouched(settings):
    settings.TRACKER_UNDERLYINGS = ["BTC", "ETH", "SOL"]
    refresh_universe(listing=FakeListing({"BTC": BTC, "ETH": ETH, "SOL": SOL}))
    broken = FakeListing({"BTC": BTC[1:], "SOL": SOL}, broken={"ETH": "HTTP 403"})
    report = refresh_universe(listing=broken)
    assert report.failed == {"ETH": "HTTP 403"}
    assert report.bases == ["BTC", "SOL"] and report.deactivated == [BTC[0]]
    assert (
        OptionContract.objects.active().filter(underlying__base_coin="ETH").count() == 2
    )
    assert "FAILED ETH: HTTP 403" in str(report)
    assert not broken.closed  # a listing passed in belongs to the caller


@pytest.mark.django_db
def test_refresh_only_enabled_and_asked(settings):
    settings.TRACKER_UNDERLYINGS = ["BTC", "ETH", "SOL"]
    Underlying.objects.create(exchange="bybit", base_coin="SOL", enabled=False)
    Underlying.objects.create(exchange="bybit", base_coin="BTC")
    fake = FakeListing({"BTC": BTC, "ETH": ETH, "SOL": SOL})
    assert refresh_universe(listing=fake).bases == ["BTC"]  # the table is not empty
    report = refresh_universe(bases=["btc", "SOL", "XRP"], listing=fake)
    assert report.bases == ["BTC"]
    assert set(report.failed) == {"SOL", "XRP"}
    assert "not an enabled underlying" in report.failed["XRP"]


@pytest.mark.django_db
def test_refresh_unknown_exchange():
    with pytest.raises(ValueError, match="unknown exchange 'nope'; known: bybit"):
        refresh_universe("nope")
    assert not Underlying.objects.exists()


# --- the command ---------------------------------------------------------------------


@pytest.fixture
def fake_registry(monkeypatch, settings, redis_url):
    """The registry's Bybit entry lists from a stand-in; Redis is a private one."""
    settings.TRACKER_UNDERLYINGS = ["BTC", "ETH"]
    settings.REDIS_URL = redis_url
    fake = FakeListing({"BTC": BTC, "ETH": ETH})
    monkeypatch.setattr(Bybit, "listing", lambda self, **options: fake)
    return fake


@pytest.mark.django_db
def test_command_prints_report(fake_registry):
    out = StringIO()
    call_command("refresh_symbols", "--underlyings", "BTC", "-v", "2", stdout=out)
    text = out.getvalue()
    assert text.startswith("bybit [BTC]: 6 listed, 6 added, 0 reactivated")
    assert f"  added: {BTC[0]}" in text
    assert fake_registry.closed


@pytest.mark.django_db
def test_command_fails_when_every_coin_fails(fake_registry):
    fake_registry.broken = {"BTC": "HTTP 500 (after 5 retries)", "ETH": "bad JSON"}
    with pytest.raises(CommandError, match="every base coin failed"):
        call_command("refresh_symbols", stdout=StringIO())
    fake_registry.broken = {"ETH": "bad JSON"}
    out = StringIO()
    call_command("refresh_symbols", stdout=out)  # one coin failing is not fatal
    assert "FAILED ETH: bad JSON" in out.getvalue()


# --- end to end: refresh against the exchange simulator over real HTTP ---------------


class ListingSimulator(SimulatorThread):
    """The simulator in this process, asked what it lists right now."""

    def listed(self, base: str) -> set[str]:
        async def names() -> set[str]:
            return {c.symbol for c in self.server.market.listed(base)}

        return self.run(names())


@pytest.fixture
def sim():
    server = ListingSimulator(contracts=2100, rate=1, seed=7, step_ms=1000).start()
    yield server
    server.stop()


def sim_listing(sim: ListingSimulator, **kwargs) -> BybitListing:
    options = {"max_retries": 2, "backoff_base": 0.01, "ban_wait": 0.05, **kwargs}
    return BybitListing(sim.rest_url, **options)


@pytest.fixture
def three_bases(settings):
    settings.TRACKER_UNDERLYINGS = ["BTC", "ETH", "SOL"]


def active_symbols(base: str) -> set[str]:
    rows = OptionContract.objects.active().filter(underlying__base_coin=base)
    return set(rows.values_list("symbol", flat=True))


@pytest.mark.django_db
def test_e2e_full_refresh_pages(sim, three_bases):
    with sim_listing(sim, page_limit=200) as listing:
        report = refresh_universe(listing=listing)
    assert report.bases == ["BTC", "ETH", "SOL"] and not report.failed
    assert report.listed == len(report.added) == 2100
    for base in ("BTC", "ETH", "SOL"):
        assert active_symbols(base) == sim.listed(base)
    assert sim.control("state")["rest_requests"] >= 2100 // 200
    instruments = OptionContract.objects.feed_instruments("bybit")
    assert len(instruments) == 2100
    assert all(i.expiry.hour == 8 and i.tick_size for i in instruments)

    with sim_listing(sim) as listing:  # 1000 a page: BTC (1050) takes two
        again = refresh_universe(listing=listing)
    assert again.unchanged == 2100 and not again.changed


@pytest.mark.django_db
def test_e2e_listing_change(sim, three_bases):
    refresh_universe(listing=sim_listing(sim))
    eth_expiry = min(OptionContract.objects.filter(underlying__base_coin="ETH")
                     .values_list("expiry", flat=True))  # fmt: skip
    far = (datetime.now(UTC) + timedelta(days=400)).date().isoformat()
    listed = sim.control("list", base="BTC", expiry=far, strikes="123000,124000")
    expired = sim.control("expire", base="ETH", expiry=eth_expiry.date().isoformat())
    delivering = sorted(sim.listed("SOL"))[:2]
    sim.control("expire", symbols=",".join(delivering), status="Delivering")

    report = refresh_universe(listing=sim_listing(sim))
    assert sorted(report.added) == sorted(listed["listed"]) and len(report.added) == 4
    assert sorted(report.deactivated) == sorted(expired["expired"])
    assert sorted(report.updated) == delivering
    assert OptionContract.objects.get(symbol=delivering[0]).status == "Delivering"
    for base in ("BTC", "ETH", "SOL"):
        assert active_symbols(base) == sim.listed(base)
    assert not OptionContract.objects.filter(
        symbol__in=expired["expired"], is_active=True
    ).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "mode, count, match",
    [
        ("malformed", 1, "not JSON"),
        ("500", 3, "HTTP 500 .after 2 retries"),
        ("10006", 3, "retCode 10006"),
        ("403", 2, "HTTP 403 .*still banned"),
        ("429", 3, "HTTP 429"),
    ],
)
def test_e2e_failure_leaves_coin_untouched(sim, three_bases, mode, count, match):
    refresh_universe(listing=sim_listing(sim))
    before = active_symbols("BTC")
    btc_expiry = min(OptionContract.objects.filter(underlying__base_coin="BTC")
                     .values_list("expiry", flat=True))  # fmt: skip
    sim.control("expire", base="BTC", expiry=btc_expiry.date().isoformat())
    sim.control("fail", mode=mode, count=count)  # BTC is fetched first

    report = refresh_universe(listing=sim_listing(sim))
    assert list(report.failed) == ["BTC"] and report.bases == ["ETH", "SOL"]
    assert re.search(match, report.failed["BTC"])
    assert active_symbols("BTC") == before != sim.listed("BTC")

    report = refresh_universe(listing=sim_listing(sim))  # the fault is spent
    assert not report.failed and report.deactivated
    assert active_symbols("BTC") == sim.listed("BTC")


@pytest.mark.django_db
def test_e2e_rate_limit_then_recovers(sim, three_bases):
    sim.control("fail", mode="403", count=1)
    sim.control("fail", mode="10006", count=1)
    sleeps: list[float] = []
    listing = sim_listing(sim, sleep=sleeps.append)
    report = refresh_universe(listing=listing)
    assert not report.failed and report.listed == 2100
    assert sleeps[0] == 0.05 and len(sleeps) == 2


def test_e2e_base_coin_exists(sim):
    with sim_listing(sim) as listing:
        assert listing.base_coin_exists("SOL")
        assert not listing.base_coin_exists("XRP")
        sim.control("list", base="XRP", expiry="2099-01-02", strikes="0.4", spot="0.6")
        assert listing.base_coin_exists("XRP")
        assert [i.strike for i in listing.fetch("XRP")] == [Decimal("0.4")] * 2


@pytest.mark.django_db
def test_e2e_exchange_down(settings, three_bases):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.BYBIT_REST_URL = f"http://127.0.0.1:{port}"
    refresh_universe(listing=FakeListing({"BTC": BTC, "ETH": ETH, "SOL": SOL}))
    listing = BybitListing(settings.BYBIT_REST_URL, max_retries=1, backoff_base=0.01)
    report = refresh_universe(listing=listing)
    assert set(report.failed) == {"BTC", "ETH", "SOL"} and not report.bases
    assert "ConnectError" in report.failed["BTC"]
    assert OptionContract.objects.active().count() == len(BTC) + len(ETH) + len(SOL)


@pytest.mark.django_db
def test_e2e_command(sim, settings, redis_url):
    settings.TRACKER_UNDERLYINGS = ["BTC", "ETH", "SOL"]
    settings.REDIS_URL = redis_url
    settings.BYBIT_REST_URL = sim.rest_url
    out = StringIO()
    call_command("refresh_symbols", "--underlyings", "BTC,ETH", stdout=out)
    counts = {base: len(sim.listed(base)) for base in ("BTC", "ETH")}
    total = sum(counts.values())
    assert out.getvalue().strip() == (
        f"bybit [BTC, ETH]: {total} listed, {total} added, 0 reactivated, "
        "0 deactivated, 0 updated, 0 unchanged"
    )
    sim.control("fail", mode="malformed", count=10)
    with pytest.raises(CommandError, match="every base coin failed.*not JSON"):
        call_command("refresh_symbols", "--exchange", "bybit", stdout=StringIO())
