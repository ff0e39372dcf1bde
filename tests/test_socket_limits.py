"""Live-update sockets are bounded per client address (WS_MAX_PER_CLIENT) and in all
(WS_MAX_TOTAL), against a real daphne: the socket over a limit is accepted and
closed at once with the limit's close code (dashboard.guards)."""

import asyncio
import contextlib

import pytest
import websockets

from dashboard.guards import SERVER_FULL, TOO_MANY_FROM_CLIENT
from tests.test_hostile_requests import EXPIRY

PATH = f"/ws/chain/bybit/BTC/{EXPIRY}/"


@pytest.fixture(scope="module")
def web(start_web, hostile_store):
    server = start_web(
        "sockets", hostile_store.url, WS_MAX_PER_CLIENT="20", WS_MAX_TOTAL="30"
    )
    yield server
    server.kill()


async def open_socket(web, stack: contextlib.AsyncExitStack, source="127.0.0.1"):
    """A chain socket from `source` (any 127.0.0.0/8 address is this host): its
    first message, or the close code that refused it."""
    ws = await stack.enter_async_context(
        websockets.connect(
            f"ws://127.0.0.1:{web.port}{PATH}",
            origin=web.url,
            local_addr=(source, 0),
            open_timeout=10,
        )  # fmt: skip
    )
    try:
        message = await asyncio.wait_for(ws.recv(), 10)
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code
    return "snapshot" if '"type":"snapshot"' in message else message


async def sockets_from(web, counts: dict[str, int]) -> dict[str, list]:
    """Open counts[source] sockets from each source address, one after another;
    what each got. All stay open until every one has been tried."""
    async with contextlib.AsyncExitStack() as stack:
        got = {source: [] for source in counts}
        for source, count in counts.items():
            for _ in range(count):
                got[source].append(await open_socket(web, stack, source))
        return got


def test_the_21st_socket_from_one_address_is_refused(web):
    got = asyncio.run(sockets_from(web, {"127.0.0.1": 21, "127.0.0.2": 1}))
    assert got["127.0.0.1"][:20] == ["snapshot"] * 20
    assert got["127.0.0.1"][20] == TOO_MANY_FROM_CLIENT == 4429
    # Another address is not affected.
    assert got["127.0.0.2"] == ["snapshot"]


def test_closed_sockets_free_their_places(web):
    for _ in range(2):  # the previous round's 20 are gone: 20 more fit
        got = asyncio.run(sockets_from(web, {"127.0.0.1": 20}))
        assert got["127.0.0.1"] == ["snapshot"] * 20


def test_the_total_limit_refuses_sockets_from_any_address(web):
    counts = {"127.0.0.3": 20, "127.0.0.4": 10, "127.0.0.5": 1}
    got = asyncio.run(sockets_from(web, counts))
    assert got["127.0.0.3"] == ["snapshot"] * 20
    assert got["127.0.0.4"] == ["snapshot"] * 10
    assert got["127.0.0.5"] == [SERVER_FULL] == [4430]
