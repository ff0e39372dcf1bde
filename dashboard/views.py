"""The dashboard's pages. The chain page is a shell: its rows come from the socket's
snapshot (consumers.ChainConsumer), so the page and the socket never disagree."""

import logging
from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import render
from redis.exceptions import RedisError

from dashboard import chain
from dashboard.clients import sync_client
from options import store

log = logging.getLogger(__name__)


def dashboard_page(view):
    """Redirects anonymous users to the login page when DASHBOARD_LOGIN_REQUIRED."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if settings.DASHBOARD_LOGIN_REQUIRED and not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        try:
            return view(request, *args, **kwargs)
        except (RedisError, OSError) as exc:
            log.warning("dashboard: Redis unreachable: %s", exc)
            return render(request, "dashboard/unavailable.html", status=503)

    return wrapped


@dashboard_page
def overview(request):
    context = {"exchanges": overview_data(sync_client())}
    if request.GET.get("partial"):  # overview.js refreshes the table with this
        return render(request, "dashboard/_overview_table.html", context)
    return render(request, "dashboard/overview.html", context)


@dashboard_page
def chain_page(request, exchange: str, base: str, expiry: str):
    client = sync_client()
    expiries = store.read_expiries(client, exchange, base)
    if not chain.valid_names(exchange, base, expiry) or expiry not in dict(expiries):
        raise Http404("no such chain")
    context = {
        "exchange": exchange,
        "base": base,
        "expiry": expiry,
        "bases": base_links(client, exchange),
        "tabs": chain.expiry_tabs(expiries, chain.now_ms()),
        "ws_path": f"/ws/chain/{exchange}/{base}/{expiry}/",
    }
    return render(request, "dashboard/chain.html", context)


def overview_data(client) -> list[dict]:
    """Every exchange with its feed's health and every base with its index price."""
    at = chain.now_ms()
    exchanges = []
    for exchange in store.read_exchanges(client):
        bases = []
        for base in store.read_bases(client, exchange):
            expiries = store.read_expiries(client, exchange, base)
            bases.append(
                {
                    "base": base,
                    "index": index_price(client, exchange, base, expiries),
                    "tabs": chain.expiry_tabs(expiries, at),
                }
            )
        status = store.read_status(client, exchange)
        exchanges.append(
            {"exchange": exchange, "health": chain.health(status, at), "bases": bases}
        )
    return exchanges


def base_links(client, exchange: str) -> list[tuple[str, str]]:
    """(base, its nearest expiry) for the links between chains."""
    links = []
    for base in store.read_bases(client, exchange):
        expiries = store.read_expiries(client, exchange, base)
        if expiries:
            links.append((base, expiries[0][0]))
    return links


def index_price(client, exchange: str, base: str, expiries) -> str:
    """The index price as the nearest expiry's first contract last saw it."""
    for expiry, _ in expiries:
        index = store.read_chain_index(client, exchange, base, expiry)
        if index:
            row = store.read_ticks(client, exchange, [index[0][0]], ["index"])[0]
            return row.get("index", "")
    return ""
