"""api.coalesce: concurrent identical reads share an execution that starts after each
of them arrived."""

import asyncio

import pytest

from api.coalesce import Coalescer


class Source:
    """A value that changes with every write; each read returns it after a gate."""

    def __init__(self):
        self.value = 0
        self.reads = 0
        self.gate = asyncio.Event()

    async def read(self):
        self.reads += 1
        seen = self.value
        await self.gate.wait()
        return seen


async def settle():
    for _ in range(5):
        await asyncio.sleep(0)


async def test_requests_during_a_read_share_the_next_read_not_the_running_one():
    source, coalescer = Source(), Coalescer()
    first = asyncio.create_task(coalescer.run("chain", source.read))
    await settle()
    assert source.reads == 1
    source.value = 1  # a write lands while the first read runs
    later = [
        asyncio.create_task(coalescer.run("chain", source.read)) for _ in range(20)
    ]
    await settle()
    assert source.reads == 1  # they wait for the running read to end
    source.gate.set()
    assert await first == 0
    # One more read for all twenty, and it sees the write made before they came.
    assert await asyncio.gather(*later) == [1] * 20
    assert source.reads == 2


async def test_different_keys_never_share():
    source, coalescer = Source(), Coalescer()
    source.gate.set()
    results = await asyncio.gather(
        coalescer.run("a", source.read), coalescer.run("b", source.read)
    )
    assert results == [0, 0] and source.reads == 2


async def test_a_failure_reaches_every_waiter_and_the_next_call_reads_again():
    coalescer, calls = Coalescer(), []

    async def failing():
        calls.append(1)
        await asyncio.sleep(0.01)
        raise ConnectionError("Redis went away")

    waiters = [asyncio.create_task(coalescer.run("k", failing)) for _ in range(5)]
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results) and len(calls) == 1

    async def working():
        return "ok"

    assert await coalescer.run("k", working) == "ok"


async def test_a_request_that_goes_away_does_not_cancel_the_others():
    source, coalescer = Source(), Coalescer()
    leaving = asyncio.create_task(coalescer.run("k", source.read))
    staying = asyncio.create_task(coalescer.run("k", source.read))
    await settle()
    leaving.cancel()
    source.gate.set()
    assert await staying == 0
    with pytest.raises(asyncio.CancelledError):
        await leaving
