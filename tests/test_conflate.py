"""The conflator files the newest frame per contract and hands out what changed."""

import pytest

from feed.conflate import Conflator
from feed.exchanges.bybit.stream import FIELD_MAP
from options.fields import PROFILES

SYMBOL = "BTC-27MAR26-70000-C-USDT"
FULL = {ws: f"{n}.5" for n, ws in enumerate(FIELD_MAP)}


def make(profile="full"):
    conflator = Conflator(FIELD_MAP, PROFILES[profile])
    conflator.track([SYMBOL])
    return conflator


def test_the_first_frame_writes_every_field_of_the_profile():
    c = make()
    assert c.accept(SYMBOL, 10, {**FULL, "symbol": SYMBOL}, 11)
    row = c.take()[SYMBOL]
    assert row == {FIELD_MAP[k]: v for k, v in FULL.items()} | {
        "ts": "10",
        "recv_ts": "11",
    }
    assert c.take() == {}


def test_later_frames_write_only_the_fields_that_changed_since_the_last_flush():
    c = make()
    c.accept(SYMBOL, 10, FULL, 11)
    c.take()
    c.accept(SYMBOL, 20, {**FULL, "askPrice": "3"}, 21)
    c.accept(SYMBOL, 30, {**FULL, "askPrice": "4", "bidPrice": FULL["bidPrice"]}, 31)
    assert c.take() == {SYMBOL: {"ask": "4", "ts": "30", "recv_ts": "31"}}
    c.accept(SYMBOL, 40, {**FULL, "askPrice": "4"}, 41)
    assert c.take() == {SYMBOL: {"ts": "40", "recv_ts": "41"}}


def test_a_profile_keeps_only_its_fields():
    c = make("critical")
    c.accept(SYMBOL, 10, FULL, 11)
    assert set(c.take()[SYMBOL]) == {"bid", "ask", "mark", "mark_iv", "ts"}


def test_a_delta_keeps_the_fields_it_does_not_carry():
    c = make()
    c.accept(SYMBOL, 10, FULL, 11)
    c.take()
    assert c.accept_delta(SYMBOL, 20, {"markPrice": "9"}, 21)
    assert c.take() == {SYMBOL: {"mark": "9", "ts": "20", "recv_ts": "21"}}
    assert next(c.take_all())[SYMBOL]["bid"] == FULL["bidPrice"]


def test_unknown_symbols_are_refused():
    c = make()
    assert not c.accept("ETH-1JAN27-1-P-USDT", 1, FULL, 1)
    assert not c.accept_delta("ETH-1JAN27-1-P-USDT", 1, FULL, 1)


def test_values_that_are_not_strings_are_refused_and_the_rest_of_the_frame_kept():
    c = make()
    c.accept(SYMBOL, 10, FULL, 11)
    c.take()
    for n, bad in enumerate((1.5, ["1"], None, {"a": "b"})):
        assert c.accept(
            SYMBOL, 20 + n, {**FULL, "bidPrice": bad, "askPrice": f"{n}"}, 0
        )
        row = c.take()[SYMBOL]
        assert "bid" not in row and row["ask"] == f"{n}"
        assert c.accept_delta(SYMBOL, 30 + n, {"bidPrice": bad}, 0)
        assert "bid" not in c.take()[SYMBOL]
    assert c.invalid == {"bid": 8}
    assert next(c.take_all())[SYMBOL]["bid"] == FULL["bidPrice"]  # the last good one


@pytest.mark.parametrize(
    "field, bad",
    [("bidPrice", "NaN"), ("bidPrice", "Infinity"), ("askPrice", "1e999"),
     ("markPrice", "-5"), ("lastPrice", ""), ("indexPrice", "<b>1</b>"),
     ("underlyingPrice", "=HYPERLINK(\"http://x\")"), ("openInterest", "9" * 7000),
     ("markPriceIv", "25"), ("bidIv", "-0.1"), ("delta", "nan"), ("theta", "1.2.3"),
     ("gamma", "caf\u00e9"), ("vega", " 1")],
)  # fmt: skip
def test_each_bad_value_is_counted_by_field_and_the_last_good_one_kept(field, bad):
    c = make()
    c.accept(SYMBOL, 10, FULL, 11)
    c.take()
    c.accept(SYMBOL, 20, {**FULL, field: bad, "askSize": "7"}, 21)
    assert c.take() == {SYMBOL: {"ask_size": "7", "ts": "20", "recv_ts": "21"}}
    assert c.invalid == {FIELD_MAP[field]: 1}
    assert c.last_invalid == (SYMBOL, FIELD_MAP[field], bad)
    assert next(c.take_all())[SYMBOL][FIELD_MAP[field]] == FULL[field]


def test_a_field_never_valid_is_never_written():
    c = make()
    c.accept(SYMBOL, 10, {**FULL, "bidPrice": "NaN"}, 11)
    assert "bid" not in c.take()[SYMBOL] and "bid" not in next(c.take_all())[SYMBOL]
    c.accept(SYMBOL, 20, {**FULL, "bidPrice": "NaN"}, 21)  # overtaken before a flush
    c.accept(SYMBOL, 30, FULL, 31)
    assert c.take()[SYMBOL]["bid"] == FULL["bidPrice"] and c.invalid == {"bid": 1}


def test_a_value_holding_the_separator_is_counted_as_malformed_at_flush():
    c = make()
    c.accept(SYMBOL, 10, FULL, 11)
    c.take()
    assert c.accept(SYMBOL, 20, {**FULL, "bidPrice": "a\x1fb"}, 21)
    assert c.take() == {}
    assert c.malformed == 1
    assert next(c.take_all())[SYMBOL]["bid"] == FULL["bidPrice"]  # the last good state


def test_take_all_returns_the_full_latest_state():
    c = make()
    c.accept(SYMBOL, 10, FULL, 11)
    c.take()
    c.accept(SYMBOL, 20, {**FULL, "askPrice": "3"}, 21)
    everything = next(c.take_all())[SYMBOL]
    assert len(everything) == len(FIELD_MAP) + 2
    assert everything["ask"] == "3" and everything["ts"] == "20"
    assert c.live_count() == 1


def test_pending_values_are_handed_out_in_chunks_while_new_frames_wait():
    c = Conflator(FIELD_MAP, PROFILES["full"])
    symbols = [f"BTC-27MAR26-{n}-C-USDT" for n in range(1, 11)]
    c.track(symbols)
    for n, symbol in enumerate(symbols):
        c.accept(symbol, n, FULL, n)
    batch = list(c.take_pending().items())
    c.accept(symbols[0], 99, FULL, 99)  # arrives while the batch is being written
    first, rest = c.changes(batch[:4]), c.changes(batch[4:])
    assert len(first) == 4 and len(rest) == 6 and not set(first) & set(rest)
    assert c.take() == {symbols[0]: {"ts": "99", "recv_ts": "99"}}
    chunks = list(c.take_all(chunk=3))
    assert [len(chunk) for chunk in chunks] == [3, 3, 3, 1]
