"""The Bybit simulator over real sockets: REST, the option stream, the control API."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest
import pytest_asyncio
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from options.symbols import parse_symbol
from simulator import Market, SimulatorServer
from simulator.contract import WS_FIELDS
from simulator.frames import BAD_VALUES, MALFORMED_KINDS

ROOT = Path(__file__).resolve().parent.parent
REST_FIELDS = {
    "bid1Price",
    "bid1Size",
    "bid1Iv",
    "ask1Price",
    "ask1Size",
    "ask1Iv",
    "markIv",
}
INSTRUMENT_KEYS = {
    "symbol", "status", "baseCoin", "quoteCoin", "settleCoin", "optionsType",
    "launchTime", "deliveryTime", "deliveryFeeRate", "priceFilter", "lotSizeFilter",
    "displayName", "symbolId",
}  # fmt: skip


@pytest_asyncio.fixture
async def sim(request: pytest.FixtureRequest) -> AsyncIterator[SimulatorServer]:
    options = {"contracts": 300, "rate": 2000, **getattr(request, "param", {})}
    server = SimulatorServer(port=0, seed=3, **options)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def with_sim(**options: object) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("sim", [options], indirect=True)


async def get(sim: SimulatorServer, path: str, **params: object) -> httpx.Response:
    async with httpx.AsyncClient(base_url=sim.rest_url, timeout=5) as client:
        return await client.get(path, params=params)


async def control(sim: SimulatorServer, name: str, **params: object) -> dict:
    response = await get(sim, f"/sim/{name}", **params)
    assert response.status_code == 200, response.text
    return response.json()


def ws_connect(sim: SimulatorServer, path: str = "", **options: object) -> connect:
    """A client that queues without limit: a paused reader could not see the close."""
    url = sim.url.replace("/v5/public/option", path) if path else sim.url
    return connect(url, max_queue=None, **options)


def topics_of(sim: SimulatorServer, count: int, base: str = "BTC") -> list[str]:
    return [f"tickers.{c.symbol}" for c in sim.market.listed(base)[:count]]


async def recv(ws: ClientConnection, wait: float = 2.0) -> dict:
    return orjson.loads(await asyncio.wait_for(ws.recv(), wait))


async def recv_until(
    ws: ClientConnection, match: Callable[[dict], bool], wait: float = 3.0
) -> dict:
    deadline = time.monotonic() + wait
    while True:
        message = await recv(ws, max(deadline - time.monotonic(), 0.01))
        if match(message):
            return message


async def subscribe(
    ws: ClientConnection, topics: list[str], op: str = "subscribe"
) -> dict:
    await ws.send(orjson.dumps({"req_id": "r1", "op": op, "args": topics}).decode())
    return await recv_until(ws, lambda m: m.get("type") == "COMMAND_RESP" or "op" in m)


async def settle(ws: ClientConnection) -> list[dict]:
    """The frames the server wrote before now, however far behind the reader is: its
    answer to a ping comes after them."""
    await ws.send('{"op":"ping"}')
    frames = []
    while (message := await recv(ws)).get("op") != "pong":
        frames.append(message)
    return frames


async def drain(ws: ClientConnection, seconds: float) -> list[dict]:
    frames, deadline = [], time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            frames.append(await recv(ws, left))
        except TimeoutError:
            break
    return frames


# -- market model ----------------------------------------------------------------------


def test_universe_is_plausible_and_deterministic() -> None:
    now = int(datetime(2026, 3, 10, 12, tzinfo=UTC).timestamp() * 1000)
    market = Market(2100, seed=5, now_ms=now)
    assert list(market.contracts) == list(Market(2100, seed=5, now_ms=now).contracts)
    contracts = list(market.contracts.values())
    assert len(contracts) == 2100
    counts = {
        base: sum(c.base == base for c in contracts) for base in ("BTC", "ETH", "SOL")
    }
    assert abs(counts["BTC"] - 1050) <= 2 and abs(counts["ETH"] - 735) <= 2
    assert any("." in c.symbol.split("-")[2] for c in contracts if c.base == "SOL")
    for contract in contracts:
        parsed = parse_symbol(contract.symbol)
        assert parsed.settle == "USDT" and parsed.strike == contract.strike
        assert int(parsed.expiry.timestamp() * 1000) == contract.delivery_ms > now
        assert set(contract.data) == set(WS_FIELDS) and len(WS_FIELDS) == 25
        numbers = [v for k, v in contract.data.items() if k != "symbol"]
        assert all(isinstance(v, str) and "e" not in v.lower() for v in numbers)
    kinds = {(c.expiry, c.strike): set() for c in contracts}
    for contract in contracts:
        kinds[(contract.expiry, contract.strike)].add(contract.call)
    assert all(pair == {True, False} for pair in kinds.values())
    assert len({c.expiry for c in contracts}) >= 8


def test_expiry_lifecycle_and_overrides() -> None:
    market = Market(60, seed=2, delivering_ms=1000)
    first = min(c.delivery_ms for c in market.contracts.values())
    due = [c for c in market.contracts.values() if c.delivery_ms == first]
    market.step(first + 1)
    assert {c.status for c in due} == {"Delivering"}
    market.step(first + 2000)
    assert {c.status for c in due} == {"Closed"}
    assert not set(due) & set(market.listed(due[0].base))
    other = next(c for c in market.contracts.values() if c.status == "Trading")
    market.set_fields(other.symbol, {"markPrice": "123.5"})
    market.reprice(other, first + 2100)
    assert other.data["markPrice"] == "123.5" and orjson.loads(other.blob) == other.data


# -- REST -----------------------------------------------------------------------


@pytest.mark.asyncio
@with_sim(contracts=2100)
async def test_instruments_pagination_covers_every_contract_once(
    sim: SimulatorServer,
) -> None:
    seen: list[str] = []
    for base in ("BTC", "ETH", "SOL"):
        cursor, pages = "", 0
        while True:
            params = {"category": "option", "baseCoin": base, "limit": 300}
            body = (
                await get(sim, "/v5/market/instruments-info", **params, cursor=cursor)
            ).json()
            assert (
                body["retCode"] == 0 and body["retExtInfo"] == {} and body["time"] > 0
            )
            result = body["result"]
            for item in result["list"]:
                assert set(item) == INSTRUMENT_KEYS and isinstance(
                    item["symbolId"], int
                )
                assert item["baseCoin"] == base and item["status"] == "Trading"
                assert item["optionsType"] == (
                    "Call" if item["symbol"][-6] == "C" else "Put"
                )
                delivery = datetime.fromtimestamp(int(item["deliveryTime"]) / 1000, UTC)
                assert (delivery.hour, delivery.minute) == (8, 0)
                assert parse_symbol(item["symbol"]).expiry == delivery
                assert set(item["priceFilter"]) == {"minPrice", "maxPrice", "tickSize"}
                assert set(item["lotSizeFilter"]) == {
                    "maxOrderQty",
                    "minOrderQty",
                    "qtyStep",
                }
                seen.append(item["symbol"])
            cursor, pages = result["nextPageCursor"], pages + 1
            if not cursor:
                break
            assert cursor.startswith("first%3D") and "%26last%3D" in cursor
        assert pages >= 2 if base != "SOL" else pages >= 1
    assert len(seen) == len(set(seen)) == 2100 == len(sim.market.contracts)
    default = (await get(sim, "/v5/market/instruments-info", category="option")).json()
    assert {i["baseCoin"] for i in default["result"]["list"]} == {"BTC"}
    assert len(default["result"]["list"]) == 500


@pytest.mark.asyncio
async def test_rest_params_errors_and_tickers(sim: SimulatorServer) -> None:
    bad = [
        {"category": "linear"},
        {"category": "option", "limit": 0},
        {"category": "option", "limit": 1001},
        {"category": "option", "limit": "x"},
        {"category": "option", "cursor": "first%3Dnope%26last%3Dnope"},
    ]
    for params in bad:
        body = (await get(sim, "/v5/market/instruments-info", **params)).json()
        assert (body["retCode"], body["retMsg"]) == (10001, "params error"), params
    empty = await get(
        sim, "/v5/market/instruments-info", category="option", baseCoin="DOGE"
    )
    assert empty.json()["result"] == {
        "category": "option",
        "nextPageCursor": "",
        "list": [],
    }
    assert (await get(sim, "/v5/market/tickers", category="option")).json()[
        "retCode"
    ] == 10001
    body = (
        await get(sim, "/v5/market/tickers", category="option", baseCoin="ETH")
    ).json()
    items = body["result"]["list"]
    assert len(items) == len(sim.market.listed("ETH")) > 0
    assert set(items[0]) >= REST_FIELDS and "bidPrice" not in items[0]
    assert all(isinstance(v, str) for v in items[0].values())
    one = await get(
        sim, "/v5/market/tickers", category="option", symbol=items[0]["symbol"]
    )
    # The same contract with the same fields; its prices may have moved between the
    # two requests (the market keeps ticking).
    (alone,) = one.json()["result"]["list"]
    assert (alone["symbol"], set(alone)) == (items[0]["symbol"], set(items[0]))


@pytest.mark.asyncio
async def test_rest_fault_injection_and_rate_limit(sim: SimulatorServer) -> None:
    path, params = "/v5/market/tickers", {"category": "option", "baseCoin": "SOL"}
    await control(sim, "fail", mode="403", count=1)
    failed = await get(sim, path, **params)
    assert (failed.status_code, failed.text) == (403, "access too frequent")
    assert (await get(sim, path, **params)).json()["retCode"] == 0
    await control(sim, "fail", mode="10006", count=1)
    assert (await get(sim, path, **params)).json()["retCode"] == 10006
    await control(sim, "fail", mode="500", count=1)
    assert (await get(sim, path, **params)).status_code == 500
    await control(sim, "fail", mode="malformed", count=1)
    with pytest.raises(ValueError):
        (await get(sim, path, **params)).json()
    await control(sim, "config", rest_rate_limit=2)
    statuses = [(await get(sim, path, **params)).status_code for _ in range(4)]
    assert statuses[:2] == [200, 200] and statuses[-1] == 403


# -- WebSocket ------------------------------------------------------------------


@pytest.mark.asyncio
async def test_subscribe_ack_then_snapshots_then_pushes(sim: SimulatorServer) -> None:
    topics = topics_of(sim, 3)
    async with ws_connect(sim) as ws:
        ack = await subscribe(ws, topics)
        assert set(ack) == {"success", "conn_id", "data", "type"}
        assert ack["success"] is True and ack["data"] == {
            "failTopics": [],
            "successTopics": topics,
        }
        first = [await recv(ws) for _ in topics]
        assert [f["topic"] for f in first] == topics
        for frame in first:
            assert set(frame) == {"id", "topic", "ts", "type", "data"}
            assert frame["type"] == "snapshot" and isinstance(frame["ts"], int)
            topic, seq, ts = frame["id"].rsplit("-", 2)
            assert topic == frame["topic"] and seq.isdigit() and int(ts) == frame["ts"]
            assert set(frame["data"]) == set(WS_FIELDS)
            assert frame["data"]["symbol"] == frame["topic"][len("tickers.") :]
            assert all(isinstance(v, str) for v in frame["data"].values())
        more = await drain(ws, 0.3)
        assert {f["topic"] for f in more} == set(topics)
    state = await control(sim, "state")
    assert state["frames_sent"] >= len(first) + len(more)


@pytest.mark.asyncio
@with_sim(rate=600)
async def test_push_rate_is_spread_over_topics(sim: SimulatorServer) -> None:
    topics = topics_of(sim, 20)
    async with ws_connect(sim) as ws:
        await subscribe(ws, topics)
        await drain(ws, 0.2)
        frames = await drain(ws, 1.0)
    assert 400 <= len(frames) <= 750
    per_topic = [sum(f["topic"] == t for f in frames) for t in topics]
    assert max(per_topic) - min(per_topic) <= 3


@pytest.mark.asyncio
async def test_unknown_topics_strict_then_silent(sim: SimulatorServer) -> None:
    good, bad = topics_of(sim, 1)[0], "tickers.BTC-1JAN20-1-C-USDT"
    async with ws_connect(sim) as ws:
        ack = await subscribe(ws, [good, bad])
        assert ack["success"] is False
        assert ack["data"] == {"failTopics": [bad], "successTopics": [good]}
        await control(sim, "config", unknown_topic_mode="silent")
        ack = await subscribe(ws, ["tickers.BTC", "orderbook.25.X"])
        assert ack["success"] is True and ack["data"]["failTopics"] == []
        frames = await drain(ws, 0.3)
        assert {f.get("topic") for f in frames} == {good}


@pytest.mark.asyncio
@with_sim(max_topics=5)
async def test_topic_count_and_character_limits(sim: SimulatorServer) -> None:
    topics = topics_of(sim, 8)
    async with ws_connect(sim) as ws:
        ack = await subscribe(ws, topics)
        assert ack["data"]["successTopics"] == topics[:5]
        assert ack["data"]["failTopics"] == topics[5:] and ack["success"] is False
    await control(sim, "config", max_topics=2000, max_args_chars=len(topics[0]) * 2 + 1)
    async with ws_connect(sim) as ws:
        ack = await subscribe(ws, topics[:3])
        assert ack["data"]["successTopics"] == topics[:2]
        assert ack["data"]["failTopics"] == topics[2:3]
    await control(sim, "config", limit_mode="close")
    async with ws_connect(sim) as ws:
        assert (await subscribe(ws, topics[:3]))["success"] is False
        with pytest.raises(ConnectionClosed):
            await drain(ws, 2)
        assert ws.close_code == 1008


@pytest.mark.asyncio
async def test_ping_bad_frames_and_unsubscribe(sim: SimulatorServer) -> None:
    topics = topics_of(sim, 2)
    async with ws_connect(sim) as ws:
        await subscribe(ws, topics)
        await ws.send('{"req_id":"p","op":"ping"}')
        pong = await recv_until(ws, lambda m: m.get("op") == "pong")
        assert set(pong) == {"args", "op"} and pong["args"][0].isdigit()
        assert abs(int(pong["args"][0]) - time.time() * 1000) < 5000
        for frame, op in (
            ("nope", ""),
            ('{"op":"dance"}', "dance"),
            (b"\x01", ""),
            ('{"op":"subscribe","args":"x"}', "subscribe"),
        ):
            await ws.send(frame)
            error = await recv_until(ws, lambda m: m.get("success") is False)
            assert error == {
                "success": False,
                "ret_msg": "Params Error",
                "conn_id": error["conn_id"],
                "op": op,
            }
        ack = await subscribe(ws, topics[:1], op="unsubscribe")
        assert (
            ack["type"] == "COMMAND_RESP" and ack["data"]["successTopics"] == topics[:1]
        )
        assert {f["topic"] for f in await drain(ws, 0.3)} == {topics[1]}
        await control(sim, "config", unsub_ack="linear")
        ack = await subscribe(ws, topics[1:], op="unsubscribe")
        assert ack == {
            "success": True,
            "ret_msg": "",
            "conn_id": ack["conn_id"],
            "req_id": "r1",
            "op": "unsubscribe",
        }
        assert await drain(ws, 0.2) == []


@pytest.mark.asyncio
async def test_sim_last_equals_last_frame_received(sim: SimulatorServer) -> None:
    topics = topics_of(sim, 10, "ETH")
    async with ws_connect(sim) as ws:
        await subscribe(ws, topics)
        await drain(ws, 0.3)
        await control(sim, "silence", seconds=30)
        frames = await drain(ws, 0.3)
    last = {f["data"]["symbol"]: f for f in frames if "topic" in f}
    symbols = ",".join(t[len("tickers.") :] for t in topics)
    reported = (await control(sim, "last", symbols=symbols))["last"]
    assert set(reported) == set(last) == {t[len("tickers.") :] for t in topics}
    for symbol, frame in last.items():
        assert reported[symbol] == {"ts": frame["ts"], "data": frame["data"]}


@pytest.mark.asyncio
async def test_silence_with_and_without_pongs(sim: SimulatorServer) -> None:
    async with ws_connect(sim) as ws:
        await subscribe(ws, topics_of(sim, 3))
        await control(sim, "silence", seconds=5, pings=0)
        await drain(ws, 0.1)
        await ws.send('{"op":"ping"}')
        assert await drain(ws, 0.4) == []
        await control(sim, "silence", seconds=5, pings=1)
        await ws.send('{"op":"ping"}')
        assert [m.get("op") for m in await drain(ws, 0.4)] == ["pong"]
        assert (await control(sim, "snapshot"))["pushed"] == 3
        assert len(await drain(ws, 0.2)) == 3  # an explicit resend beats the silence
        await control(sim, "silence", seconds=0)
        assert len(await drain(ws, 0.3)) > 5


@pytest.mark.asyncio
async def test_drop_with_code_and_abrupt(sim: SimulatorServer) -> None:
    async with ws_connect(sim) as ws:
        await subscribe(ws, topics_of(sim, 1))
        assert (await control(sim, "drop", code=1001))["dropped"] == 1
        with pytest.raises(ConnectionClosed):
            while True:
                await recv(ws)
        assert ws.close_code == 1001
    async with ws_connect(sim) as ws:
        await control(sim, "drop", abrupt=1)
        with pytest.raises(ConnectionClosed):
            await recv(ws)
        assert ws.close_code == 1006
    assert (await control(sim, "state"))["connections"] == 0


@pytest.mark.asyncio
async def test_malformed_frames(sim: SimulatorServer) -> None:
    async with ws_connect(sim, max_size=None) as ws:
        await subscribe(ws, topics_of(sim, 1))
        await control(sim, "silence", seconds=30)
        await drain(ws, 0.2)
        raw: dict[str, str | bytes] = {}
        for kind in MALFORMED_KINDS:
            assert (await control(sim, "malformed", kind=kind, count=1))["sent"] == 1
            raw[kind] = await asyncio.wait_for(ws.recv(), 2)
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(raw["bad_json"])
    assert isinstance(raw["binary"], bytes) and isinstance(raw["huge"], str)
    assert len(raw["huge"]) > 1_048_576
    assert isinstance(orjson.loads(raw["wrong_types"])["data"]["markPrice"], float)
    assert "data" not in orjson.loads(raw["missing_data"])
    assert orjson.loads(raw["unknown_topic"])["topic"] == "tickers.BTC-1JAN20-1-C-USDT"


@pytest.mark.asyncio
async def test_set_overrides_a_field_and_pushes_it(sim: SimulatorServer) -> None:
    topic = topics_of(sim, 1)[0]
    symbol = topic[len("tickers.") :]
    async with ws_connect(sim) as ws:
        await subscribe(ws, [topic])
        await control(sim, "set", symbol=symbol, markPrice="123.5", bidPrice="120")
        frame = await recv_until(
            ws, lambda m: m.get("data", {}).get("markPrice") == "123.5", 1
        )
        assert frame["data"]["bidPrice"] == "120"
        later = await drain(ws, 0.4)
        assert later and all(f["data"]["markPrice"] == "123.5" for f in later)
        bad = await get(sim, "/sim/set", symbol=symbol, nonsense="1")
        assert bad.status_code == 400 and bad.json()["ok"] is False
        await control(sim, "set", symbol=symbol, reset=1)
        await recv_until(ws, lambda m: m["data"]["markPrice"] != "123.5", 1)


@pytest.mark.asyncio
async def test_list_expire_mute_and_reject(sim: SimulatorServer) -> None:
    listed = await control(
        sim, "list", base="BTC", expiry="2031-12-26", strikes="100000,105000"
    )
    new = listed["listed"]
    assert new == [f"BTC-26DEC31-{k}-{t}-USDT" for k in (100000, 105000) for t in "CP"]
    one = await get(
        sim, "/v5/market/instruments-info", category="option", symbol=new[0]
    )
    assert one.json()["result"]["list"][0]["launchTime"].isdigit()
    async with ws_connect(sim) as ws:
        topics = [f"tickers.{s}" for s in new]
        assert (await subscribe(ws, topics))["success"] is True
        await control(sim, "expire", symbols=new[0])
        await settle(ws)
        assert new[0] not in {f["data"]["symbol"] for f in await drain(ws, 0.3)}
        await control(sim, "mute", symbols=new[1])
        await settle(ws)
        assert {f["data"]["symbol"] for f in await drain(ws, 0.3)} == set(new[2:])
    await control(sim, "reject", symbols=new[2])
    async with ws_connect(sim) as ws:
        ack = await subscribe(ws, [topics[2], topics[0], topics[3]])
        assert ack["data"]["failTopics"] == [topics[2], topics[0]]
    await control(sim, "expire", expiry="2031-12-26", base="BTC")
    body = (
        await get(sim, "/v5/market/instruments-info", category="option", limit=1000)
    ).json()
    assert not set(new) & {i["symbol"] for i in body["result"]["list"]}
    closed = await get(
        sim, "/v5/market/instruments-info", category="option", status="Closed"
    )
    assert set(new) <= {i["symbol"] for i in closed.json()["result"]["list"]}


@pytest.mark.asyncio
@with_sim(idle_timeout_s=0.5)
async def test_idle_timeout_and_paths(sim: SimulatorServer) -> None:
    async with ws_connect(sim) as ws:
        started = time.monotonic()
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 3)
        assert 0.4 < time.monotonic() - started < 2.5
    with pytest.raises(InvalidStatus):
        async with ws_connect(sim, path="/v5/public/linear"):
            pass
    state = await control(sim, "state")
    assert state["contracts"] == 300 and state["connections"] == 0


@pytest.mark.asyncio
@with_sim(emit_deltas=True, delta_ratio=0.5, rate=3000)
async def test_deltas_merge_into_what_was_sent(sim: SimulatorServer) -> None:
    topics = topics_of(sim, 5)
    async with ws_connect(sim) as ws:
        await subscribe(ws, topics)
        frames = await drain(ws, 0.6)
        await control(sim, "silence", seconds=30)
        frames += await drain(ws, 0.2)
    assert {f["type"] for f in frames} == {"snapshot", "delta"}
    merged: dict[str, dict] = {}
    for frame in frames:
        symbol = frame["data"]["symbol"]
        if frame["type"] == "snapshot":
            merged[symbol] = dict(frame["data"])
        else:
            merged[symbol].update(frame["data"])
    last = (await control(sim, "last"))["last"]
    assert all(last[symbol]["data"] == data for symbol, data in merged.items())


def test_python_m_simulator_runs_until_sigterm() -> None:
    # No Django: the simulator is a package of its own, run from the project root.
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--port=0", "--contracts=40"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("simulator listening: rest=http://127.0.0.1:")
        rest = line.split("rest=")[1].split()[0]
        assert httpx.get(f"{rest}/sim/state", timeout=5).json()["contracts"] == 40
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert proc.stdout.read() == "simulator stopped\n"
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--rate", "-5"], "rate must be at least 0"),
        (["--contracts", "0"], "--contracts must be at least 1"),
        (["--unknown-topic-mode", "loud"], "invalid choice: 'loud'"),
        (["--port", "http"], "invalid int value: 'http'"),
    ],
)
def test_python_m_simulator_refuses_bad_options_saying_why(args, said) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "simulator", "--port=0", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 2 and said in done.stderr
    assert done.stdout == ""  # it never said it listens


def test_python_m_simulator_on_a_taken_port_exits_1_saying_so() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "simulator", f"--port={port}", "--contracts=40"],
            cwd=ROOT, capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    assert done.returncode == 1
    assert "python -m simulator: error:" in done.stderr
    assert "address already in use" in done.stderr.lower()


@pytest.mark.asyncio
async def test_bad_pins_a_hostile_value_on_chosen_fields(sim: SimulatorServer) -> None:
    topic = topics_of(sim, 1)[0]
    symbol = topic[len("tickers.") :]
    async with ws_connect(sim) as ws:
        await subscribe(ws, [topic])
        await control(sim, "silence", seconds=30)  # only the snapshots below
        await settle(ws)
        for kind, value in BAD_VALUES.items():
            fields = "bidPrice,underlyingPrice"
            await control(sim, "bad", kind=kind, symbols=symbol, fields=fields)
            await control(sim, "snapshot")
            data = (await recv(ws))["data"]
            assert data["bidPrice"] == data["underlyingPrice"] == value, kind
            assert data["markPrice"]  # the rest of the frame as before
        unknown = await get(sim, "/sim/bad", kind="nope", symbols=symbol, fields="x")
        assert unknown.status_code == 400 and "kind must be one of" in unknown.text
        no_fields = await get(sim, "/sim/bad", kind="nan", symbols=symbol)
        assert no_fields.status_code == 400
        await control(sim, "set", symbol=symbol, reset=1)
        await control(sim, "snapshot")
        assert isinstance((await recv(ws))["data"]["bidPrice"], str)
