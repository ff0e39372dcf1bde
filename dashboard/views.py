"""The dashboard's pages (async: they read the read model, options.read). The chain
page is a shell: its rows come from the socket's snapshot (consumers.ChainConsumer),
so the page and the socket never disagree."""

import logging
from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, JsonResponse
from django.shortcuts import render
from redis.exceptions import RedisError

from dashboard import analytics, chain
from options import read

log = logging.getLogger(__name__)


def dashboard_page(view):
    """Redirects anonymous users to the login page when DASHBOARD_LOGIN_REQUIRED."""

    @wraps(view)
    async def wrapped(request, *args, **kwargs):
        if settings.DASHBOARD_LOGIN_REQUIRED:
            user = await request.auser()
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
        try:
            return await view(request, *args, **kwargs)
        except (RedisError, OSError) as exc:
            log.warning("dashboard: Redis unreachable: %s", exc)
            return render(request, "dashboard/unavailable.html", status=503)

    return wrapped


@dashboard_page
async def overview(request):
    context = {"exchanges": await overview_data()}
    if request.GET.get("partial"):  # overview.js refreshes the table with this
        return render(request, "dashboard/_overview_table.html", context)
    return render(request, "dashboard/overview.html", context)


@dashboard_page
async def chain_page(request, exchange: str, base: str, expiry: str):
    if not chain.valid_names(exchange, base, expiry):
        raise Http404("no such chain")
    try:
        expiries = await read.read_expiries(exchange, base)
    except read.NotFound:
        raise Http404("no such chain") from None
    if expiry not in {e.expiry for e in expiries}:
        raise Http404("no such chain")
    context = {
        "exchange": exchange,
        "base": base,
        "expiry": expiry,
        "bases": await base_links(exchange),
        "tabs": chain.expiry_tabs(expiries, chain.now_ms()),
        "ws_path": f"/ws/chain/{exchange}/{base}/{expiry}/",
    }
    return render(request, "dashboard/chain.html", context)


@dashboard_page
async def term_page(request, exchange: str, base: str):
    """An underlying's term structure now and its analytics' last 24 hours; the page
    (term.js) refreshes itself from ?format=json."""
    try:
        data = await analytics.term_data(exchange, base)
    except read.NotFound:
        raise Http404("no such underlying") from None
    if request.GET.get("format") == "json":
        return JsonResponse(data)
    links = await base_links(exchange)
    context = {"exchange": exchange, "base": base, "bases": links, "data": data,
               "chain_expiry": dict(links).get(base)}  # fmt: skip
    return render(request, "dashboard/term.html", context)


async def overview_data() -> list[dict]:
    """Every exchange with its feed's health and every base with its index price."""
    at = chain.now_ms()
    exchanges = []
    for exchange in await read.read_exchanges():
        bases = await read.read_bases(exchange)
        prices = await read.read_index_prices(exchange, bases)
        rows = [
            {
                "base": base,
                "index": prices[base],
                "tabs": chain.expiry_tabs(await _expiries(exchange, base), at),
            }
            for base in bases
        ]
        health = chain.health(await read.read_feed_health(exchange))
        exchanges.append({"exchange": exchange, "health": health, "bases": rows})
    return exchanges


async def base_links(exchange: str) -> list[tuple[str, str]]:
    """(base, its nearest expiry) for the links between chains."""
    links = []
    for base in await read.read_bases(exchange):
        expiries = await _expiries(exchange, base)
        if expiries:
            links.append((base, expiries[0].expiry))
    return links


async def _expiries(exchange: str, base: str) -> list:
    """A base's expiries; none when its index went between two reads."""
    try:
        return await read.read_expiries(exchange, base)
    except read.NotFound:
        return []
