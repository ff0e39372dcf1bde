"""Identical concurrent reads share one execution, and never an older one.

Fifty clients polling one chain each paid for the Redis read, the shaping and the
JSON of ~120 KB. Here a request that finds the same read already running does not
join it (it started before the request arrived, so it could miss a write the request
should see): it waits for the next execution, which starts once the running one ends
and serves every request that queued meanwhile. Each response reflects Redis as of
after its request arrived, as its own read would; a burst of fifty costs two reads.
"""

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Hashable
from typing import TypeVar

T = TypeVar("T")


class Coalescer:
    """Per event loop: tasks belong to the loop that made them."""

    def __init__(self) -> None:
        self._running: dict[Hashable, asyncio.Task] = {}
        self._queued: dict[Hashable, asyncio.Task] = {}

    async def run(self, key: Hashable, make: Callable[[], Awaitable[T]]) -> T:
        """make()'s result, from an execution that starts after this call."""
        task = self._queued.get(key)
        if task is None:
            task = asyncio.ensure_future(
                self._execute(key, make, self._running.get(key))
            )
            task.add_done_callback(_seen)
            self._queued[key] = task
        # A request that goes away does not cancel the others' execution.
        return await asyncio.shield(task)

    async def _execute(self, key, make, before: asyncio.Task | None):
        if before is not None:
            await asyncio.wait([before])
        me = self._queued.pop(key)  # later requests queue behind this execution
        self._running[key] = me
        try:
            return await make()
        finally:
            if self._running.get(key) is me:
                del self._running[key]


def _seen(task: asyncio.Task) -> None:
    """Marks the outcome as retrieved: when every waiter went away, nobody else will."""
    if not task.cancelled():
        task.exception()


_by_loop: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def coalescer() -> Coalescer:
    """The running loop's Coalescer."""
    loop = asyncio.get_running_loop()
    found = _by_loop.get(loop)
    if found is None:
        found = _by_loop[loop] = Coalescer()
    return found
