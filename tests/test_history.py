"""The 24 h history: the packed columns keep the exchange's numbers exactly, a past
chain is what the exchange (the simulator) sent then, samples older than the retention
go, and a contract's samples downsample by step.

The sampler (options.history_write.record, what the Celery task runs) reads the Redis
of a streaming run_feed; the tests pass it the slot times they want.
"""

import pytest
from asgiref.sync import async_to_sync
from django.test import Client
from django_celery_beat.models import PeriodicTask

from api.chain import chain_body, iso
from devtools.processes import wait_for
from feed.exchanges.bybit.stream import FIELD_MAP
from feed.tasks import sample_history
from options import history, history_codec, read
from options.history_models import (
    HISTORY_FIELDS,
    ChainSample,
    ContractHour,
    RollUpMark,
    SampleUniverse,
)
from options.history_write import record, roll_up, slot_of, trim, universe_of
from tests.test_api import error_of

MINUTE_MS = 60_000


@pytest.fixture(scope="module")
def stack(start_module_feed):
    feed = start_module_feed("history", contracts=120, rate=1000)
    wait_for(lambda: feed.redis.zrange("ot:expiries:bybit:BTC", 0, -1), 20, "indexes")
    yield feed
    feed.stack.close()


@pytest.fixture(autouse=True)
def history_settings(stack, settings):
    settings.REDIS_URL = stack.stack.redis_url
    settings.HISTORY_INTERVAL = 60
    settings.HISTORY_RETENTION = 86_400


def past_slots(count: int) -> list[int]:
    """The starts of the last `count` one-minute slots, oldest first."""
    now = slot_of(read.now_ms(), 60)
    return [now - MINUTE_MS * k for k in range(count - 1, -1, -1)]


def test_a_column_keeps_the_exchanges_decimals_exactly():
    sent = ["0.12345678", "-12.5", "0", None, "95123.45", "1e5", "-0.00000001"]
    column = history_codec.pack(sent)
    # Plain decimals come back as the same numbers; what is not one is absent.
    assert history_codec.unpack(column, len(sent)) == [
        "0.12345678", "-12.5", "0", None, "95123.45", None, "-0.00000001",
    ]  # fmt: skip
    assert history_codec.value_at(column, 4) == 95123.45
    assert history_codec.value_at(column, 3) is None
    # Past int32 the column widens to int64 rather than lose a digit.
    big = ["92233720.36854775", "1"]
    assert history_codec.unpack(history_codec.pack(big), 2) == big
    assert history_codec.pack([None, ""]) is None


@pytest.mark.django_db
def test_a_past_chain_is_what_the_exchange_sent_then(stack):
    slot = past_slots(2)[0]  # a minute ago: slot + 30 s is past
    with stack.still():  # every contract in Redis is what the simulator sent last
        sent = stack.sim.control("last")["last"]
        summary = record(60, 86_400, now_ms=slot + 1_000)
    assert "trimmed 0" in summary
    stack.wait_streaming()
    expiry = stack.redis.zrange("ot:expiries:bybit:BTC", 0, -1)[0]
    past = async_to_sync(history.read_chain_at)("bybit", "BTC", expiry, slot + 30_000)
    live = async_to_sync(read.read_chain)("bybit", "BTC", expiry)
    assert [r.strike for r in past.rows] == [r.strike for r in live.rows]
    assert past.price is not None and past.atm == live.atm
    for tick in past.ticks():
        frame = sent[tick.symbol]
        expected = {FIELD_MAP[k]: v for k, v in frame["data"].items() if k in FIELD_MAP}
        expected["ts"] = str(frame["ts"])
        for field in HISTORY_FIELDS:
            assert float(tick.values[field]) == float(expected[field]), (
                tick.symbol,
                field,
            )


@pytest.mark.django_db
def test_samples_older_than_the_retention_are_trimmed(stack):
    slots = past_slots(5)
    for slot in slots:
        record(60, 150, now_ms=slot)
    # Each run trims what is older than 150 s before it: three slots remain.
    kept = sorted(set(ChainSample.objects.values_list("at_ms", flat=True)))
    assert kept == slots[2:]
    chains = ChainSample.objects.filter(at_ms=slots[-1]).count()
    assert chains == len(stack.redis.zrange("ot:expiries:bybit:BTC", 0, -1)) + len(
        stack.redis.zrange("ot:expiries:bybit:ETH", 0, -1)
    ) + len(stack.redis.zrange("ot:expiries:bybit:SOL", 0, -1))
    # A universe no sample uses goes with the next trim.
    stray = universe_of([("BTC-1JAN30-1-C-USDT", 1.0)])
    record(60, 150, now_ms=slots[-1] + MINUTE_MS)
    assert not SampleUniverse.objects.filter(id=stray.id).exists()
    used = set(ChainSample.objects.values_list("universe_id", flat=True))
    assert set(SampleUniverse.objects.values_list("id", flat=True)) == used


