"""A rule's conditions, cooldown and window on one contract (alerts.rules); the
feed's evaluator picking the contracts a flush changed, grouping a rule's firings
into one notification and keeping them until Redis takes them (alerts.evaluate)."""

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from alerts.delivery import Notifier, send_in_thread
from alerts.evaluate import RuleEvaluator
from alerts.rules import Rule, Watch
from options import keys
from options.clients import feed_client
from options.instruments import Instrument

SYMBOL = "BTC-27MAR26-70000-P-USDT"


def rule(condition="above", value=100.0, cooldown_s=60.0, **terms) -> Rule:
    terms.setdefault("symbol", SYMBOL)
    return Rule(1, "mark", condition, value, cooldown_s, **terms)


def run(watch_rule: Rule, values: list[tuple[float, float]]) -> list[str | None]:
    """What the rule says at each (time, value)."""
    watch = Watch()
    return [watch.check(watch_rule, value, at) for at, value in values]


def test_above_fires_on_a_value_above_and_again_only_after_the_cooldown():
    said = run(rule(), [(0, 90), (1, 101), (2, 105), (60, 104), (61, 103), (70, 99)])
    assert said == [None, "above 100", None, None, "above 100", None]


def test_below_is_strict():
    assert run(rule("below"), [(0, 100), (1, 99.5)]) == [None, "below 100"]


def test_crosses_fires_each_way_but_not_on_the_first_value():
    said = run(
        rule("crosses", cooldown_s=0), [(0, 120), (1, 90), (2, 95), (3, 100), (4, 99)]
    )
    assert said == [None, "crossed 100 (from 120)", None, "crossed 100 (from 95)",
                    None]  # fmt: skip


def test_a_cross_within_the_cooldown_is_swallowed_and_the_next_one_fires():
    said = run(rule("crosses", cooldown_s=10), [(0, 90), (1, 110), (2, 90), (12, 110)])
    assert said == [None, "crossed 100 (from 90)", None, "crossed 100 (from 90)"]


def test_change_pct_compares_with_the_value_in_effect_a_window_ago():
    change = rule("change_pct", value=5, window_s=60, cooldown_s=0)
    said = run(change, [(0, 100), (30, 103), (59, 104.9), (61, 106), (100, 106)])
    # At 61 s the value 60 s before was 100 (set at 0 s, in effect until 30 s).
    assert said[:3] == [None, None, None]
    assert said[3] == "changed +6.00 % in 60 s (from 100)"
    # At 100 s the value 60 s before was 103: +2.9 %.
    assert said[4] is None


def test_change_pct_takes_falls_too_and_keeps_a_bounded_window():
    change = rule("change_pct", value=10, window_s=10, cooldown_s=0)
    watch = Watch()
    for n in range(10_000):  # a value every millisecond
        watch.check(change, 100, n / 1000)
    assert len(watch.samples) <= 121
    assert watch.check(change, 89, 10.5) == "changed -11.00 % in 10 s (from 100)"


def instruments(*symbols: str) -> dict[str, Instrument]:
    expiry = datetime(2026, 3, 27, 8, tzinfo=UTC)
    return {
        s: Instrument("bybit", s, s.split("-")[0], "USDT", s.split("-")[3],
                      Decimal(s.split("-")[2]), expiry, None, "Trading")
        for s in symbols
    }  # fmt: skip


def test_the_evaluator_checks_only_contracts_with_rules_on_fields_that_changed():
    other = "BTC-27MAR26-80000-C-USDT"
    eth = "ETH-27MAR26-3000-C-USDT"
    universe = instruments(SYMBOL, other, eth)
    evaluator = RuleEvaluator(None, "bybit", notifier=None)
    evaluator.load([
        rule().to_dict(),
        {**rule("below", 0.5).to_dict(), "id": 2, "field": "mark_iv", "symbol": None,
         "base": "BTC", "expiry": "2026-03-27"},
    ])  # fmt: skip
    assert sorted(r.id for r in evaluator.rules.values()) == [1, 2]
    evaluator.check({SYMBOL: {"mark": "150"}, eth: {"mark_iv": "0.1"}}, universe)
    evaluator.check({other: {"mark_iv": "0.4", "mark": "150"}}, universe)
    fired = [(f.rule.id, f.symbol, f.message()) for f in evaluator.fired]
    assert fired == [
        (1, SYMBOL, f"{SYMBOL} mark 150 above 100"),
        (2, other, f"{other} mark_iv 0.4 below 0.5"),
    ]
    assert evaluator.evaluated == 2  # the ETH contract has no rule


