"""Bybit v5 public option stream: topics, subscribe frames, limits and the frame parser.

Facts (../shared/reference/exchanges.md §1.4–1.5): one connection carries at most 2000
topics and 21,000 characters of args; acks are COMMAND_RESP frames without req_id, so
they are matched by topic; the JSON ping is due every 20 s; ticker frames are full
snapshots every 100 ms, all values decimal strings.

The parser checks the frame's shape; each value is checked against its store field's
kind where the feed compares it with what it last wrote (feed.conflate): a bad value
costs that field, not the frame.
"""

import itertools
from collections.abc import Sequence

import orjson

from feed.exchanges.base import Ack, Frame, Ignored, Malformed, Pong, Tick

TOPIC_PREFIX = "tickers."
MAX_TOPICS_PER_CONNECTION = 2000
MAX_ARGS_CHARS_PER_CONNECTION = 20_000  # the documented cap is 21,000; keep a margin
TOPICS_PER_REQUEST = 200
MAX_FRAME_BYTES = 256 * 1024  # a ticker frame is ~1 KB; anything this big is garbage
MAX_TS = 10**13  # ms since the epoch: the year 2286

# WebSocket ticker field -> store field (options.fields.FIELDS).
FIELD_MAP = {
    "bidPrice": "bid", "bidSize": "bid_size", "bidIv": "bid_iv",
    "askPrice": "ask", "askSize": "ask_size", "askIv": "ask_iv",
    "lastPrice": "last", "markPrice": "mark", "markPriceIv": "mark_iv",
    "indexPrice": "index", "underlyingPrice": "underlying",
    "openInterest": "oi", "volume24h": "volume_24h", "turnover24h": "turnover_24h",
    "totalVolume": "total_volume", "totalTurnover": "total_turnover",
    "highPrice24h": "high_24h", "lowPrice24h": "low_24h", "change24h": "change_24h",
    "delta": "delta", "gamma": "gamma", "vega": "vega", "theta": "theta",
    "predictedDeliveryPrice": "predicted_delivery",
}  # fmt: skip

_loads = orjson.loads
_JSONDecodeError = orjson.JSONDecodeError
_PONG = Pong()
# Builds a Tick without the Python-level __new__ that NamedTuple adds: 1,300 fewer
# CPU instructions per message on the read path (93,900 -> 92,600 in
# bench/read_path_cost.py).
_tick = tuple.__new__


class BybitStream:
    name = "bybit"
    field_map = FIELD_MAP
    ping_interval_s = 20.0

    def __init__(self, ws_url: str):
        self._ws_url = ws_url
        self._req_ids = itertools.count(1)

    def ws_url(self) -> str:
        return self._ws_url

    def topic(self, symbol: str) -> str:
        return TOPIC_PREFIX + symbol

    def symbol_of(self, topic: str) -> str:
        return topic[len(TOPIC_PREFIX) :]

    def shard(self, symbols: Sequence[str]) -> list[list[str]]:
        shards, rest = [], list(symbols)
        while rest:
            take = max(1, self.room([], rest))
            shards.append(rest[:take])
            rest = rest[take:]
        return shards

    def room(self, current: Sequence[str], candidates: Sequence[str]) -> int:
        """How many of `candidates` (in order) one connection holding `current` can
        take on within the limits."""
        count = len(current)
        chars = sum(len(self.topic(s)) + 3 for s in current)
        taken = 0
        for symbol in candidates:
            chars += len(self.topic(symbol)) + 3
            count += 1
            if (
                count > MAX_TOPICS_PER_CONNECTION
                or chars > MAX_ARGS_CHARS_PER_CONNECTION
            ):
                break
            taken += 1
        return taken

    def subscribe_frames(self, symbols: Sequence[str]) -> list[bytes]:
        return self._op_frames("subscribe", symbols)

    def unsubscribe_frames(self, symbols: Sequence[str]) -> list[bytes]:
        return self._op_frames("unsubscribe", symbols)

    def _op_frames(self, op: str, symbols: Sequence[str]) -> list[bytes]:
        frames = []
        for start in range(0, len(symbols), TOPICS_PER_REQUEST):
            chunk = symbols[start : start + TOPICS_PER_REQUEST]
            frames.append(
                orjson.dumps(
                    {
                        "req_id": f"{op[:5]}-{next(self._req_ids)}",
                        "op": op,
                        "args": [self.topic(s) for s in chunk],
                    }
                )
            )
        return frames

    def ping_frame(self) -> bytes:
        return orjson.dumps({"req_id": f"ping-{next(self._req_ids)}", "op": "ping"})

    def parse(self, raw: str | bytes) -> Frame:
        """Classify one frame. The ticker branch is the feed's hottest path.

        {"id":"tickers.BTC-27MAR26-70000-C-USDT-1001-1774500000000",
         "topic":"tickers.BTC-27MAR26-70000-C-USDT","ts":1774500000000,
         "type":"snapshot","data":{"symbol":...,"bidPrice":"1205",...}}
        """
        if raw.__class__ is not str:
            return Malformed("binary frame")
        if len(raw) > MAX_FRAME_BYTES:
            return Malformed(f"frame of {len(raw)} characters")
        try:
            msg = _loads(raw)
        except _JSONDecodeError:
            return Malformed("invalid JSON")
        if msg.__class__ is not dict:
            return Malformed("frame is not a JSON object")
        topic = msg.get("topic")
        if topic is None:
            return _parse_command(msg)
        if topic.__class__ is not str or not topic.startswith(TOPIC_PREFIX):
            return Malformed(f"unexpected topic {str(topic)[:80]!r}")
        data = msg.get("data")
        if data.__class__ is not dict:
            if data.__class__ is not list or len(data) != 1:
                return Malformed("ticker data is not an object")
            data = data[0]
            if data.__class__ is not dict:
                return Malformed("ticker data is not an object")
        ts = msg.get("ts")
        if ts.__class__ is not int or not 0 < ts < MAX_TS:
            return Malformed("ticker ts is not an integer time in ms")
        kind = msg.get("type")
        if kind == "snapshot":
            return _tick(Tick, (topic[8:], ts, data, False))
        if kind == "delta":
            return _tick(Tick, (topic[8:], ts, data, True))
        return Ignored(f"ticker frame of type {kind!r}")


def _parse_command(msg: dict) -> Frame:
    """Pongs and subscribe answers."""
    if msg.get("op") == "pong" or msg.get("ret_msg") == "pong":
        return _PONG
    if msg.get("type") == "COMMAND_RESP" or "success" in msg:
        return _parse_ack(msg)
    return Malformed("frame of unknown shape")


def _parse_ack(msg: dict) -> Ack:
    """COMMAND_RESP on the option socket; the linear-style answer also accepted."""
    data = msg.get("data")
    ok, failed = [], []
    if isinstance(data, dict):
        ok = [t for t in data.get("successTopics") or [] if isinstance(t, str)]
        failed = [t for t in data.get("failTopics") or [] if isinstance(t, str)]
    success = msg.get("success") is True and not failed
    return Ack(success, ok, failed, str(msg.get("ret_msg") or ""))
