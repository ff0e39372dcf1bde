"""The exchange registry: name -> stream adapter, built from settings.

Adding an exchange means one entry here; the runner and the refresh service only ever
ask the registry.
"""

from django.conf import settings

EXCHANGES = ("bybit",)


def check_exchange(name: str) -> str:
    if name not in EXCHANGES:
        raise ValueError(f"unknown exchange {name!r}; known: {', '.join(EXCHANGES)}")
    return name


def stream_adapter(name: str):
    check_exchange(name)
    from feed.exchanges.bybit.stream import BybitStream

    return BybitStream(settings.BYBIT_WS_URL)
