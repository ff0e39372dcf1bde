"""The read model's definitions (options.rows), each written once: staleness, call or
put, the ATM strike, the centre and index prices, tick ages, rows by strike."""

from options.rows import (
    Chain,
    Tick,
    atm_index,
    centre_price,
    chain_rows,
    feed_health,
    freshest_index,
    is_stale,
    option_type,
    usable,
)

NOW = 1_800_000_000_000


def test_a_feed_is_stale_without_a_recent_heartbeat_or_when_not_streaming():
    assert not is_stale("streaming", 0)
    assert not is_stale("streaming", 5_000)
    assert is_stale("streaming", 5_001)  # heartbeat older than 5 s
    assert is_stale("streaming", None)  # never wrote one
    # A fresh heartbeat does not hide a feed that says it is not streaming.
    assert is_stale("stopped", 100)
    assert is_stale("redis-down", 100)
    assert is_stale(None, 100)


def test_call_or_put_comes_from_the_symbol_parser():
    assert option_type("BTC-27MAR26-70000-C-USDT") == "C"
    assert option_type("XRP-30OCT26-0.4-P-USDT") == "P"
    assert option_type("ETH-3JAN26-3000-P") == "P"  # the older name, no settle coin
    # Not option symbols: neither side (a split on "-" said "C" for the first).
    assert option_type("BTC-27MAR26-70000-C-USDT-X") is None
    assert option_type("BTC-PERP") is None
    assert option_type("BTC-27MAR26-0-C") is None


def test_the_atm_strike_is_the_nearest_and_the_lower_on_a_tie():
    strikes = [60_000.0, 65_000.0, 70_000.0, 75_000.0]
    assert atm_index(strikes, 66_000) == 1
    assert atm_index(strikes, 67_500) == 1  # halfway: the lower strike
    assert atm_index(strikes, 10) == 0 and atm_index(strikes, 1e9) == 3
    assert atm_index([], 70_000) is None


def test_the_centre_price_is_the_forward_else_the_spot_and_never_zero():
    assert centre_price([{"index": "101"}, {"underlying": "102", "index": "101"}]) == (
        "102"
    )
    assert centre_price([{"underlying": "0", "index": "99"}, {}]) == "99"
    assert centre_price([{"underlying": "0"}, {"index": "0"}]) is None
    assert centre_price([]) is None


def test_the_index_price_is_the_one_the_feed_received_last():
    states = [
        {"index": "90000", "recv_ts": str(NOW - 60_000)},
        {"index": "90500", "recv_ts": str(NOW - 200)},  # the newest
        {"index": "90100", "ts": str(NOW - 5_000)},  # only the exchange's time
        {"recv_ts": str(NOW)},  # no index at all
        {"index": "0", "recv_ts": str(NOW)},
    ]
    assert freshest_index(states) == "90500"
    assert freshest_index([{"index": "7"}]) == "7"  # without any time
    assert freshest_index([{}]) is None


def test_a_tick_age_counts_from_its_receipt_else_the_exchange_time():
    assert Tick("S", {"recv_ts": str(NOW - 1500), "ts": "1"}).age_ms(NOW) == 1500
    assert Tick("S", {"ts": str(NOW - 20)}).age_ms(NOW) == 20
    assert Tick("S", {"ts": str(NOW + 300)}).age_ms(NOW) == 0  # a clock ahead
    assert Tick("S", {"mark": "1"}).age_ms(NOW) is None


def test_rows_pair_call_and_put_by_strike_and_drop_what_is_neither():
    ticks = [
        Tick("BTC-27MAR26-60000-C-USDT", {"mark": "1"}, 60_000.0),
        Tick("BTC-27MAR26-60000-P-USDT", {"mark": "2"}, 60_000.0),
        Tick("BTC-27MAR26-65000-P-USDT", {}, 65_000.0),  # a put alone
        Tick("NOT-A-SYMBOL", {}, 70_000.0),
    ]
    rows = chain_rows(ticks)
    assert [row.strike for row in rows] == [60_000.0, 65_000.0]
    assert rows[0].call is ticks[0] and rows[0].put is ticks[1]
    assert rows[1].call is None and rows[1].put is ticks[2]
    chain = Chain("bybit", "BTC", "2026-03-27", rows, "61000", 0)
    assert chain.ticks() == ticks[:3]


