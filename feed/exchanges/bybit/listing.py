"""Bybit v5 REST: every listed option of one base coin (`/v5/market/instruments-info`).

Reference: docs exchanges.md §1.1-1.2 and §1.7. The option listing defaults to BTC only,
so each base coin is queried on its own, always paging with `nextPageCursor` (already
percent-encoded: it is appended verbatim). Success is `retCode == 0`; `retMsg` varies.
"""

import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime

import httpx
import orjson

from feed.backoff import full_jitter
from feed.exchanges.base import ListingError
from options.instruments import Instrument
from options.symbols import SymbolError, parse_symbol

log = logging.getLogger(__name__)

EXCHANGE = "bybit"
PATH = "/v5/market/instruments-info"
OPTION_TYPES = {"Call": "C", "Put": "P"}
RETRY_CODES = {10016}  # internal error / service restarting
RATE_LIMIT_CODES = {10006}  # too many visits
MAX_PAGES = 200
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_BASE = re.compile(r"^[A-Z0-9]{1,16}$")


class _Transient(Exception):
    def __init__(self, message: str, wait: float | None = None, ban: bool = False):
        super().__init__(message)
        self.wait = wait  # seconds the server asked for, if it said
        self.ban = ban  # an IP ban (HTTP 403): wait it out, at most `max_ban_waits`


