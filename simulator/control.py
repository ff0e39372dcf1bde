"""The `/sim/...` control API: inspect the simulator and inject faults, over plain GETs.

Every answer is JSON; a bad request answers 400 with `{"ok": false, "error": ...}`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from .contract import WS_FIELDS, Contract
from .frames import BAD_VALUES, MALFORMED_KINDS, malformed, now_ms
from .market import MarketError
from .rest import FAULT_MODES, Fault

if TYPE_CHECKING:
    from .server import SimulatorServer

Params = dict[str, str]
Handler = Callable[[Params], Awaitable[dict]]


ROUTES = (
    "state", "last", "drop", "silence", "config", "mute", "reject", "malformed",
    "set", "bad", "list", "expire", "fail", "snapshot",
)  # fmt: skip


class ControlError(ValueError):
    """Answered as HTTP 400."""


def _csv(params: Params, name: str) -> list[str]:
    return [item.strip() for item in params.get(name, "").split(",") if item.strip()]


def _flag(params: Params, name: str) -> bool:
    return params.get(name, "0").lower() in ("1", "true", "yes", "on")


def _number(params: Params, name: str, default: float) -> float:
    try:
        return float(params.get(name, default))
    except ValueError:
        raise ControlError(f"{name} must be a number") from None


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ControlError(f"expiry must be YYYY-MM-DD, got {text!r}") from None


class Control:
    """Dispatches `/sim/<name>` to a handler method."""

    def __init__(self, server: SimulatorServer) -> None:
        self.server = server
        self.routes: dict[str, Handler] = {name: getattr(self, name) for name in ROUTES}

    async def handle(self, name: str, params: Params) -> tuple[int, dict]:
        handler = self.routes.get(name)
        if handler is None:
            return 404, {
                "ok": False,
                "error": f"no such endpoint; try {sorted(self.routes)}",
            }
        try:
            return 200, {"ok": True, **await handler(params)}
        except (ControlError, MarketError, ValueError) as exc:
            return 400, {"ok": False, "error": str(exc)}

    async def state(self, params: Params) -> dict:
        return self.server.state()

    async def last(self, params: Params) -> dict:
        market = self.server.market
        wanted = _csv(params, "symbols") or list(market.contracts)
        found = (market.contracts.get(symbol) for symbol in wanted)
        sent = [c for c in found if c is not None and c.last_ts is not None]
        return {
            "last": {c.symbol: {"ts": c.last_ts, "data": c.last_data} for c in sent}
        }

    async def drop(self, params: Params) -> dict:
        code = int(_number(params, "code", 1001))
        reason, abrupt = params.get("reason", ""), _flag(params, "abrupt")
        return {
            "dropped": self.server.drop(code, reason, abrupt, params.get("conn_id"))
        }

    async def silence(self, params: Params) -> dict:
        seconds = _number(params, "seconds", 0)
        self.server.silence(seconds, pings=params.get("pings", "1") != "0")
        return {"seconds": seconds}

    async def config(self, params: Params) -> dict:
        self.server.switches.update(dict(params))
        return {"switches": self.server.switches.as_dict()}

    async def mute(self, params: Params) -> dict:
        contracts = self._contracts(_csv(params, "symbols"))
        if _flag(params, "clear"):
            contracts = [c for c in self.server.market.contracts.values() if c.muted]
        for contract in contracts:
            contract.set_muted(not (_flag(params, "off") or _flag(params, "clear")))
        muted = [c.symbol for c in self.server.market.contracts.values() if c.muted]
        return {"muted": muted}

    async def reject(self, params: Params) -> dict:
        rejected = self.server.rejected
        if _flag(params, "clear"):
            rejected.clear()
        for symbol in _csv(params, "symbols"):
            topic = symbol if "." in symbol.split("-")[0] else f"tickers.{symbol}"
            (rejected.discard if _flag(params, "off") else rejected.add)(topic)
        return {"rejected": sorted(rejected)}

    async def malformed(self, params: Params) -> dict:
        kind = params.get("kind", "bad_json")
        if kind not in MALFORMED_KINDS:
            raise ControlError(f"kind must be one of {', '.join(MALFORMED_KINDS)}")
        count = int(_number(params, "count", 1))
        sent = 0
        for session in list(self.server.sessions):
            contract = next(iter(session.order), None)
            for _ in range(count):
                self.server.seq += 1
                frame = malformed(kind, contract, self.server.seq)
                try:
                    await session.ws.send(frame)
                    sent += 1
                except Exception:  # the socket went away meanwhile: nothing to inject
                    break
        return {"sent": sent}

    async def set(self, params: Params) -> dict:
        symbol = params.get("symbol", "")
        fields = {k: v for k, v in params.items() if k not in ("symbol", "reset")}
        market = self.server.market
        if _flag(params, "reset"):
            contract = market.clear_fields(symbol)
        elif not fields:
            raise ControlError(f"name at least one field: {', '.join(WS_FIELDS[1:])}")
        else:
            contract = market.set_fields(symbol, fields)
        ts = now_ms()
        pushed = await self.server.push_now([contract], ts)
        return {
            "symbol": contract.symbol,
            "data": contract.data,
            "pushed": pushed,
            "ts": ts,  # the pushed frames' exchange time
        }

    async def bad(self, params: Params) -> dict:
        """Pin a bad value (BAD_VALUES[kind]) on `fields` of `symbols` and push them
        now; `/sim/set?symbol=...&reset=1` takes it off again."""
        kind = params.get("kind", "")
        if kind not in BAD_VALUES:
            raise ControlError(f"kind must be one of {', '.join(BAD_VALUES)}")
        fields = _csv(params, "fields")
        if not fields:
            raise ControlError(f"name fields: {', '.join(WS_FIELDS[1:])}")
        contracts = self._contracts(_csv(params, "symbols"))
        value = BAD_VALUES[kind]
        for contract in contracts:
            self.server.market.set_fields(contract.symbol, dict.fromkeys(fields, value))
        ts = now_ms()
        pushed = await self.server.push_now(contracts, ts)
        return {"symbols": [c.symbol for c in contracts], "fields": fields,
                "value": value, "pushed": pushed, "ts": ts}  # fmt: skip

    async def list(self, params: Params) -> dict:
        try:
            strikes = [Decimal(s) for s in _csv(params, "strikes")]
        except InvalidOperation:
            raise ControlError("strikes must be numbers") from None
        if not strikes or "base" not in params or "expiry" not in params:
            raise ControlError("need base, expiry (YYYY-MM-DD) and strikes")
        spot = float(params["spot"]) if "spot" in params else None
        made = self.server.market.list_contracts(
            params["base"], _day(params["expiry"]), strikes, spot
        )
        return {"listed": [c.symbol for c in made]}

    async def expire(self, params: Params) -> dict:
        market = self.server.market
        if "symbols" in params:
            contracts = self._contracts(_csv(params, "symbols"))
        elif "expiry" in params:
            day, base = _day(params["expiry"]), params.get("base")
            contracts = [
                c
                for c in market.contracts.values()
                if c.expiry == day and base in (None, c.base) and c.status != "Closed"
            ]
        else:
            raise ControlError("need symbols=... or expiry=YYYY-MM-DD[&base=...]")
        market.expire(contracts, params.get("status", "Closed"))
        self.server.refresh_sessions()
        return {"expired": [c.symbol for c in contracts]}

    async def fail(self, params: Params) -> dict:
        faults = self.server.rest.faults
        mode = params.get("mode", "")
        if mode in ("", "clear", "none"):
            faults.clear()
        elif mode not in FAULT_MODES:
            raise ControlError(f"mode must be one of {', '.join(FAULT_MODES)} or clear")
        else:
            count = int(_number(params, "count", 1))
            seconds = _number(params, "seconds", 5.0)
            faults.append(Fault(mode, count, params.get("path", ""), seconds))
        return {"faults": [vars_of(f) for f in faults]}

    async def snapshot(self, params: Params) -> dict:
        return {"pushed": await self.server.resend_all()}

    def _contracts(self, symbols: list[str]) -> list[Contract]:
        if not symbols:
            raise ControlError("need symbols=A,B,...")
        return [self.server.market.get(symbol) for symbol in symbols]


def vars_of(fault: Fault) -> dict:
    return {
        "mode": fault.mode,
        "count": fault.count,
        "path": fault.path,
        "seconds": fault.seconds,
    }
