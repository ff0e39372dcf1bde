"""The admin for the symbol universe, through the Django test client, with the
private Redis and (for the add form) the simulator's REST listing."""

import time

import pytest
import redis
from django.contrib.auth.models import Permission

from devtools.processes import free_port
from options import keys, store
from options.models import OptionContract, Underlying
from options.universe import sync_listing
from tests.test_universe import instrument

CONTRACTS = "/admin/options/optioncontract/"
UNDERLYINGS = "/admin/options/underlying/"
BTC = [f"BTC-27MAR99-{k}-{t}-USDT" for k in (60000, 70000) for t in "CP"]
ETH = ["ETH-26DEC25-3000-C-USDT", "ETH-26DEC25-3000-P-USDT"]  # expired


@pytest.fixture
def universe(settings, redis_url):
    settings.REDIS_URL = redis_url
    sync_listing("bybit", "BTC", [instrument(s) for s in BTC])
    sync_listing("bybit", "ETH", [instrument(s) for s in ETH])
    return redis.Redis.from_url(redis_url, decode_responses=True)


@pytest.fixture
def staff_client(client, django_user_model):
    """A staff user (not a superuser) with the options permissions an operator has."""
    user = django_user_model.objects.create_user("operator", is_staff=True)
    codenames = ["view_optioncontract", "change_optioncontract", "view_underlying",
                 "change_underlying", "add_underlying"]  # fmt: skip
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return client


def shown(response) -> list[str]:
    return [str(obj) for obj in response.context["cl"].result_list]


def contract(symbol: str) -> OptionContract:
    return OptionContract.objects.get(symbol=symbol)


@pytest.mark.django_db
def test_anonymous_users_are_sent_to_the_login_page(client):
    for url in (CONTRACTS, UNDERLYINGS, f"{UNDERLYINGS}add/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(f"/admin/login/?next={url}")


@pytest.mark.django_db
def test_every_page_renders_for_staff(staff_client, universe):
    btc = Underlying.objects.get(base_coin="BTC")
    pages = [CONTRACTS, f"{CONTRACTS}{contract(BTC[0]).pk}/change/", UNDERLYINGS,
             f"{UNDERLYINGS}{btc.pk}/change/", f"{UNDERLYINGS}add/"]  # fmt: skip
    for url in pages:
        assert staff_client.get(url).status_code == 200, url

    page = staff_client.get(CONTRACTS).content.decode()
    assert "BTC-27MAR99-60000-C-USDT" in page and "2099-03-27 08:00 (" in page
    assert "2025-12-26 08:00 (expired)" in page
    # Listed fields are read-only; contracts are neither added nor deleted here.
    change = staff_client.get(f"{CONTRACTS}{contract(BTC[0]).pk}/change/")
    assert list(change.context["adminform"].form.fields) == ["is_active"]
    assert staff_client.get(f"{CONTRACTS}add/").status_code == 403
    underlyings = staff_client.get(UNDERLYINGS).context["cl"].result_list
    assert {u.base_coin: u.active_contracts for u in underlyings} == {
        "BTC": 4,
        "ETH": 2,
    }


@pytest.mark.django_db
def test_filters_and_search_find_contracts(staff_client, universe):
    btc = Underlying.objects.get(base_coin="BTC")
    OptionContract.objects.filter(symbol=ETH[1]).update(is_active=False)

    def find(**params) -> list[str]:
        return shown(staff_client.get(CONTRACTS, params))

    assert len(find()) == 6
    assert find(underlying__id__exact=btc.pk) == [f"bybit {s}" for s in BTC]
    assert find(option_type__exact="P") == [f"bybit {s}" for s in (ETH[1], *BTC[1::2])]
    assert find(is_active__exact="0") == [f"bybit {ETH[1]}"]
    assert find(expiry="2099-03-27") == [f"bybit {s}" for s in BTC]
    assert find(expiry="expired") == [f"bybit {s}" for s in ETH]
    assert find(q="70000-c") == [f"bybit {BTC[2]}"]


@pytest.mark.django_db
def test_bulk_actions_switch_contracts_and_tell_the_feed(
    staff_client, universe, announcements, django_capture_on_commit_callbacks
):
    ids = [contract(s).pk for s in BTC[:2]]
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            CONTRACTS, {"action": "disable", "_selected_action": ids}, follow=True
        )
    assert "2 option contracts disabled" in response.content.decode()
    assert not contract(BTC[0]).is_active and not contract(BTC[1]).is_active
    assert announcements() == ["admin"]

    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(CONTRACTS, {"action": "enable", "_selected_action": ids})
    assert contract(BTC[0]).is_active and contract(BTC[1]).is_active
    assert announcements() == ["admin"]

    # Enabling what is already enabled changes nothing: no message to the feed.
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(CONTRACTS, {"action": "enable", "_selected_action": ids})
    assert announcements() == []


