"""The conflator keeps the newest value of each field and hands out only what changed."""
from feed.conflate import Conflator
from feed.exchanges.bybit.stream import FIELD_MAP
from options.fields import PROFILES

SYMBOL = "BTC-27MAR26-70000-C-USDT"


def make(profile="full"):
    conflator = Conflator(FIELD_MAP, PROFILES[profile])
    conflator.track([SYMBOL])
    return conflator


def test_the_first_ticker_writes_every_field_of_the_profile():
    c = make()
    assert c.apply(SYMBOL, 10, {"bidPrice": "1", "askPrice": "2", "symbol": SYMBOL}, 11)
    assert c.take() == {SYMBOL: {"bid": "1", "ask": "2", "ts": "10", "recv_ts": "11"}}
    assert c.take() == {}


def test_later_tickers_write_only_the_changed_fields():
    c = make()
    c.apply(SYMBOL, 10, {"bidPrice": "1", "askPrice": "2"}, 11)
    c.take()
    c.apply(SYMBOL, 20, {"bidPrice": "1", "askPrice": "3"}, 21)
    c.apply(SYMBOL, 30, {"bidPrice": "1", "askPrice": "4"}, 31)
    assert c.take() == {SYMBOL: {"ask": "4", "ts": "30", "recv_ts": "31"}}


def test_a_profile_keeps_only_its_fields():
    c = make("critical")
    c.apply(SYMBOL, 10, {"bidPrice": "1", "gamma": "0.1", "markPrice": "5"}, 11)
    assert c.take() == {SYMBOL: {"bid": "1", "mark": "5", "ts": "10"}}


def test_unknown_symbols_and_non_string_values_are_refused_whole():
    c = make()
    assert not c.apply("ETH-1JAN27-1-P-USDT", 1, {"bidPrice": "1"}, 1)
    assert not c.apply(SYMBOL, 1, {"bidPrice": 1.5, "askPrice": "2"}, 1)
    assert not c.apply(SYMBOL, 1, {"bidPrice": ["1"]}, 1)
    assert c.take() == {}
    assert c.latest[SYMBOL] == {}


def test_take_all_returns_the_full_latest_state():
    c = make()
    c.apply(SYMBOL, 10, {"bidPrice": "1", "askPrice": "2"}, 11)
    c.take()
    c.apply(SYMBOL, 20, {"bidPrice": "1", "askPrice": "3"}, 21)
    assert c.take_all() == {
        SYMBOL: {"bid": "1", "ask": "3", "ts": "20", "recv_ts": "21"}
    }
    assert c.dirty == {}
