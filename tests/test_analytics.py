"""The analytics (options.analytics, options.gex, options.term) on chains whose every
answer was worked out by hand (docs/analytics.md has the definitions)."""

import math

import pytest

from options.analytics import expiry_analytics, max_pain, wing_iv
from options.gex import zero_crossing
from options.quote import QUOTED, indexed_strikes, quote, quotes_of, strikes
from options.rows import Chain, Tick, chain_rows, usable
from options.term import TermPoint, constant_maturities, constant_maturity

FIELDS = ("underlying", "mark_iv", "delta", "gamma", "oi", "volume_24h")


def contract(strike: float, kind: str, *values) -> Tick:
    """values in FIELDS order; None leaves the field out, as a store that never got
    it would."""
    state = {f: str(v) for f, v in zip(FIELDS, values, strict=True) if v is not None}
    return Tick(f"BTC-27MAR26-{strike:g}-{kind}-USDT", state, strike)


def chain_of(*ticks: Tick) -> Chain:
    return Chain("bybit", "BTC", "2026-03-27", chain_rows(ticks))


# underlying, mark_iv, delta, gamma, oi, volume_24h
THREE_STRIKES = chain_of(
    contract(90, "C", 101, 0.60, 0.80, 0.01, 10, 2),
    contract(90, "P", 100, 0.70, -0.20, 0.01, 30, 6),
    contract(100, "C", 100, 0.50, 0.50, 0.02, 20, 4),
    contract(100, "P", 99, 0.54, -0.50, 0.02, 20, 4),
    contract(110, "C", 100, 0.44, 0.20, 0.01, 40, 1),
    contract(110, "P", 102, 0.48, -0.80, 0.01, 5, 0),
)


def test_every_number_of_a_three_strike_chain():
    found = expiry_analytics(THREE_STRIKES).as_dict()
    # Forward: the median of 99, 100, 100, 100, 101, 102 (lower middle: 100).
    assert found["forward"] == 100
    assert found["atm_strike"] == 100
    assert found["atm_iv"] == pytest.approx((0.50 + 0.54) / 2)
    # Call 25: between deltas 0.20 (44 %) and 0.50 (50 %), a sixth of the way.
    assert found["call25_iv"] == pytest.approx(0.45)
    # Put 25: between -0.50 (54 %) and -0.20 (70 %), five sixths of the way.
    assert found["put25_iv"] == pytest.approx(0.54 + 5 / 6 * 0.16)
    assert found["rr25"] == pytest.approx(0.45 - 0.673333, abs=1e-6)
    assert found["bf25"] == pytest.approx((0.45 + 0.673333) / 2 - 0.52, abs=1e-6)
    assert found["pcr_oi"] == pytest.approx(55 / 70)
    assert found["pcr_volume"] == pytest.approx(10 / 7)
    # Pain at 90: 300, at 100: 150, at 110: 400.
    assert found["max_pain"] == 100
    assert found["convention"] == "classic"


def test_gamma_exposure_under_both_conventions():
    classic = expiry_analytics(THREE_STRIKES, "classic").as_dict()
    by_strike = {p["strike"]: p["gex"] for p in classic["gex_by_strike"]}
    # 90: call 0.01 x 10 x 101^2 x 1 % = 10.201, put -0.01 x 30 x 100^2 x 1 % = -30.
    assert by_strike == {
        90: pytest.approx(10.201 - 30),
        100: pytest.approx(40 - 39.204),
        110: pytest.approx(40 - 5.202),
    }
    assert classic["gex_total"] == pytest.approx(15.795)
    # Cumulative -19.799, -19.003, 15.795: crosses between 100 and 110, and 110's
    # cumulative is the nearer to zero.
    assert classic["zero_gamma"] == 110
    assert classic["largest_positive"] == {"strike": 110, "gex": pytest.approx(34.798)}
    assert classic["largest_negative"] == {"strike": 90, "gex": pytest.approx(-19.799)}

    short = expiry_analytics(THREE_STRIKES, "short").as_dict()
    assert short["convention"] == "short"
    assert short["gex_total"] == pytest.approx(
        -(10.201 + 30 + 40 + 39.204 + 40 + 5.202)
    )
    assert short["zero_gamma"] is None and short["largest_positive"] is None
    assert short["largest_negative"]["strike"] == 100
    with pytest.raises(ValueError, match="convention"):
        expiry_analytics(THREE_STRIKES, "long")