@pytest.mark.django_db
def test_a_contracts_samples_downsample_to_the_last_of_each_step(stack):
    slots = past_slots(7)
    for slot in slots:
        record(60, 86_400, now_ms=slot)
    symbol = stack.redis.zrange(
        "ot:chain:bybit:BTC:" + stack.redis.zrange("ot:expiries:bybit:BTC", 0, 0)[0],
        0,
        0,
    )[0]
    every = async_to_sync(history.read_history)(
        "bybit", symbol, slots[0], slots[-1], ("mark", "mark_iv")
    )
    assert every.times == slots
    assert all(v is not None for v in every.values["mark"])
    three = async_to_sync(history.read_history)(
        "bybit", symbol, slots[0], slots[-1], ("mark",), 180
    )
    # One sample per 3-minute step: the last one of it, its own time and values.
    last_of_step = {t // 180_000: t for t in slots}
    expected = sorted(last_of_step.values())
    assert len(expected) < len(slots)
    assert three.times == expected
    marks = dict(zip(every.times, every.values["mark"], strict=True))
    assert three.values["mark"] == [marks[t] for t in expected]


@pytest.mark.django_db
def test_a_contracts_samples_follow_it_across_universes_and_chunks(monkeypatch):
    """The rows are read CHUNK at a time through the database cursor; a contract
    keeps its own values whatever its position in each row's universe."""
    monkeypatch.setattr(history, "CHUNK", 2)
    symbol, other = "BTC-1JAN30-100-C-USDT", "BTC-1JAN30-50-C-USDT"
    alone = universe_of([(symbol, 100.0)])
    beside = universe_of([(other, 50.0), (symbol, 100.0)])
    slots = past_slots(5)
    for k, slot in enumerate(slots):
        listed = [f"{k}.5"] if k % 2 else ["9", f"{k}.25"]
        ChainSample.objects.create(
            exchange="bybit", base="BTC", expiry="2030-01-01", at_ms=slot,
            universe=alone if k % 2 else beside,
            mark=history_codec.pack(listed),
            oi=history_codec.pack([None] * len(listed)),
        )  # fmt: skip
    got = async_to_sync(history.read_history)(
        "bybit", symbol, slots[0], slots[-1], ("oi", "mark")
    )
    assert got.times == slots
    assert got.values == {"oi": [None] * 5, "mark": [0.25, 1.5, 2.25, 3.5, 4.25]}


@pytest.mark.django_db
def test_outside_the_retention_or_unknown_is_not_found(stack, settings):
    settings.HISTORY_RETENTION = 3600
    now = read.now_ms()
    with pytest.raises(read.NotFound) as outside:
        async_to_sync(history.read_chain_at)("bybit", "BTC", "2030-01-01", now - 7.2e6)
    assert outside.value.field == "at"
    with pytest.raises(read.NotFound) as unknown:
        async_to_sync(history.read_history)(
            "bybit", "BTC-1JAN30-1-C-USDT", now - 1000, now
        )
    assert unknown.value.field == "symbol"


# The API --------------------------------------------------------------------------


def sampled_symbol(stack, minutes: int = 3) -> tuple[str, str, list[int]]:
    """Samples of the last minutes; (soonest BTC expiry, its first symbol, slots)."""
    slots = past_slots(minutes)
    for slot in slots:
        record(60, 86_400, now_ms=slot)
    expiry = stack.redis.zrange("ot:expiries:bybit:BTC", 0, 0)[0]
    return expiry, stack.redis.zrange(f"ot:chain:bybit:BTC:{expiry}", 0, 0)[0], slots


@pytest.mark.django_db
def test_the_history_endpoint_serves_a_contracts_samples(stack):
    _, symbol, slots = sampled_symbol(stack)
    url = f"/api/history/bybit/{symbol}/"
    body = Client().get(url, {"fields": "mark,oi", "step": "120"}).json()
    assert body["symbol"] == symbol and body["fields"] == ["mark", "oi"]
    assert body["step"] == 120 and body["samples"]
    every = Client().get(url).json()
    assert [s["at"] for s in every["samples"]] == [iso(t) for t in slots]
    assert set(every["samples"][0]) == {"at", *HISTORY_FIELDS}
    assert isinstance(every["samples"][0]["mark"], float)


@pytest.mark.django_db
def test_bad_history_requests_are_400s_naming_the_parameter(stack):
    _, symbol, _ = sampled_symbol(stack, 1)
    url = f"/api/history/bybit/{symbol}/"
    for query, field in (
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-01T00:00:00Z"}, "until"),
        ({"since": "2026-11-30T10:00:00Z", "until": "2026-11-30T09:00:00Z"}, "since"),
        ({"step": "0"}, "step"), ({"step": "1m"}, "step"), ({"step": "86401"}, "step"),
        ({"fields": "mark,colour"}, "fields"), ({"fields": "recv_ts"}, "fields"),
        ({"at": "2026-11-30T10:00:00Z"}, "at"), ({"step": ""}, "step"),
    ):  # fmt: skip
        error_of(Client().get(url, query), 400, field)
    error_of(Client().get("/api/history/bybit/BTC-1JAN30-1-C-USDT/"), 404, "symbol")
    error_of(Client().get("/api/history/bybit/nonsense/"), 404, "symbol")


@pytest.mark.django_db
def test_the_chain_at_a_past_minute_comes_from_the_history(stack):
    expiry, _, slots = sampled_symbol(stack, 2)
    url = f"/api/chain/bybit/BTC/{expiry}/"
    at = iso(slots[0] + 20_000)
    body = Client().get(url, {"at": at, "fields": "mark,mark_iv"}).json()
    past = async_to_sync(history.read_chain_at)(
        "bybit", "BTC", expiry, slots[0] + 20_000, fields=("mark", "mark_iv")
    )
    assert body == chain_body(past) and body["rows"]
    assert set(body["rows"][0]["call"]) == {"symbol", "mark", "mark_iv"}
    error_of(Client().get(url, {"at": "2020-01-01T00:00:00Z"}), 404, "at")
    error_of(Client().get(url, {"at": "noon"}), 400, "at")


@pytest.mark.django_db
def test_the_celery_task_samples_only_when_history_is_on(stack, settings):
    # The schedule comes with the migrations: every HISTORY_INTERVAL seconds.
    task = PeriodicTask.objects.get(task="feed.tasks.sample_history")
    assert (task.interval.every, task.interval.period) == (60, "seconds")
    settings.HISTORY_ENABLED = False
    assert "off" in sample_history()
    assert not ChainSample.objects.exists()
    settings.HISTORY_ENABLED = True
    before = slot_of(read.now_ms(), 60)
    assert "120 contracts" in sample_history()  # every contract the simulator lists
    slots = {before, slot_of(read.now_ms(), 60)}  # the minute may turn meanwhile
    assert set(ChainSample.objects.values_list("at_ms", flat=True)) <= slots


# The per-contract table --------------------------------------------------------------


def _chain_rows(symbol: str, minutes: int) -> list[int]:
    """Synthetic samples of one chain over the last `minutes` minutes (crossing
    hours): the contract at moving positions, absent from some, a slot missed
    now and then, values with varying decimals and gaps. Returns the slots."""
    other = "BTC-1JAN30-50-C-USDT"
    alone = universe_of([(symbol, 100.0)])
    beside = universe_of([(other, 50.0), (symbol, 100.0)])
    without = universe_of([(other, 50.0)])
    slots = [s for k, s in enumerate(past_slots(minutes)) if k % 17 != 5]
    rows = []
    for k, slot in enumerate(slots):
        universe = (alone, beside, without)[k % 3 if k % 11 else 2]
        n = len(universe.entries())
        rows.append(ChainSample(
            exchange="bybit", base="BTC", expiry="2030-01-01", at_ms=slot,
            universe=universe,
            mark=history_codec.pack([f"{k}.{k % 7}"] * n),
            bid=history_codec.pack([None if k % 5 else str(k * 1000)] * n),
            mark_iv=history_codec.pack([f"0.{k:04d}1"] * n),
            ts=history_codec.pack([str(slot + 123)] * n),
        ))  # fmt: skip
    ChainSample.objects.bulk_create(rows)
    return slots


def _both_ways(symbol, since, until, fields, step=None):
    """(the combined read, the chain rows alone: the read before the table)."""
    read_ = async_to_sync(history.read_history)
    combined = read_("bybit", symbol, since, until, fields, step)
    saved = history._rolled_hours
    history._rolled_hours = lambda *args: []
    try:
        alone = read_("bybit", symbol, since, until, fields, step)
    finally:
        history._rolled_hours = saved
    return combined, alone


@pytest.mark.django_db
def test_a_day_across_hours_reads_the_same_from_both_tables():
    symbol = "BTC-1JAN30-100-C-USDT"
    slots = _chain_rows(symbol, 200)
    now = read.now_ms()
    assert roll_up(now, now - 86_400_000) >= 3  # the finished hours: 3 or 4
    hours = sorted(set(ContractHour.objects.values_list("hour_ms", flat=True)))
    assert hours and hours[-1] < slot_of(now, 3600)  # never the current hour
    assert roll_up(now, now - 86_400_000) == 0  # idempotent
    fields = ("mark", "bid", "mark_iv", "ts", "oi")
    ranges = [(slots[0], slots[-1]), (slots[3] + 1, slots[-9] - 1), (0, now)]
    for since, until in ranges:
        for step in (None, 60, 300, 3600):
            combined, alone = _both_ways(symbol, since, until, fields, step)
            assert combined == alone, (since, until, step)
            # An hour's step keeps 3 or 4 slots, which may all be slots that do not
            # list the contract (a third of them), depending on the hour it runs.
            assert alone.times or step == 3600, (since, until, step)
    combined, _ = _both_ways(symbol, 0, now, fields)
    assert combined.values["mark"][:2] == [1.1, 3.3]  # not listed in the 0th, 2nd


@pytest.mark.django_db
def test_a_late_minute_rewrites_its_hour_and_the_trim_keeps_them_equal():
    symbol = "BTC-1JAN30-100-C-USDT"
    slots = _chain_rows(symbol, 200)
    now = read.now_ms()
    roll_up(now, now - 86_400_000)
    missed = slots[4] + MINUTE_MS  # a slot the sampler missed, in a finished hour
    assert missed not in slots and missed < slot_of(now, 3600)
    ChainSample.objects.create(
        exchange="bybit", base="BTC", expiry="2030-01-01", at_ms=missed,
        universe=universe_of([(symbol, 100.0)]), mark=history_codec.pack(["77.5"]),
    )  # fmt: skip
    assert roll_up(now, now - 86_400_000) == 1
    combined, alone = _both_ways(symbol, 0, now, ("mark", "bid"))
    assert combined == alone and missed in combined.times
    # A trim in the middle of an hour: the hour stays rolled up, its samples older
    # than the cutoff do not come back.
    trim(slots[70] + 1)
    combined, alone = _both_ways(symbol, 0, now, ("mark", "bid"), 120)
    assert combined == alone and combined.times[0] > slots[70]
    assert ContractHour.objects.filter(hour_ms__lte=slots[70]).exists()
    trim(now)
    assert not ContractHour.objects.filter(hour_ms__lt=slot_of(now, 3600)).exists()


@pytest.mark.django_db
def test_an_hour_is_rolled_up_once_finished_whatever_is_written_after_it():
    symbol, hour_ms = "BTC-1JAN30-100-C-USDT", 3_600_000
    hour = slot_of(read.now_ms(), 3600) - 3 * hour_ms

    def sample(at_ms):
        ChainSample.objects.create(
            exchange="bybit", base="BTC", expiry="2030-01-01", at_ms=at_ms,
            universe=universe_of([(symbol, 100.0)]), mark=history_codec.pack(["1.5"]),
        )  # fmt: skip

    def rolled(at_ms):
        return set(ContractHour.objects.filter(hour_ms=at_ms).values_list("samples"))

    now = hour + 30 * MINUTE_MS
    sample(hour + 10 * MINUTE_MS)
    sample(hour + 20 * MINUTE_MS)
    assert roll_up(now, now - 86_400_000) == 0  # the current hour waits
    sample(hour - 5 * MINUTE_MS)  # a late slot, written after the current hour's
    assert roll_up(now, now - 86_400_000) == 1
    assert rolled(hour - hour_ms) == {(1,)} and not rolled(hour)
    assert roll_up(now, now - 86_400_000) == 0
    # The hour finishes: its two samples, written before the late one, are rolled.
    now += hour_ms
    sample(hour + hour_ms)
    assert roll_up(now, now - 86_400_000) == 1
    assert rolled(hour) == {(2,)}
    assert roll_up(now, now - 86_400_000) == 0
    # Without a mark (the first run after an upgrade) the rolled counts decide.
    RollUpMark.objects.all().delete()
    assert roll_up(now, now - 86_400_000) == 0
    sample(hour + 40 * MINUTE_MS)
    assert roll_up(now, now - 86_400_000) == 1
