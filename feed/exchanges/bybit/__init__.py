"""Bybit v5 options: the public option stream and the REST instrument listing."""

from feed.config import setting
from feed.exchanges.bybit.stream import BybitStream


class Bybit:
    """The registry's `bybit` entry, configured by BYBIT_WS_URL and BYBIT_REST_URL
    (feed.config: Django's settings, or the environment without Django)."""

    name = "bybit"

    def stream(self) -> BybitStream:
        return BybitStream(setting("BYBIT_WS_URL"))

    def listing(self, **options):
        """A BybitListing; imported only here, so the feed process never loads the
        HTTP client unless it refreshes."""
        from feed.exchanges.bybit.listing import BybitListing

        return BybitListing(setting("BYBIT_REST_URL"), **options)
