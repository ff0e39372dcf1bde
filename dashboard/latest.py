"""Values every socket of a process shares (the feed's status, a chain's analytics):
each computed at most once an interval, whatever the number of sockets, and never
waited for once one exists.

A socket asks for the value when its message is due; the first that asks after the
interval starts a new computation, and every socket gets the latest finished one at
once. So no page's message waits on Redis or on a computation, except the very first
of its kind in the process.
"""

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable, Hashable

KEPT = 256  # values kept per process; beyond, the cache starts over (nobody watches)


class Latest:
    __slots__ = ("started", "task", "value", "done")

    def __init__(self):
        self.started = float("-inf")
        self.task: asyncio.Future | None = None
        self.value = None
        self.done = False  # a computation has finished: `value` holds its result


_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # loop -> {key: Latest}


async def latest(key: Hashable, every: float, compute: Callable[[], Awaitable]):
    """The latest finished result of `compute()` under this key; starts a new one
    when the last started `every` seconds ago or more. `compute` handles its own
    errors: what it returns is the value."""
    cache = _cache.setdefault(asyncio.get_running_loop(), {})
    entry = cache.get(key)
    if entry is None:
        if len(cache) >= KEPT:
            cache.clear()
        entry = cache[key] = Latest()
    if entry.task is not None and entry.task.done():
        entry.value, entry.done, entry.task = entry.task.result(), True, None
    if entry.task is None and time.monotonic() - entry.started >= every:
        entry.started = time.monotonic()
        entry.task = asyncio.ensure_future(compute())
    if not entry.done:
        return await asyncio.shield(entry.task)
    return entry.value
