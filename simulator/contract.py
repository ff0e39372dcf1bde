"""One listed option: its static description, its quote state and its ticker strings.

`data` is the WebSocket ticker object (the 25 string fields) and `blob` its JSON; both
are replaced, never mutated, so a frame or `/sim/last` can keep a reference safely.
"""

from __future__ import annotations

import math
import random
from datetime import date
from decimal import Decimal

import orjson

from .pricing import (
    MS_PER_YEAR,
    Greeks,
    atm_vol,
    black76,
    decimals_of,
    fmt,
    smile_iv,
    to_tick,
)
from .universe import BaseSpec, bybit_symbol, plain

WS_FIELDS = (
    "symbol", "bidPrice", "bidSize", "bidIv", "askPrice", "askSize", "askIv",
    "lastPrice", "highPrice24h", "lowPrice24h", "markPrice", "indexPrice",
    "markPriceIv", "underlyingPrice", "openInterest", "turnover24h", "volume24h",
    "totalVolume", "totalTurnover", "delta", "gamma", "vega", "theta",
    "predictedDeliveryPrice", "change24h",
)  # fmt: skip
REST_NAMES = {
    "bidPrice": "bid1Price", "bidSize": "bid1Size", "bidIv": "bid1Iv",
    "askPrice": "ask1Price", "askSize": "ask1Size", "askIv": "ask1Iv",
    "markPriceIv": "markIv",
}  # fmt: skip
PREDICT_WINDOW_MS = 30 * 60 * 1000  # predictedDeliveryPrice shows in the last 30 min


