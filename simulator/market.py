"""The market model: underlyings on a random walk and the contracts priced off them.

Pure and synchronous: the server calls `step(now_ms)` on a timer (every 100 ms by
default). Each step moves the spots and reprices only a share of the contracts, so the
cost per second stays flat however fast frames are sent.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .contract import WS_FIELDS, Contract
from .pricing import MS_PER_YEAR, fmt
from .universe import (
    SPECS,
    BaseSpec,
    build_universe,
    expiry_ms,
    generic_spec,
    start_spots,
)

LISTED = ("PreLaunch", "Trading", "Delivering")


@dataclass(slots=True)
class Underlying:
    spec: BaseSpec
    spot: float
    vol_mult: float = 1.0  # slow random walk of the whole vol surface
    index: str = ""  # spot as the ticker shows it, formatted once per step

    def __post_init__(self) -> None:
        self.index = fmt(self.spot, self.spec.price_dp)


class MarketError(ValueError):
    """A request the market cannot honour (unknown symbol, bad field, past expiry)."""


class Market:
    """Contracts by symbol, their underlyings, and the operations tests need."""

    def __init__(
        self,
        contracts: int = 2100,
        seed: int = 1,
        now_ms: int | None = None,
        reprice_share: float = 0.1,
        trade_prob: float = 0.02,
        delivering_ms: int = 10_000,
    ) -> None:
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        self.rng = random.Random(seed)
        self.reprice_share, self.trade_prob = reprice_share, trade_prob
        self.delivering_ms = delivering_ms
        spots = start_spots(seed)
        self.underlyings = {c: Underlying(s, spots[c]) for c, s in SPECS.items()}
        self.contracts: dict[str, Contract] = {}
        self._next_id = 100_000 + seed % 1000 * 10_000
        self._live: list[Contract] = []  # round-robin repricing order
        self._cursor = 0
        self._pending: dict[int, list[Contract]] = {}  # delivery_ms -> contracts
        self._closing: list[tuple[int, Contract]] = []
        self.last_step_ms = now_ms
        for item in build_universe(contracts, now_ms, spots):
            launch = now_ms - self.rng.randint(1, 60) * 86_400_000
            self._add(item.base, item.expiry, item.strike, launch, now_ms)

    # -- building ----------------------------------------------------------------

    def _add(
        self, base: str, expiry: date, strike: Decimal, launch: int, now: int
    ) -> list[Contract]:
        under = self.underlyings[base]
        made = []
        for call in (True, False):
            contract = Contract(
                under.spec,
                expiry,
                expiry_ms(expiry),
                strike,
                call,
                self._next_id,
                launch,
            )
            if contract.symbol in self.contracts:
                raise MarketError(f"already listed: {contract.symbol}")
            self._next_id += 1
            self._open(contract, under, now)
            self.contracts[contract.symbol] = contract
            self._live.append(contract)
            self._pending.setdefault(contract.delivery_ms, []).append(contract)
            made.append(contract)
        return made

    def _open(self, contract: Contract, under: Underlying, now: int) -> None:
        """First quote; activity (OI, volume) is highest near the money."""
        contract.noise = 1.0 + self.rng.uniform(-0.01, 0.01)
        g, iv, fwd = contract.greeks(under.spot, under.vol_mult, now)
        years = max((contract.delivery_ms - now) / MS_PER_YEAR, 1e-6)
        moneyness = math.log(contract.strike_f / fwd) / (iv * math.sqrt(years))
        activity = math.exp(-0.5 * moneyness * moneyness) + 0.05
        contract.seed_state(self.rng, g.price, under.spot, activity)
        contract.quote(g, iv, fwd, under.index, now)

    def list_contracts(
        self, base: str, expiry: date, strikes: list[Decimal], spot: float | None = None
    ) -> list[Contract]:
        """List a call and a put per strike (a new base coin needs `spot`)."""
        now = int(time.time() * 1000)
        if expiry_ms(expiry) <= now:
            raise MarketError(f"expiry {expiry} is not in the future")
        if base not in self.underlyings:
            if spot is None or spot <= 0:
                raise MarketError(f"unknown base coin {base}; pass spot= to create it")
            self.underlyings[base] = Underlying(generic_spec(base, spot), spot)
        made: list[Contract] = []
        for strike in strikes:
            if strike <= 0:
                raise MarketError(f"strike must be positive: {strike}")
            made += self._add(base, expiry, strike, now, now)
        return made

    # -- time --------------------------------------------------------------------

    def step(self, now_ms: int) -> None:
        """Move spots by the elapsed time, run deliveries, reprice a share."""
        years = max(now_ms - self.last_step_ms, 0) / MS_PER_YEAR
        self.last_step_ms = now_ms
        gauss = self.rng.gauss
        for under in self.underlyings.values():
            vol = under.spec.vol * under.vol_mult
            under.spot *= math.exp(vol * math.sqrt(years) * gauss(0.0, 1.0))
            drift = 0.02 * (1.0 - under.vol_mult)
            under.vol_mult = min(
                max(under.vol_mult + drift + gauss(0.0, 0.002), 0.7), 1.4
            )
            under.index = fmt(under.spot, under.spec.price_dp)
        self._deliver(now_ms)
        live = self._live
        if not live:
            return
        count = min(max(int(len(live) * self.reprice_share), 1), len(live))
        for _ in range(count):
            self._cursor = (self._cursor + 1) % len(live)
            self.reprice(live[self._cursor], now_ms)

    def reprice(
        self, contract: Contract, now_ms: int, trade: bool | None = None
    ) -> None:
        under = self.underlyings[contract.base]
        g, iv, fwd = contract.greeks(under.spot, under.vol_mult, now_ms)
        rng = self.rng
        if rng.random() < 0.3:
            contract.bid_size = contract.qty * rng.randint(1, 1000)
            contract.ask_size = contract.qty * rng.randint(1, 1000)
        if trade or (trade is None and rng.random() < self.trade_prob):
            contract.trade(rng, g.price, under.spot)
        contract.quote(g, iv, fwd, under.index, now_ms)

    def _deliver(self, now_ms: int) -> None:
        for when in [w for w in self._pending if w <= now_ms]:
            for contract in self._pending.pop(when):
                if contract.status == "Trading":
                    self._set_status(contract, "Delivering")
                    self._closing.append((now_ms + self.delivering_ms, contract))
        due = [c for t, c in self._closing if t <= now_ms]
        if due:
            self._closing = [(t, c) for t, c in self._closing if t > now_ms]
            for contract in due:
                self._set_status(contract, "Closed")

    def _set_status(self, contract: Contract, status: str) -> None:
        contract.set_status(status)
        if status != "Trading" and contract in self._live:
            self._live.remove(contract)

    def expire(self, contracts: list[Contract], status: str = "Closed") -> None:
        """Delist now: `Closed` drops them from the listing, `Delivering` keeps them."""
        if status not in ("Delivering", "Closed"):
            raise MarketError("status must be Delivering or Closed")
        live = set(self._live)
        for contract in contracts:
            contract.set_status(status)
            live.discard(contract)
        self._live = [c for c in self._live if c in live]
        self._cursor = 0

    # -- overrides and queries ---------------------------------------------------

    def set_fields(self, symbol: str, fields: dict[str, str]) -> Contract:
        """Pin ticker fields of one contract; they win over repricing until cleared."""
        contract = self.get(symbol)
        unknown = [key for key in fields if key not in WS_FIELDS or key == "symbol"]
        if unknown:
            raise MarketError(f"unknown ticker field(s): {', '.join(unknown)}")
        contract.overrides.update(fields)
        contract.set_data({**contract.data, **fields})
        return contract

    def clear_fields(self, symbol: str) -> Contract:
        contract = self.get(symbol)
        contract.overrides = {}
        self.reprice(contract, int(time.time() * 1000), trade=False)
        return contract

    def get(self, symbol: str) -> Contract:
        try:
            return self.contracts[symbol]
        except KeyError:
            raise MarketError(f"unknown symbol {symbol}") from None

    def by_topic(self, topic: str) -> Contract | None:
        """The live contract behind `tickers.SYMBOL`, else None."""
        if not topic.startswith("tickers."):
            return None
        contract = self.contracts.get(topic[8:])
        return (
            contract if contract is not None and contract.status == "Trading" else None
        )

    def listed(self, base: str, status: str | None = None) -> list[Contract]:
        """Contracts of a base in the exchange's listing order (expiry, strike, C/P)."""
        wanted = (status,) if status else LISTED
        found = [
            c for c in self.contracts.values() if c.base == base and c.status in wanted
        ]
        found.sort(key=sort_key)
        return found

    def live_count(self) -> int:
        return len(self._live)


def sort_key(contract: Contract) -> tuple[int, Decimal, bool]:
    return contract.delivery_ms, contract.strike, not contract.call