def test_a_reload_keeps_the_state_of_unchanged_rules_only():
    evaluator = RuleEvaluator(None, "bybit", notifier=None)
    first, second = rule().to_dict(), {**rule().to_dict(), "id": 2}
    evaluator.load([first, second])
    universe = instruments(SYMBOL)
    evaluator.check({SYMBOL: {"mark": "150"}}, universe)
    assert len(evaluator.fired) == 2
    evaluator.load([first, {**second, "value": 120}])
    evaluator.check({SYMBOL: {"mark": "151"}}, universe)
    # Rule 1 is within its cooldown; rule 2 changed, so it starts afresh.
    assert [f.rule.id for f in evaluator.fired] == [1, 2, 2]


@pytest.mark.parametrize(
    "entry",
    [{"id": 3, "field": "colour"}, {**rule().to_dict(), "id": 4, "field": "gamma"},
     {**rule().to_dict(), "id": 5, "symbol": None},
     {**rule().to_dict(), "id": 6, "value": "1200"},
     {**rule().to_dict(), "id": 7, "cooldown_s": None},
     {**rule().to_dict(), "id": 8, "symbol": 42}, {"id": 9}],
)  # fmt: skip
def test_a_malformed_rule_in_the_set_is_skipped_and_the_rest_loads(entry):
    evaluator = RuleEvaluator(None, "bybit", notifier=None)
    evaluator.load([entry, rule().to_dict()])
    assert list(evaluator.rules) == [1]


def test_a_new_rule_starts_from_the_values_in_force():
    written = {SYMBOL: {"mark": "90", "mark_iv": "0.5"}}
    evaluator = RuleEvaluator(None, "bybit", None, lambda s: written.get(s, {}))
    evaluator.load([rule("crosses").to_dict(), {**rule("above", 0.4).to_dict(),
                    "id": 2, "field": "mark_iv"}])  # fmt: skip
    universe = instruments(SYMBOL)
    evaluator.check({}, universe)
    # `above` holds already: it fires at once; `crosses` knows its side.
    assert [f.message() for f in evaluator.fired] == [f"{SYMBOL} mark_iv 0.5 above 0.4"]
    evaluator.check({SYMBOL: {"mark": "110"}}, universe)
    assert evaluator.fired[-1].message() == f"{SYMBOL} mark 110 crossed 100 (from 90)"


async def test_a_chain_rule_s_firings_in_one_flush_go_out_as_one_notification(
    receiver,
):
    symbols = [f"BTC-27MAR26-{k}-C-USDT" for k in (60000, 70000, 80000)]
    notifier = Notifier([], sender=send_in_thread)  # apprise in this process
    evaluator = RuleEvaluator(None, "bybit", notifier)
    chain = {
        **rule(value=0.5).to_dict(),
        "field": "mark_iv",
        "symbol": None,
        "base": "BTC",
        "expiry": "2026-03-27",
        "notify_urls": [receiver.url],
    }
    evaluator.load([chain])  # fmt: skip
    rows = {s: {"mark_iv": f"0.{n + 6}"} for n, s in enumerate(symbols)}
    evaluator.check(rows, instruments(*symbols))
    evaluator.notify()
    delivering = asyncio.create_task(notifier.run())
    try:
        await asyncio.to_thread(receiver.wait_for_titles, lambda titles: titles, 30)
    finally:
        delivering.cancel()
    [sent] = receiver.received
    assert sent["title"] == "bybit BTC 2026-03-27: mark_iv above 0.5"
    assert sent["message"].splitlines() == [
        f"{s} mark_iv 0.{n + 6} above 0.5" for n, s in enumerate(symbols)
    ]
    assert sorted(e["symbol"] for e in evaluator.unsaved) == symbols  # the stream's


async def test_firings_wait_in_the_feed_while_redis_is_away(own_redis):
    client = feed_client(own_redis.url)
    evaluator = RuleEvaluator(client, "bybit", Notifier([]))
    evaluator.load([rule().to_dict()])
    evaluator.check({SYMBOL: {"mark": "150"}}, instruments(SYMBOL))
    evaluator.notify()
    own_redis.stop()
    await evaluator.save()
    assert len(evaluator.unsaved) == 1  # kept for the next try
    own_redis.start()
    await evaluator.save()
    [(_, fields)] = await client.xrange(keys.alert_events("bybit"))
    assert fields[b"message"] == f"{SYMBOL} mark 150 above 100".encode()
    assert not evaluator.unsaved
    await client.aclose()