def test_missing_quotes_leave_only_what_cannot_be_computed_empty():
    chain = chain_of(
        contract(90, "C", 100, 0.60, 0.80, 0.01, 10, None),
        contract(90, "P", None, None, None, None, 30, None),  # no quote at all
        contract(100, "C", None, None, None, None, 20, None),
        contract(100, "P", 100, 0, -0.50, 0.02, 20, None),  # IV 0: no quote
        contract(110, "C", 100, 0.44, 0.20, 0.01, 40, None),
    )
    found = expiry_analytics(chain).as_dict()
    assert found["forward"] == 100 and found["atm_strike"] == 100
    # Neither of the ATM strike's contracts has a mark IV.
    assert found["atm_iv"] is None and found["bf25"] is None
    # Between 0.20 (44 %) and 0.80 (60 %), a twelfth of the way.
    assert found["call25_iv"] == pytest.approx(0.44 + 0.16 / 12)
    # The one put with a delta has no IV: nothing brackets -0.25.
    assert found["put25_iv"] is None and found["rr25"] is None
    # No volume anywhere: no ratio; open interest is there.
    assert found["pcr_volume"] is None and found["pcr_oi"] == pytest.approx(50 / 70)
    gex = {p["strike"]: p["gex"] for p in found["gex_by_strike"]}
    assert gex[90] == pytest.approx(10.0)  # the put without gamma adds nothing
    assert gex[100] == pytest.approx(-0.02 * 20 * 100 * 100 * 0.01)
    assert list(gex) == [90, 100, 110]


def test_a_chain_without_open_interest():
    chain = chain_of(
        contract(90, "C", 100, 0.60, 0.80, 0.01, 0, 0),
        contract(90, "P", 100, 0.70, -0.20, 0.01, 0, 0),
        contract(100, "C", 100, 0.50, 0.50, 0.02, 0, 0),
        contract(100, "P", 100, 0.54, -0.50, 0.02, 0, 0),
    )
    found = expiry_analytics(chain).as_dict()
    assert found["pcr_oi"] is None and found["pcr_volume"] is None
    assert found["max_pain"] is None
    assert [p["gex"] for p in found["gex_by_strike"]] == [0.0, 0.0]
    assert found["gex_total"] == 0.0 and found["zero_gamma"] is None
    assert found["largest_positive"] is None and found["largest_negative"] is None
    # The IVs do not need open interest.
    assert found["atm_iv"] == pytest.approx(0.52)


def test_a_single_strike():
    chain = chain_of(
        contract(100, "C", 100.5, 0.50, 0.52, 0.02, 3, 1),
        contract(100, "P", 100.5, 0.56, -0.48, 0.02, 1, 2),
    )
    found = expiry_analytics(chain).as_dict()
    assert found["forward"] == 100.5 and found["atm_strike"] == 100
    assert found["atm_iv"] == pytest.approx(0.53)
    assert found["rr25"] is None and found["bf25"] is None  # nothing brackets 0.25
    assert found["max_pain"] == 100
    assert found["pcr_oi"] == pytest.approx(1 / 3) and found["pcr_volume"] == 2
    assert found["zero_gamma"] is None


def test_an_empty_chain_has_no_numbers_but_its_convention():
    found = expiry_analytics(chain_of()).as_dict()
    assert found["forward"] is None and found["atm_strike"] is None
    assert found["gex_by_strike"] == [] and found["gex_total"] is None
    assert found["convention"] == "classic"


def test_a_delta_exactly_at_25_gives_its_own_iv():
    calls = [contract(100, "C", 100, 0.5, 0.5, 0, 0, 0),
             contract(110, "C", 100, 0.4, 0.25, 0, 0, 0)]  # fmt: skip
    assert wing_iv([quote(t.values) for t in calls], 0.25) == 0.4


def test_max_pain_on_a_tie_is_the_lower_strike():
    chain = chain_of(
        contract(90, "C", 100, 0.5, 0.5, 0, 1, 0),
        contract(110, "P", 100, 0.5, -0.5, 0, 1, 0),
        contract(100, "C", 100, 0.5, 0.5, 0, 0, 0),
    )
    # Pain: 90 -> 20, 100 -> 10 + 10, 110 -> 20. 100 is the only minimum.
    assert max_pain(strikes(chain.rows)) == 100
    flat = chain_of(contract(90, "C", 100, 0.5, 0.5, 0, 1, 0),
                    contract(95, "C", 100, 0.5, 0.5, 0, 0, 0))  # fmt: skip
    assert max_pain(strikes(flat.rows)) == 90


