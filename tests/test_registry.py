"""The exchange registry: one name, one adapter, both the stream and the listing."""

from dataclasses import replace

import pytest

from feed.exchanges import EXCHANGES, adapter
from feed.exchanges.bybit.listing import BybitListing
from feed.exchanges.bybit.stream import BybitStream
from feed.refresh import base_coin_exists, refresh_universe
from options.models import OptionContract, Underlying
from tests.test_universe import FakeListing, instrument

PAPER = ["BTC-27MAR99-1000-C-USDT", "BTC-27MAR99-1000-P-USDT"]


class Paper:
    """An exchange added the documented way: an adapter class and a registry line."""

    name = "paper"

    def stream(self):
        raise AssertionError("the refresh and the admin never open a stream")

    def listing(self, **options):
        return PaperListing({"BTC": PAPER})


class PaperListing(FakeListing):
    def fetch(self, base_coin: str):
        listed = self.listings.get(base_coin, [])
        return [replace(instrument(s), exchange="paper") for s in listed]

    def base_coin_exists(self, base_coin: str) -> bool:
        return base_coin in self.listings


def test_it_builds_both_halves_of_bybit_from_settings(settings):
    settings.BYBIT_WS_URL = "ws://127.0.0.1:1/v5/public/option"
    settings.BYBIT_REST_URL = "http://127.0.0.1:1/"
    bybit = adapter("bybit")

    stream = bybit.stream()
    assert isinstance(stream, BybitStream) and stream.name == bybit.name == "bybit"
    assert stream.ws_url() == settings.BYBIT_WS_URL
    with bybit.listing(max_retries=1, timeout=2.0) as listing:
        assert isinstance(listing, BybitListing)
        assert listing.rest_url == "http://127.0.0.1:1"
        assert (listing.max_retries, listing.timeout) == (1, 2.0)


def test_an_unknown_exchange_is_refused_with_the_known_names():
    with pytest.raises(ValueError, match="unknown exchange 'okx'; known: bybit"):
        adapter("okx")


@pytest.mark.django_db
def test_a_new_exchange_needs_only_its_registry_line(monkeypatch, settings):
    monkeypatch.setitem(EXCHANGES, "paper", "tests.test_registry.Paper")
    settings.TRACKER_UNDERLYINGS = ["BTC"]

    # The refresh and the admin's base-coin check find it by name alone.
    report = refresh_universe("paper")
    assert report.bases == ["BTC"] and report.added == PAPER
    assert Underlying.objects.get().exchange == "paper"
    assert OptionContract.objects.filter(exchange="paper").count() == 2
    assert base_coin_exists("BTC", "paper") and not base_coin_exists("ETH", "paper")
