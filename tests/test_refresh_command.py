"""`manage.py refresh_symbols` takes the scheduled refresh's path: the lock, the
roll-off, the record in Redis and the message to a running feed.

The exchange is a stand-in listing (the registry's Bybit entry patched); Redis is the
private one. A running feed acting on the message: tests/test_resubscribe.py.
"""

import threading
import time
from io import StringIO

import pytest
import redis
from django.core.management import CommandError, call_command

from devtools.processes import free_port
from feed.refresh import FAILED_EXIT
from options import keys, store
from options.models import OptionContract, Underlying
from tests.test_universe import fake_registry  # noqa: F401 (a fixture)

BTC = [f"BTC-27MAR99-{k}-{t}-USDT" for k in (60000, 70000, 80000) for t in "CP"]
ETH = ["ETH-27MAR99-2000-C-USDT", "ETH-27MAR99-2000-P-USDT"]
EXPIRED = "BTC-3JAN20-150-C-USDT"  # listed as `Delivering` after its expiry


@pytest.fixture
def exchange(fake_registry):  # noqa: F811 (the imported fixture)
    """The stand-in listing behind the registry's `bybit`: contracts that expire long
    after the test; change it to list more."""
    fake_registry.listings = {"BTC": list(BTC), "ETH": list(ETH)}
    return fake_registry


@pytest.fixture
def redis_client(redis_url):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


def refresh(*args: str) -> str:
    out = StringIO()
    call_command("refresh_symbols", *args, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


@pytest.mark.django_db
def test_it_tells_the_feed_and_records_the_outcome(
    exchange, redis_client, announcements
):
    printed = refresh()

    # The report is printed as before, recorded, and announced to running feeds.
    assert printed.startswith("bybit [BTC, ETH]: 8 listed, 8 added")
    recorded = store.read_refresh(redis_client, "bybit")
    assert recorded["state"] == "ok" and recorded["last_report"] == printed
    assert announcements() == ["refresh"]

    # Nothing changed: recorded again, nothing to tell.
    assert refresh().endswith("0 updated, 8 unchanged")
    assert int(store.read_refresh(redis_client, "bybit")["last_ok_ts"]) >= int(
        recorded["last_ok_ts"]
    )
    assert announcements() == []
    assert not redis_client.exists(keys.refresh_lock("bybit"))  # released


@pytest.mark.django_db
def test_a_failing_coin_is_recorded_and_the_others_are_synced(exchange, redis_client):
    exchange.broken = {"ETH": "bybit: HTTP 500 (after 5 retries)"}

    printed = refresh()  # one coin failing is not fatal: exit status 0

    assert "FAILED ETH: bybit: HTTP 500" in printed
    assert OptionContract.objects.filter(underlying__base_coin="BTC").count() == 6
    recorded = store.read_refresh(redis_client, "bybit")
    assert recorded["state"] == "failed" and recorded["failures"] == "1"
    assert recorded["last_error"] == "ETH: bybit: HTTP 500 (after 5 retries)"


@pytest.mark.django_db
def test_a_scheduled_refresh_with_a_failing_coin_exits_with_status_3(
    exchange, redis_client
):
    # The Celery task runs this form in a child process and retries on status 3.
    exchange.broken = {"ETH": "bybit: HTTP 500 (after 5 retries)"}

    with pytest.raises(
        CommandError, match="refresh failed: ETH: bybit: HTTP 500"
    ) as err:
        refresh("--unless-fresh", "0")

    assert err.value.returncode == FAILED_EXIT
    assert OptionContract.objects.filter(underlying__base_coin="BTC").count() == 6


@pytest.mark.django_db
def test_it_rolls_off_what_the_listing_still_shows_after_its_expiry(
    exchange, announcements
):
    exchange.listings["BTC"] = [*BTC, EXPIRED]

    assert "7 listed, 7 added" in refresh("--underlyings", "BTC")

    assert not OptionContract.objects.get(symbol=EXPIRED).is_active
    assert OptionContract.objects.active().count() == len(BTC)
    assert announcements() == ["refresh"]


@pytest.mark.django_db
def test_it_waits_for_a_refresh_in_progress_then_runs(exchange, redis_client):
    lock = redis_client.lock(keys.refresh_lock("bybit"), timeout=60, thread_local=False)
    assert lock.acquire(blocking=False)
    threading.Timer(1.0, lock.release).start()  # the other refresh ends in 1 s

    started = time.monotonic()
    printed = refresh("--lock-wait", "20")

    assert time.monotonic() - started >= 0.9
    assert "8 added" in printed and OptionContract.objects.count() == 8


@pytest.mark.django_db
def test_it_gives_up_when_another_refresh_holds_the_lock(exchange, redis_client):
    lock = redis_client.lock(keys.refresh_lock("bybit"), timeout=60, thread_local=False)
    assert lock.acquire(blocking=False)
    try:
        with pytest.raises(CommandError, match="held the lock for 0.3 s, so nothing"):
            refresh("--lock-wait", "0.3")
    finally:
        lock.release()
    assert not Underlying.objects.exists() and not OptionContract.objects.exists()
    assert "last_skip_ts" in store.read_refresh(redis_client, "bybit")


@pytest.mark.django_db
def test_it_changes_nothing_while_redis_is_down(exchange, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nobody listens

    with pytest.raises(CommandError, match="Redis does not answer .*nothing was"):
        refresh()

    assert not Underlying.objects.exists() and not OptionContract.objects.exists()


@pytest.mark.django_db
def test_an_unknown_exchange_is_refused_before_anything_is_recorded(
    exchange, redis_client
):
    with pytest.raises(CommandError, match="unknown exchange 'nope'; known: bybit"):
        refresh("--exchange", "nope")
    assert redis_client.keys("*") == []