def test_zero_gamma_with_several_crossings_is_the_one_nearest_the_forward():
    profile = [(90, -1.0), (100, 2.0), (110, -2.0), (120, 3.0)]
    # Cumulative -1, 1, -1, 2: crossings picked at 90 (a tie: the lower), 100 (a
    # tie) and 110 (-1 is nearer zero than 2).
    assert zero_crossing(profile, None) == 90
    assert zero_crossing(profile, 104) == 100
    assert zero_crossing(profile, 105) == 100  # 100 and 110 as near: the lower
    assert zero_crossing(profile, 200) == 110
    # Exactly zero is a crossing at that strike; None counts as nothing.
    assert zero_crossing([(90, -1.0), (100, None), (110, 1.0), (120, 5.0)], 0) == 110
    assert zero_crossing([(90, 1.0), (100, 2.0)], 95) is None


def test_constant_maturity_is_linear_in_total_variance():
    points = [TermPoint("a", 7, 0.5), TermPoint("b", 30, 0.6),
              TermPoint("c", 90, 0.7), TermPoint("d", 120, None)]  # fmt: skip
    assert constant_maturity(points, 7) == 0.5
    assert constant_maturity(points, 30) == 0.6
    # 60 days: 0.36 x 30 = 10.8 and 0.49 x 90 = 44.1; halfway 27.45 over 60 days.
    assert constant_maturity(points, 60) == pytest.approx(math.sqrt(27.45 / 60))
    assert constant_maturity(points, 90) == 0.7
    assert constant_maturity(points, 3) is None  # before the first expiry
    assert constant_maturity(points, 100) is None  # the last one has no IV
    assert constant_maturities(points[1:3]) == {
        "7": None,
        "30": 0.6,
        "60": pytest.approx(0.676387, abs=1e-6),
        "90": 0.7,
    }
    # An expiry already past does not count.
    assert constant_maturity([TermPoint("x", -1, 0.9), *points[:2]], 7) == 0.5


def test_a_value_that_is_not_a_finite_number_is_missing():
    values = {"underlying": "100", "mark_iv": "nan", "delta": "0.5", "gamma": "inf",
              "oi": "", "volume_24h": "2"}  # fmt: skip
    assert quote(values) == (100.0, None, 0.5, None, None, 2.0)
    whole = dict(values, mark_iv="0.5", gamma="0.01", oi="3")
    assert quote(whole) == (100.0, 0.5, 0.5, 0.01, 3.0, 2.0)
    assert quote(dict(whole, mark_iv="0")).mark_iv is None  # no quote, not 0 %


def test_quotes_read_straight_from_the_store_are_those_of_its_hashes():
    # Each contract's QUOTED values as Redis answers an HMGET (None: not in the hash).
    clean = ["100", "0.5", "0.25", "0.01", "10", "2"]
    replies = [
        clean,
        ["100", "0", "-0.5", "0.01", "10", "2"],  # an IV of 0: no quote
        ["1e2", "25", "abc", "0.01", "-1", " 2"],  # not usable values
        [None, "0.5", "0.5", None, "10", "2"],  # fields the hash lacks
        [None] * 6,  # no hash at all
    ]
    hashes = [
        usable({f: v for f, v in zip(QUOTED, r, strict=True) if v is not None})
        for r in replies
    ]
    assert quotes_of(replies) == [quote(h) for h in hashes]
    assert quotes_of(replies[:2]) == [quote(h) for h in hashes[:2]]  # all usable
    assert quotes_of(replies)[2] == (None, None, None, 0.01, None, None)
    # Paired by strike as the chain's rows are; a symbol that is no option goes.
    index = [("BTC-27MAR26-90-C-USDT", 90.0), ("BTC-27MAR26-90-P-USDT", 90.0),
             ("BTC-PERP", 95.0), ("BTC-27MAR26-100-P-USDT", 100.0),
             ("BTC-27MAR26-110-C-USDT", 110.0)]  # fmt: skip
    ticks = [Tick(symbol, dict(zip(QUOTED, clean, strict=True)), strike)
             for symbol, strike in index]  # fmt: skip
    assert indexed_strikes(index, quotes_of([clean] * 5)) == strikes(chain_rows(ticks))
