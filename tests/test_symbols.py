from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from options.symbols import SymbolError, format_symbol, parse_symbol


@pytest.mark.parametrize(
    "name, base, expiry, strike, kind, settle",
    [
        ("BTC-27MAR26-70000-P-USDT", "BTC", date(2026, 3, 27), "70000", "P", "USDT"),
        ("BTC-6JAN23-17500-C", "BTC", date(2023, 1, 6), "17500", "C", None),
        ("ETH-3JAN23-1250-P", "ETH", date(2023, 1, 3), "1250", "P", None),
        ("XRP-30OCT26-0.4-P-USDT", "XRP", date(2026, 10, 30), "0.4", "P", "USDT"),
        ("SOL-28NOV26-142.5-C-USDT", "SOL", date(2026, 11, 28), "142.5", "C", "USDT"),
        ("ETH-28FEB25-2800-C", "ETH", date(2025, 2, 28), "2800", "C", None),
        ("BTC-29FEB28-100000-C-USDC", "BTC", date(2028, 2, 29), "100000", "C", "USDC"),
    ],
)
def test_parse(name, base, expiry, strike, kind, settle):
    parsed = parse_symbol(name)
    assert parsed.base == base
    assert parsed.expiry_date == expiry
    assert parsed.strike == Decimal(strike)
    assert isinstance(parsed.strike, Decimal)
    assert parsed.option_type == kind
    assert parsed.settle == settle
    assert parsed.expiry == datetime(*expiry.timetuple()[:3], 8, tzinfo=UTC)


@pytest.mark.parametrize(
    "name",
    [
        "BTC-27MAR26-70000-P-USDT",
        "BTC-6JAN23-17500-C",
        "XRP-30OCT26-0.4-P-USDT",
        "SOL-28NOV26-142.5-C-USDT",
        "DOGE-1DEC26-0.125-C-USDT",
    ],
)
def test_round_trip(name):
    parsed = parse_symbol(name)
    assert parsed.name == name
    assert (
        format_symbol(
            parsed.base,
            parsed.expiry_date,
            parsed.strike,
            parsed.option_type,
            parsed.settle,
        )
        == name
    )


def test_format_has_no_padding_or_exponent():
    name = format_symbol("BTC", date(2026, 1, 2), Decimal("7E+4"), "C", None)
    assert name == "BTC-2JAN26-70000-C"
    name = format_symbol("XRP", date(2026, 10, 30), Decimal("0.40"), "P", "USDT")
    assert name == "XRP-30OCT26-0.4-P-USDT"


@pytest.mark.parametrize(
    "name, message",
    [
        ("", "not an option symbol"),
        ("btc-27mar26-70000-p-usdt", "not an option symbol"),
        ("BTC-27FOO26-70000-P-USDT", "unknown month 'FOO'"),
        ("BTC-30FEB26-70000-P-USDT", "impossible expiry date"),
        ("BTC-27MAR26-0-P-USDT", "strike must be positive"),
        ("BTC-27MAR26-0.0-P-USDT", "strike must be positive"),
        ("BTC-27MAR26-1e5-P-USDT", "not an option symbol"),
        ("BTC-27MAR26-70000", "not an option symbol"),
        ("BTC-27MAR26-70000-X-USDT", "not an option symbol"),
        ("BTC-27MAR26-70000-P-USDT-EXTRA", "not an option symbol"),
        ("BTC-07MAR26-70000-P-USDT", "not an option symbol"),
        ("BTC-27MAR26--70000-P-USDT", "not an option symbol"),
        ("BTCUSDT", "not an option symbol"),
    ],
)
def test_rejects(name, message):
    with pytest.raises(SymbolError, match=message) as caught:
        parse_symbol(name)
    if name:
        assert repr(name) in str(caught.value)


@pytest.mark.parametrize("value", [None, 70000, b"BTC-27MAR26-70000-P-USDT"])
def test_rejects_non_string(value):
    with pytest.raises(SymbolError, match="must be a string"):
        parse_symbol(value)


def test_symbol_error_is_value_error():
    assert issubclass(SymbolError, ValueError)