@pytest.mark.django_db
def test_switching_an_underlying_tells_the_feed(
    staff_client, universe, announcements, django_capture_on_commit_callbacks
):
    eth = Underlying.objects.get(base_coin="ETH")
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(
            UNDERLYINGS, {"action": "disable", "_selected_action": [eth.pk]}
        )
    eth.refresh_from_db()
    assert not eth.enabled and announcements() == ["admin"]

    # The change form: only `enabled` is editable, and saving it announces too.
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            f"{UNDERLYINGS}{eth.pk}/change/", {"enabled": "on"}
        )
    assert response.status_code == 302
    eth.refresh_from_db()
    assert eth.enabled and eth.base_coin == "ETH" and announcements() == ["admin"]


@pytest.mark.django_db
def test_the_tick_column_shows_what_redis_holds(staff_client, universe):
    now = int(time.time() * 1000)
    universe.hset(keys.tick("bybit", BTC[0]), mapping={"recv_ts": now - 2000})
    universe.hset(keys.tick("bybit", BTC[1]), mapping={"recv_ts": now - 600_000})
    universe.hset(keys.tick("bybit", BTC[2]), mapping={"ts": now})  # no recv_ts

    page = staff_client.get(CONTRACTS)
    ticks = {
        str(obj): page.context["cl"].model_admin.tick(obj)
        for obj in page.context["cl"].result_list
    }

    assert ticks[f"bybit {BTC[0]}"] == "fresh (2 s ago)"
    assert ticks[f"bybit {BTC[1]}"] == "stale (10 min ago)"
    assert ticks[f"bybit {BTC[2]}"].startswith("fresh (")
    assert ticks[f"bybit {BTC[3]}"] == "none"
    assert "fresh (2 s ago)" in page.content.decode()


@pytest.mark.django_db
def test_the_contract_list_works_while_redis_is_down(staff_client, universe, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    response = staff_client.get(CONTRACTS)
    assert response.status_code == 200
    assert "Redis down" in response.content.decode()


@pytest.mark.django_db
def test_a_failed_refresh_shows_on_the_underlying_list(staff_client, universe):
    store.record_refresh(universe, "bybit", "", "BTC: bybit: HTTP 500")
    response = staff_client.get(UNDERLYINGS, follow=True)
    assert "The last symbol refresh of bybit failed: BTC: bybit: HTTP 500" in (
        response.content.decode()
    )


@pytest.mark.django_db
def test_adding_an_underlying_checks_the_exchange(
    staff_client, settings, make_simulator
):
    sim = make_simulator(contracts=60, rate=10)
    settings.BYBIT_REST_URL = sim.rest_url

    # A coin the exchange lists options for is saved (normalised).
    response = staff_client.post(
        f"{UNDERLYINGS}add/",
        {"exchange": "bybit", "base_coin": " sol ", "enabled": "on"},
    )
    assert response.status_code == 302
    assert Underlying.objects.filter(exchange="bybit", base_coin="SOL").exists()

    # One it does not is refused, saying why.
    response = staff_client.post(
        f"{UNDERLYINGS}add/", {"exchange": "bybit", "base_coin": "XRP", "enabled": "on"}
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "base_coin": ["bybit lists no options for XRP."]
    }
    assert not Underlying.objects.filter(base_coin="XRP").exists()

    # Neither are coins of an exchange the tracker has no adapter for.
    response = staff_client.post(
        f"{UNDERLYINGS}add/", {"exchange": "okx", "base_coin": "BTC", "enabled": "on"}
    )
    assert (
        "unknown exchange 'okx'"
        in response.context["adminform"].form.errors["exchange"][0]
    )


@pytest.mark.django_db
def test_adding_an_underlying_while_the_exchange_is_down_is_refused(
    staff_client, settings
):
    settings.BYBIT_REST_URL = f"http://127.0.0.1:{free_port()}"
    response = staff_client.post(
        f"{UNDERLYINGS}add/", {"exchange": "bybit", "base_coin": "BTC", "enabled": "on"}
    )
    errors = response.context["adminform"].form.non_field_errors()
    assert errors[0].startswith(
        "Could not check BTC against bybit, so it was not added"
    )
    assert "ConnectError" in errors[0]
    assert not Underlying.objects.exists()
