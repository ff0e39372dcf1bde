"""The conflator files the newest frame per contract and hands out what changed."""

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


def test_frames_with_values_that_are_not_strings_are_refused():
    c = make()
    c.accept(SYMBOL, 10, FULL, 11)
    c.take()
    for bad in (1.5, ["1"], None, {"a": "b"}):
        assert not c.accept(SYMBOL, 20, {**FULL, "bidPrice": bad}, 21)
        assert not c.accept_delta(SYMBOL, 20, {"bidPrice": bad}, 21)
    assert c.take() == {}


def test_values_that_redis_keys_cannot_carry_are_counted_and_skipped_at_flush():
    c = make()
    c.accept(SYMBOL, 10, FULL, 11)
    c.take()
    for bad in ("caf\u00e9", "a\x1fb"):
        assert c.accept(SYMBOL, 20, {**FULL, "bidPrice": bad}, 21)
        assert c.take() == {}
    assert c.malformed == 2
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