class BybitListing:
    def __init__(
        self,
        rest_url: str,
        client: httpx.Client | None = None,
        page_limit: int = 1000,
        max_retries: int = 5,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        *,
        ban_wait: float = 600.0,
        max_ban_waits: int = 1,
        timeout: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not 1 <= page_limit <= 1000:
            raise ValueError("page_limit must be within [1, 1000]")
        self.rest_url = rest_url.rstrip("/")
        self._own_client = client is None
        self.client = httpx.Client(timeout=timeout) if client is None else client
        self.page_limit = page_limit
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.ban_wait = ban_wait
        self.max_ban_waits = max_ban_waits
        self.timeout = timeout
        self.sleep = sleep
        self.skipped: list[str] = []  # symbols skipped by the last fetch

    def close(self) -> None:
        if self._own_client:
            self.client.close()

    def __enter__(self) -> "BybitListing":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch(self, base_coin: str) -> list[Instrument]:
        """Every listed option of `base_coin`, all pages; ListingError if unreadable."""
        if not _BASE.match(base_coin):
            raise ListingError(f"bad base coin {base_coin!r}", permanent=True)
        self.skipped = []
        found: dict[str, Instrument] = {}
        cursor, cursors = "", set()
        for _ in range(MAX_PAGES):
            result = self._get(self._page_url(base_coin, cursor))
            items, cursor = _page(result)
            for item in items:
                inst = self._instrument(item, base_coin)
                if inst is not None:
                    found[inst.symbol] = inst
            if not cursor:
                self._log_skipped(base_coin)
                return list(found.values())
            if cursor in cursors:
                raise ListingError(f"bybit {base_coin}: cursor {cursor!r} repeats")
            cursors.add(cursor)
        raise ListingError(f"bybit {base_coin}: more than {MAX_PAGES} pages")

    def base_coin_exists(self, base_coin: str) -> bool:
        """Whether Bybit lists any option of `base_coin` (one page is enough)."""
        if not _BASE.match(base_coin):
            return False
        url = f"{self.rest_url}{PATH}?category=option&baseCoin={base_coin}&limit=1"
        items, _ = _page(self._get(url))
        return bool(items)

    def _log_skipped(self, base_coin: str) -> None:
        if self.skipped:
            names = ", ".join(self.skipped[:10])
            log.warning(
                "bybit %s: skipped %d item(s): %s", base_coin, len(self.skipped), names
            )

    def _page_url(self, base_coin: str, cursor: str) -> str:
        url = (
            f"{self.rest_url}{PATH}?category=option"
            f"&baseCoin={base_coin}&limit={self.page_limit}"
        )
        return f"{url}&cursor={cursor}" if cursor else url

    def _instrument(self, item: object, base_coin: str) -> Instrument | None:
        inst = parse_item(item)
        if inst is None or inst.base != base_coin:
            symbol = item.get("symbol") if isinstance(item, dict) else None
            self.skipped.append(str(symbol))
            return None
        return inst

    def _get(self, url: str) -> dict:
        """One request's `result`, retrying what may pass; ListingError otherwise."""
        attempt, bans = 0, 0
        while True:
            try:
                return self._request(url)
            except _Transient as exc:
                if exc.ban:
                    bans += 1
                    if bans > self.max_ban_waits:
                        raise ListingError(f"bybit: {exc}, still banned") from None
                else:
                    attempt += 1
                    if attempt > self.max_retries:
                        message = f"bybit: {exc} (after {self.max_retries} retries)"
                        raise ListingError(message) from None
                delay = self._delay(exc, attempt)
                log.warning("bybit listing: %s; retrying in %.1f s", exc, delay)
                self.sleep(delay)

    def _delay(self, exc: _Transient, attempt: int) -> float:
        """The server's Retry-After if it gave one, the ban length or backoff else.

        `ban_wait` caps every wait, so tests (and impatient operators) can shorten it.
        """
        if exc.wait is not None:
            return min(exc.wait, self.ban_wait)
        return (
            self.ban_wait
            if exc.ban
            else full_jitter(attempt - 1, self.backoff_base, self.backoff_cap)
        )

    def _request(self, url: str) -> dict:
        try:
            response = self.client.get(url, timeout=self.timeout)
        except httpx.TransportError as exc:
            raise _Transient(f"{type(exc).__name__}: {exc}") from None
        status = response.status_code
        wait = retry_after(response.headers.get("Retry-After"))
        if status == 403:
            raise _Transient("HTTP 403 (IP rate limit)", wait, ban=True)
        if status == 429 or status >= 500:
            raise _Transient(f"HTTP {status}", wait)
        if status != 200:
            raise ListingError(f"bybit: HTTP {status}", permanent=True)
        return _result(response.content, wait)


def _result(body: bytes, wait: float | None) -> dict:
    try:
        envelope = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ListingError(f"bybit: body is not JSON: {body[:80]!r}", permanent=True)
    if not isinstance(envelope, dict) or not isinstance(envelope.get("retCode"), int):
        raise ListingError("bybit: answer has no integer retCode", permanent=True)
    code = envelope["retCode"]
    if code in RATE_LIMIT_CODES or code in RETRY_CODES:
        raise _Transient(f"retCode {code} {envelope.get('retMsg')!r}", wait)
    if code != 0:
        message = f"bybit: retCode {code} {envelope.get('retMsg')!r}"
        raise ListingError(message, permanent=True)
    result = envelope.get("result")
    if not isinstance(result, dict):
        raise ListingError("bybit: answer has no result object", permanent=True)
    return result


def _page(result: dict) -> tuple[list, str]:
    items, cursor = result.get("list"), result.get("nextPageCursor", "")
    if not isinstance(items, list) or not isinstance(cursor, str):
        raise ListingError("bybit: result lacks list / nextPageCursor", permanent=True)
    return items, cursor


def parse_item(item: object) -> Instrument | None:
    """One listing item as an Instrument; None if its symbol is not an option name.

    ListingError (permanent) for an item that lacks a field or has a wrong type.
    """
    if not isinstance(item, dict):
        raise ListingError(f"bybit: listing item is not an object: {item!r}", True)
    symbol = _field(item, "symbol")
    try:
        parsed = parse_symbol(symbol)
    except SymbolError as exc:
        log.info("bybit listing: skip %s", exc)
        return None
    kind = OPTION_TYPES.get(_field(item, "optionsType"))
    if kind is None:
        bad = item["optionsType"]
        raise ListingError(f"bybit: {symbol}: bad optionsType {bad!r}", True)
    return Instrument(
        exchange=EXCHANGE,
        symbol=symbol,
        base=_field(item, "baseCoin"),
        settle=_field(item, "settleCoin"),
        option_type=kind,
        strike=parsed.strike,
        expiry=_ms_datetime(symbol, _field(item, "deliveryTime")),
        tick_size=_tick_size(symbol, item.get("priceFilter")),
        status=_field(item, "status"),
    )


def _field(item: dict, name: str) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value:
        symbol = item.get("symbol")
        raise ListingError(f"bybit: item {symbol!r}: bad {name} {value!r}", True)
    return value


def _ms_datetime(symbol: str, text: str) -> datetime:
    if not text.isdigit():
        raise ListingError(f"bybit: {symbol}: bad deliveryTime {text!r}", True)
    return EPOCH + timedelta(milliseconds=int(text))


def _tick_size(symbol: str, price_filter: object) -> Decimal | None:
    if price_filter is None:
        return None
    tick = price_filter.get("tickSize") if isinstance(price_filter, dict) else None
    try:
        value = Decimal(tick) if isinstance(tick, str) and tick else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value <= 0:
        raise ListingError(f"bybit: {symbol}: bad priceFilter {price_filter!r}", True)
    return value


def retry_after(header: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date)."""
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
