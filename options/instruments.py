"""An exchange-neutral description of one listed option, as a listing gives it."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Instrument:
    exchange: str  # registry name, e.g. "bybit"
    symbol: str  # the exchange's own name, e.g. "BTC-27MAR26-70000-P-USDT"
    base: str  # base coin, e.g. "BTC"
    settle: str  # settle coin, e.g. "USDT"
    option_type: str  # "C" or "P"
    strike: Decimal
    expiry: datetime  # aware, UTC
    tick_size: Decimal | None
    status: str  # the exchange's status, e.g. "Trading"

    @property
    def expiry_key(self) -> str:
        """The expiry as it appears in Redis keys: YYYY-MM-DD."""
        return self.expiry.strftime("%Y-%m-%d")
