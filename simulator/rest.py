"""Bybit v5 REST market endpoints, with the IP rate limit and injectable failures."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote

import orjson

from .market import Market, sort_key

STATUSES = ("PreLaunch", "Trading", "Delivering", "Closed")
FAULT_MODES = ("403", "429", "500", "10006", "10016", "malformed", "slow")
JSON = "application/json"
TEXT = "text/plain; charset=utf-8"


@dataclass(slots=True)
class Reply:
    status: int
    body: bytes
    content_type: str = JSON


@dataclass(slots=True)
class Fault:
    """The next `count` REST requests (under `path`, if set) fail this way."""

    mode: str
    count: int
    path: str = ""
    seconds: float = 5.0  # for mode "slow"


def envelope(result: dict, code: int = 0, msg: str = "OK") -> Reply:
    body = {
        "retCode": code,
        "retMsg": msg,
        "result": result,
        "retExtInfo": {},
        "time": int(time.time() * 1000),
    }
    return Reply(200, orjson.dumps(body))


def params_error() -> Reply:
    return envelope({}, 10001, "params error")


class RestApi:
    """Answers `/v5/market/...` GETs from the market model."""

    def __init__(self, market: Market) -> None:
        self.market = market
        self.faults: list[Fault] = []
        self.hits: deque[float] = deque()
        self.requests = 0

    async def handle(self, path: str, params: dict[str, str], limit: int) -> Reply:
        self.requests += 1
        if limit and self._over_limit(limit):
            return Reply(403, b"access too frequent", TEXT)
        fault = self._take_fault(path)
        if fault is not None and fault.mode != "slow":
            return _fault_reply(fault.mode)
        if fault is not None:
            await asyncio.sleep(fault.seconds)
        if path == "/v5/market/instruments-info":
            return self.instruments(params)
        if path == "/v5/market/tickers":
            return self.tickers(params)
        if path == "/v5/market/time":
            now = time.time_ns()
            return envelope({"timeSecond": str(now // 10**9), "timeNano": str(now)})
        return Reply(404, b"Not Found", TEXT)

    def _over_limit(self, limit: int) -> bool:
        now = time.monotonic()
        self.hits.append(now)
        while self.hits and self.hits[0] < now - 5.0:
            self.hits.popleft()
        return len(self.hits) > limit

    def _take_fault(self, path: str) -> Fault | None:
        for fault in self.faults:
            if not fault.path or path.startswith(fault.path):
                fault.count -= 1
                if fault.count <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def instruments(self, params: dict[str, str]) -> Reply:
        if params.get("category") != "option":
            return params_error()
        status = params.get("status")
        limit = _int(params.get("limit", "500"))
        if (
            limit is None
            or not 1 <= limit <= 1000
            or (status and status not in STATUSES)
        ):
            return params_error()
        items = self.market.listed(params.get("baseCoin", "BTC"), status)
        if "symbol" in params:
            items = [c for c in items if c.symbol == params["symbol"]]
        if params.get("cursor"):
            after = self._cursor_key(params["cursor"])
            if after is None:
                return params_error()
            items = [c for c in items if sort_key(c) > after]
        page = items[:limit]
        cursor = ""
        if len(items) > limit:
            cursor = quote(f"first={page[0].symbol}&last={page[-1].symbol}", safe="")
        result = {
            "category": "option",
            "nextPageCursor": cursor,
            "list": [c.instrument() for c in page],
        }
        return envelope(result)

    def _cursor_key(self, cursor: str) -> tuple | None:
        """Accept the cursor decoded once (raw pass-through) or still encoded."""
        for _ in range(3):
            if "%" not in cursor:
                break
            cursor = unquote(cursor)
        last = dict(parse_qsl(cursor)).get("last")
        contract = self.market.contracts.get(last or "")
        return sort_key(contract) if contract is not None else None

    def tickers(self, params: dict[str, str]) -> Reply:
        symbol, base = params.get("symbol"), params.get("baseCoin")
        if params.get("category") != "option" or not (symbol or base):
            return params_error()
        if symbol:
            contract = self.market.contracts.get(symbol)
            if contract is None or contract.status == "Closed":
                return params_error()
            items = [contract]
        else:
            items = self.market.listed(base or "", None)
        if params.get("expDate"):
            items = [c for c in items if c.symbol.split("-")[1] == params["expDate"]]
        return envelope(
            {"category": "option", "list": [c.rest_ticker() for c in items]}
        )


def _fault_reply(mode: str) -> Reply:
    if mode == "403":
        return Reply(403, b"access too frequent", TEXT)
    if mode == "429":
        return Reply(429, b"Too Many Requests", TEXT)
    if mode == "500":
        return Reply(500, b"Internal Server Error", TEXT)
    if mode == "10006":
        return envelope({}, 10006, "Too many visits!")
    if mode == "10016":
        return envelope({}, 10016, "Internal system error.")
    return Reply(
        200, b'{"retCode":0,"retMsg":"OK","result":{"category":"option","li', JSON
    )


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None