def test_around_atm_keeps_n_rows_each_side_and_the_atm_position():
    rows = chain_rows(
        Tick(f"BTC-27MAR26-{k}-C-USDT", {}, float(k)) for k in range(1, 11)
    )
    chain = Chain("bybit", "BTC", "2026-03-27", rows, "3.2", 2)
    near = chain.around_atm(2)
    assert [row.strike for row in near.rows] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert near.atm_strike == 3.0 == chain.atm_strike
    assert [row.strike for row in chain.around_atm(0).rows] == [3.0]
    unpriced = Chain("bybit", "BTC", "2026-03-27", rows)
    assert unpriced.around_atm(1) is unpriced and unpriced.atm_strike is None


def test_feed_health_parses_the_status_hash_and_says_whether_it_is_stale():
    status = {
        "state": "streaming", "heartbeat_ts": str(NOW - 800), "msgs_per_s": "2000.5",
        "last_msg_ts": str(NOW - 10), "started_ts": str(NOW - 60_000),
        "msgs_total": "12345", "connections": "4", "malformed": "0",
    }  # fmt: skip
    health = feed_health("bybit", status, NOW)
    assert health.state == "streaming" and health.stale is False
    assert health.heartbeat_age_ms == 800 and health.last_msg_age_ms == 10
    assert health.msgs_per_s == 2000.5 and health.msgs_total == 12345
    assert health.connections == 4 and health.malformed == 0
    assert health.reconnects is None  # not written: unknown, not zero

    never = feed_health("bybit", {}, NOW)
    assert never.state is None and never.stale is True
    assert never.heartbeat_ts is None and never.heartbeat_age_ms is None


def test_a_value_that_cannot_be_used_is_none_and_never_moves_the_atm():
    junk = [{"underlying": v, "index": v} for v in ("abc", "NaN", "-1", "Infinity",
                                                  "1e999", "")]  # fmt: skip
    states = [*junk, {"underlying": "90500.5", "index": "90000"}]
    assert centre_price([usable(s) for s in states]) == "90500.5"
    assert centre_price(states) == "90500.5"  # raw states: the same rule
    assert freshest_index([{"index": "Infinity", "recv_ts": str(NOW)}]) is None
    assert usable({"bid": "NaN", "ask": "5", "html": "<b>"}) == {
        "bid": None,
        "ask": "5",
    }
    clean = {"bid": "1", "ts": str(NOW)}
    assert usable(clean) is clean  # nothing to copy when it is clean
    asked = usable(clean, frozenset({"bid", "mark"}))
    assert asked == {"bid": "1", "ts": str(NOW), "mark": None}
    assert usable({}, frozenset({"bid"})) == {}  # a contract without data stays empty
    tick = Tick("BTC-27MAR26-70000-C-USDT", usable({"recv_ts": "soon", "ts": "5"}))
    assert tick.age_ms(10) == 5


def test_feed_health_survives_a_status_hash_with_garbage_in_it():
    status = {
        "state": "streaming",
        "heartbeat_ts": "x",
        "msgs_per_s": "nan",
        "malformed": "inf",
        "invalid": "3",
        "invalid_fields": "{not json",
    }
    health = feed_health("bybit", status, NOW)  # fmt: skip
    assert health.heartbeat_ts is None and health.stale
    assert health.msgs_per_s is None and health.malformed is None
    assert health.invalid == 3 and health.invalid_fields == {}
    ok = feed_health("bybit", {"invalid_fields": '{"bid": 2, "x": -1}'}, NOW)
    assert ok.invalid_fields == {"bid": 2}


def test_a_hash_found_clean_is_remembered_and_a_dirty_one_never():
    clean = {"bid": "1", "delta": "-0.5"}
    assert usable(clean, key="k") is clean
    assert usable(dict(clean), key="k") == clean  # remembered: the same hash again
    dirty = {"bid": "-1", "delta": "-0.5"}  # the same key, the hash changed
    for _ in range(2):
        assert usable(dirty, key="k") == {"bid": None, "delta": "-0.5"}
    assert usable({"bid": ["1"]}, key="k") == {"bid": None}  # not text
