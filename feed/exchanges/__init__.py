"""The exchange registry: a name maps to one adapter, which provides both the stream
(`run_feed`) and the listing (the refresh, the admin's base-coin check).

Adding an exchange means one adapter package and one line here; everything else only
ever asks `adapter(name)`. Adapters are imported when first asked for, so a process
loads only the exchange it serves.
"""

from importlib import import_module

from feed.exchanges.base import Exchange

EXCHANGES = {
    "bybit": "feed.exchanges.bybit.Bybit",
}


def adapter(name: str) -> Exchange:
    """The adapter registered as `name`; ValueError for a name not registered."""
    try:
        path = EXCHANGES[name]
    except KeyError:
        known = ", ".join(sorted(EXCHANGES))
        raise ValueError(f"unknown exchange {name!r}; known: {known}") from None
    module, _, attr = path.rpartition(".")
    return getattr(import_module(module), attr)()
