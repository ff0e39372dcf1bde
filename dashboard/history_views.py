"""The dashboard's history: a contract's page with its 24 h charts, the chain page's
time slider (a past chain, as a snapshot the page renders like a live one) and what
the chain page formats prices with (each contract's tick size).

All read through the read model (options.history, options.models); the JSON answers
are the pages' own, so the API's token and throttle settings never block the pages.
"""

from datetime import UTC, datetime

from django.conf import settings
from django.http import Http404, JsonResponse
from django.shortcuts import render

from dashboard import chain
from dashboard.views import dashboard_page
from options import history, read
from options.models import OptionContract
from options.symbols import SymbolError, format_strike, parse_symbol

# What the contract page charts: prices, IV, the forward and open interest.
CONTRACT_FIELDS = ("mark", "bid", "ask", "mark_iv", "bid_iv", "ask_iv", "underlying",
                   "oi")  # fmt: skip


def _chain_or_404(exchange: str, base: str, expiry: str) -> None:
    if not chain.valid_names(exchange, base, expiry):
        raise Http404("no such chain")


@dashboard_page
async def chain_meta(request, exchange: str, base: str, expiry: str):
    """Each contract's tick size, and the span of the chain's history."""
    _chain_or_404(exchange, base, expiry)
    ticks = {
        symbol: format_strike(tick)
        async for symbol, tick in OptionContract.objects.filter(
            exchange=exchange, underlying__base_coin=base, expiry__date=expiry,
            tick_size__isnull=False,
        ).values_list("symbol", "tick_size")
    }  # fmt: skip
    span = await history.read_span(exchange, base, expiry)
    kept = None if span is None else {"oldest": span[0], "newest": span[1]}
    return JsonResponse(
        {
            "ticks": ticks,
            "history": kept,
            "interval_s": settings.HISTORY_INTERVAL,
        }
    )


@dashboard_page
async def chain_at(request, exchange: str, base: str, expiry: str):
    """The chain at `?at=` (ms since the epoch) as a snapshot message (consumers)."""
    _chain_or_404(exchange, base, expiry)
    try:
        at = int(request.GET.get("at", ""))
        past = await history.read_chain_at(
            exchange, base, expiry, at, fields=chain.CHAIN_FIELDS
        )
    except ValueError:
        return JsonResponse({"error": "at: milliseconds since the epoch"}, status=400)
    except read.NotFound as exc:
        return JsonResponse({"error": exc.message}, status=404)
    ticks = past.ticks()
    return JsonResponse(
        {
            "type": "snapshot",
            "past": True,
            "at": at,
            "contracts": [[t.symbol, t.strike, t.option_type] for t in ticks],
            "rows": {t.symbol: t.values for t in ticks if t.values},
        }
    )


@dashboard_page
async def contract_page(request, exchange: str, symbol: str):
    try:
        parsed = parse_symbol(symbol)
    except SymbolError:
        raise Http404("no such contract") from None
    found = (
        await OptionContract.objects.filter(exchange=exchange, symbol=symbol)
        .values_list("tick_size", flat=True)
        .afirst()
    )
    context = {
        "exchange": exchange,
        "symbol": symbol,
        "base": parsed.base,
        "expiry": parsed.expiry_date.isoformat(),
        "strike": format_strike(parsed.strike),
        "kind": "Call" if parsed.option_type == "C" else "Put",
        "tick": "" if found is None else format_strike(found),
    }
    return render(request, "dashboard/contract.html", context)


@dashboard_page
async def contract_history(request, exchange: str, symbol: str):
    """The contract's samples of the last 24 h, one list per field (for uPlot)."""
    since, until = history.window()
    try:
        found = await history.read_history(
            exchange, symbol, since, until, CONTRACT_FIELDS
        )
    except read.NotFound as exc:
        return JsonResponse({"error": exc.message}, status=404)
    return JsonResponse(
        {
            "symbol": symbol,
            "since": _iso(since),
            "times": [t / 1000 for t in found.times],
            **found.values,
        }
    )


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()