class Contract:
    """A listed call or put with its evolving quote."""

    __slots__ = (
        "symbol", "base", "expiry", "delivery_ms", "strike", "strike_f", "call",
        "spec", "symbol_id", "launch_ms", "status", "topic", "topic_b", "noise",
        "tick", "qty", "oi", "vol24", "turn24", "total_vol", "total_turn", "last",
        "high", "low", "open24", "bid_size", "ask_size", "overrides", "data", "blob",
        "last_ts", "last_data", "muted", "push", "pdp", "tdp", "qdp", "stats",
    )  # fmt: skip

    def __init__(
        self,
        spec: BaseSpec,
        expiry: date,
        delivery_ms: int,
        strike: Decimal,
        call: bool,
        symbol_id: int,
        launch_ms: int,
    ) -> None:
        self.symbol = bybit_symbol(spec.coin, expiry, strike, "C" if call else "P")
        self.base, self.spec, self.expiry = spec.coin, spec, expiry
        self.delivery_ms, self.strike, self.strike_f = (
            delivery_ms,
            strike,
            float(strike),
        )
        self.call, self.symbol_id, self.launch_ms = call, symbol_id, launch_ms
        self.status = "Trading"
        self.topic = f"tickers.{self.symbol}"
        self.topic_b = self.topic.encode()
        self.tick, self.qty = float(spec.tick), float(spec.qty_step)
        self.pdp, self.tdp = spec.price_dp, decimals_of(spec.tick)
        self.qdp = decimals_of(spec.qty_step)
        self.stats: dict[str, str] = {}  # trade-driven strings, rebuilt only on a trade
        self.overrides: dict[str, str] = {}
        self.data: dict[str, str] = {}
        self.blob = b"{}"
        self.last_ts: int | None = None
        self.last_data: dict[str, str] | None = None
        self.muted = False
        self.push = True  # Trading and not muted: the sender's one per-frame check
        self.noise = 1.0

    def set_status(self, status: str) -> None:
        self.status = status
        self.push = status == "Trading" and not self.muted

    def set_muted(self, muted: bool) -> None:
        self.muted = muted
        self.push = self.status == "Trading" and not muted

    def greeks(
        self, spot: float, vol_mult: float, now_ms: int
    ) -> tuple[Greeks, float, float]:
        """(greeks, iv, forward) for the underlying at `spot`."""
        years = max((self.delivery_ms - now_ms) / MS_PER_YEAR, 0.0)
        fwd = spot * math.exp(self.spec.carry * years)
        atm = atm_vol(self.spec.vol * vol_mult, years)
        iv = smile_iv(atm, fwd, self.strike_f, years, self.spec.skew) * self.noise
        return black76(fwd, self.strike_f, years, iv, self.call), iv, fwd

    def seed_state(
        self, rng: random.Random, mark: float, spot: float, activity: float
    ) -> None:
        """Plausible open interest, volumes and 24 h range for a new contract."""
        lots = float(self.spec.max_qty) / 2.0 * activity * rng.uniform(0.2, 1.0)
        self.oi = max(round(lots / self.qty), 1) * self.qty
        self.vol24 = self.oi * rng.uniform(0.0, 0.3)
        self.turn24 = self.vol24 * spot
        self.total_vol = self.oi * rng.uniform(1.5, 4.0)
        self.total_turn = self.total_vol * spot
        self.last = max(to_tick(mark * rng.uniform(0.95, 1.05), self.tick), self.tick)
        self.open24 = max(to_tick(mark * rng.uniform(0.8, 1.25), self.tick), self.tick)
        self.high = max(self.open24, self.last) * rng.uniform(1.0, 1.1)
        self.low = min(self.open24, self.last) * rng.uniform(0.9, 1.0)
        self.bid_size = self.ask_size = self.qty
        self._format_stats()

    def trade(self, rng: random.Random, mark: float, spot: float) -> None:
        """A print near the mark: last, volumes, open interest and the range move."""
        size = self.qty * rng.randint(1, 100)
        self.last = max(to_tick(mark * rng.uniform(0.98, 1.02), self.tick), self.tick)
        self.vol24 += size
        self.turn24 += size * spot
        self.total_vol += size
        self.total_turn += size * spot
        self.oi = max(self.oi + size * rng.choice((-1.0, 1.0)), 0.0)
        self.high, self.low = max(self.high, self.last), min(self.low, self.last)
        self._format_stats()

    def _format_stats(self) -> None:
        tdp, qdp = self.tdp, self.qdp
        change = self.last / self.open24 - 1.0 if self.open24 else 0.0
        self.stats = {
            "lastPrice": fmt(self.last, tdp),
            "highPrice24h": fmt(self.high, tdp),
            "lowPrice24h": fmt(self.low, tdp),
            "openInterest": fmt(self.oi, qdp),
            "turnover24h": fmt(self.turn24, 2),
            "volume24h": fmt(self.vol24, qdp),
            "totalVolume": fmt(self.total_vol, qdp),
            "totalTurnover": fmt(self.total_turn, 0),
            "change24h": fmt(change, 4),
        }

    def quote(self, g: Greeks, iv: float, fwd: float, index: str, now_ms: int) -> None:
        """Rebuild `data` and `blob` from fresh greeks (overrides win)."""
        tick, pdp, tdp = self.tick, self.pdp, self.tdp
        mark = g.price
        half = max(mark * 0.03, tick)
        bid = to_tick(mark - half, tick)
        ask = max(math.ceil((mark + half) / tick - 1e-9) * tick, tick)
        unit = g.vega_unit if g.vega_unit > 1e-9 else 0.0
        ask_iv = min(iv + (ask - mark) / unit, 9.99) if unit else 0.0
        if bid > 0:
            bid_iv = max(iv - (mark - bid) / unit, 0.0) if unit else 0.0
            bids = (fmt(bid, tdp), fmt(self.bid_size, self.qdp), fmt(bid_iv, 4))
        else:
            bids = ("0", "0", "0")
        near = self.delivery_ms - now_ms <= PREDICT_WINDOW_MS
        stats = self.stats
        data = {
            "symbol": self.symbol,
            "bidPrice": bids[0],
            "bidSize": bids[1],
            "bidIv": bids[2],
            "askPrice": fmt(ask, tdp),
            "askSize": fmt(self.ask_size, self.qdp),
            "askIv": fmt(ask_iv, 4),
            "lastPrice": stats["lastPrice"],
            "highPrice24h": stats["highPrice24h"],
            "lowPrice24h": stats["lowPrice24h"],
            "markPrice": fmt(mark, pdp),
            "indexPrice": index,
            "markPriceIv": fmt(iv, 4),
            "underlyingPrice": fmt(fwd, pdp),
            "openInterest": stats["openInterest"],
            "turnover24h": stats["turnover24h"],
            "volume24h": stats["volume24h"],
            "totalVolume": stats["totalVolume"],
            "totalTurnover": stats["totalTurnover"],
            "delta": fmt(g.delta, 8),
            "gamma": fmt(g.gamma, 8),
            "vega": fmt(g.vega, 8),
            "theta": fmt(g.theta, 8),
            "predictedDeliveryPrice": index if near else "0",
            "change24h": stats["change24h"],
        }
        if self.overrides:
            data.update(self.overrides)
        self.set_data(data)

    def set_data(self, data: dict[str, str]) -> None:
        self.data = data
        self.blob = orjson.dumps(data)

    def instrument(self) -> dict:
        """The instruments-info item, field for field as Bybit lists an option."""
        spec = self.spec
        kind = "C" if self.call else "P"
        day = self.symbol.split("-")[1]
        return {
            "symbol": self.symbol,
            "status": self.status,
            "baseCoin": self.base,
            "quoteCoin": "USDT",
            "settleCoin": "USDT",
            "optionsType": "Call" if self.call else "Put",
            "launchTime": str(self.launch_ms),
            "deliveryTime": str(self.delivery_ms),
            "deliveryFeeRate": "0.00015",
            "priceFilter": {
                "minPrice": spec.tick,
                "maxPrice": spec.max_price,
                "tickSize": spec.tick,
            },
            "lotSizeFilter": {
                "maxOrderQty": spec.max_qty,
                "minOrderQty": spec.qty_step,
                "qtyStep": spec.qty_step,
            },
            "displayName": f"{self.base}USDT-{day}-{plain(self.strike)}-{kind}",
            "symbolId": self.symbol_id,
        }

    def rest_ticker(self) -> dict[str, str]:
        """The tickers item: same values, REST field names."""
        return {REST_NAMES.get(key, key): value for key, value in self.data.items()}
