"""The Bybit stream adapter: frames in, named frames out (recorded frames)."""

from pathlib import Path

import orjson
import pytest

from feed.exchanges.base import Ack, Ignored, Malformed, Pong, Tick
from feed.exchanges.bybit.stream import (
    FIELD_MAP,
    MAX_ARGS_CHARS_PER_CONNECTION,
    MAX_TOPICS_PER_CONNECTION,
    TOPICS_PER_REQUEST,
    BybitStream,
)
from options.fields import FIELDS

FRAMES = (Path(__file__).parent / "data/bybit/ws_frames.jsonl").read_text().splitlines()
stream = BybitStream("ws://127.0.0.1:1/v5/public/option")


def test_it_parses_a_ticker_snapshot():
    tick = stream.parse(FRAMES[0])
    assert isinstance(tick, Tick)
    assert (tick.symbol, tick.ts, tick.is_delta) == (
        "BTC-27MAR26-70000-C-USDT",
        1774500000000,
        False,
    )
    assert tick.data["markPrice"] == "1218.37" and tick.data["markPriceIv"] == "0.4455"


def test_it_maps_every_ws_field_onto_a_store_field():
    data = orjson.loads(FRAMES[0])["data"]
    assert set(FIELD_MAP) == set(data) - {"symbol"}
    assert set(FIELD_MAP.values()) == set(FIELDS) - {"ts", "recv_ts"}


def test_it_accepts_a_one_element_data_array_and_deltas():
    frame = orjson.loads(FRAMES[0])
    frame["data"], frame["type"] = [frame["data"]], "delta"
    tick = stream.parse(orjson.dumps(frame).decode())
    assert isinstance(tick, Tick) and tick.is_delta and tick.data["bidPrice"] == "1205"


def test_it_matches_acks_by_topic():
    ack = stream.parse(FRAMES[1])
    assert isinstance(ack, Ack) and ack.success
    assert ack.ok_topics == ["tickers.BTC-27MAR26-70000-C-USDT"]
    ack = stream.parse(FRAMES[2])
    assert isinstance(ack, Ack) and not ack.success
    assert ack.failed_topics == ["tickers.BTC-1JAN20-1-C-USDT"]
    ack = stream.parse(FRAMES[5])  # linear-style unsubscribe answer
    assert isinstance(ack, Ack) and ack.success and ack.ok_topics == []


@pytest.mark.parametrize("frame", [FRAMES[3], FRAMES[4]])
def test_it_recognises_both_pong_shapes(frame):
    assert stream.parse(frame) == Pong()


@pytest.mark.parametrize(
    "raw, reason",
    [
        (b"\x00\x01", "binary"),
        ("{not json", "invalid JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"topic":"orderbook.1.BTC","ts":1,"type":"snapshot","data":{}}', "topic"),
        ('{"topic":"tickers.X","ts":"1","type":"snapshot","data":{}}', "ts"),
        ('{"topic":"tickers.X","ts":1,"type":"snapshot","data":"x"}', "object"),
        ('{"topic":"tickers.X","ts":1,"type":"snapshot"}', "object"),
        ('{"hello":"world"}', "unknown shape"),
        (
            '{"topic":"tickers.X","ts":1,"data":{"a":"' + "x" * 300_000 + '"}}',
            "frame of",
        ),
    ],
)
def test_it_classifies_malformed_frames_with_a_reason(raw, reason):
    frame = stream.parse(raw)
    assert isinstance(frame, Malformed) and reason in frame.reason


def test_it_ignores_ticker_frames_of_unknown_type():
    frame = stream.parse('{"topic":"tickers.X","ts":1,"type":"x","data":{}}')
    assert frame == Ignored("ticker frame of type 'x'")


def test_it_shards_topics_within_the_connection_limits():
    symbols = [f"BTC-27MAR26-{strike}-C-USDT" for strike in range(10000, 10000 + 2100)]
    shards = stream.shard(symbols)
    assert [s for shard in shards for s in shard] == symbols
    for shard in shards:
        assert len(shard) <= MAX_TOPICS_PER_CONNECTION
        assert (
            sum(len(stream.topic(s)) + 3 for s in shard)
            <= MAX_ARGS_CHARS_PER_CONNECTION
        )
    assert len(shards) == 4  # 29-character symbols: about 590 topics per connection


def test_it_splits_subscribe_requests_into_chunks():
    symbols = [f"ETH-1JAN27-{n}-P-USDT" for n in range(1, 451)]
    frames = [orjson.loads(f) for f in stream.subscribe_frames(symbols)]
    assert [len(f["args"]) for f in frames] == [
        TOPICS_PER_REQUEST,
        TOPICS_PER_REQUEST,
        50,
    ]
    assert {f["op"] for f in frames} == {"subscribe"}
    assert frames[0]["args"][0] == "tickers.ETH-1JAN27-1-P-USDT"
    assert orjson.loads(stream.ping_frame())["op"] == "ping"
