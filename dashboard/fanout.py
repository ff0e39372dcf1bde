"""One chain's live updates in this process, shared by every socket of the chain.

The feed publishes a chain's changed rows after every flush (options.live) and every
socket of the chain receives each event through the channel layer. A socket sends its
page at most 10 messages a second, so between two messages of a page several events
may arrive, and a page that lags (dashboard.consumers) misses more. Merging them per
socket cost every socket the work of every event, and made every socket build its own
JSON. Here each event is applied once per process, to a ChainBook: the latest row of
every contract with the version at which it changed. A socket keeps only the version
it last sent; what its next message carries is `rows_since(version)`, the same dict
(and so the same JSON, chain.rows_json) for every socket that last sent at that
version, which is all of them while the pages keep up.

Memory is bounded by the chain: one row per contract, the last EVENTS_KEPT events, and
a few merged dicts for the current version. A page that stops reading costs a number.
"""

import asyncio
import weakref
from collections import deque

from dashboard.chain import forget_rows, narrow

EVENTS_KEPT = 8  # about 0.8 s of events: merges for pages that lag by less
MERGES_KEPT = 8  # merged dicts kept for the current version (sockets mostly share one)
AT_KEPT = 64  # `at` of recent events: each is applied once, whoever receives it


class ChainBook:
    def __init__(self):
        self.version = 0  # number of events applied
        self.latest: dict[str, tuple[int, dict]] = {}  # symbol -> (version, row)
        self.events: deque[tuple[int, dict]] = deque(maxlen=EVENTS_KEPT)
        # Symbols seen for the first time, so that a socket whose snapshot lacks one
        # resyncs (a new listing brings its strike): (index_version, symbols).
        self.index_version = 0
        self.learned: deque[tuple[int, frozenset]] = deque(maxlen=EVENTS_KEPT)
        self.viewers = 0
        self._known: set[str] = set()
        self._applied: dict[int, None] = {}  # recent `at`s, oldest first
        self._merges: dict[int, dict] = {}  # from-version -> rows, for this version

    def apply(self, event: dict) -> bool:
        """Apply a feed event once, however many sockets hand it over; False when it
        was applied already. Rows are narrowed to the page's fields here, once."""
        at = event.get("at")
        if at in self._applied:
            return False
        self._applied[at] = None
        if len(self._applied) > AT_KEPT:
            del self._applied[next(iter(self._applied))]
        rows = {symbol: narrow(row) for symbol, row in event["rows"].items()}
        if not rows:
            return False
        self.version += 1
        version = self.version
        latest = self.latest
        for symbol, row in rows.items():
            latest[symbol] = (version, row)
        self.events.append((version, rows))
        self._merges.clear()
        self._learn(rows.keys())
        return True

    def _learn(self, symbols) -> None:
        new = symbols - self._known
        if new:
            self._known |= new
            self.index_version += 1
            self.learned.append((self.index_version, frozenset(new)))

    def learned_since(self, index_version: int) -> set[str] | None:
        """Symbols first seen after that index version; None when the book no longer
        knows (the caller resyncs to be safe)."""
        if index_version >= self.index_version:
            return set()
        if not self.learned or self.learned[0][0] > index_version + 1:
            return None
        out: set[str] = set()
        for version, symbols in self.learned:
            if version > index_version:
                out |= symbols
        return out

    def rows_since(self, version: int) -> dict[str, dict]:
        """The latest row of every contract that changed after `version`. Shared and
        read-only: every socket that last sent at that version gets this very dict."""
        if version >= self.version:
            return {}
        merged = self._merges.get(version)
        if merged is None:
            merged = self._merge(version)
            if len(self._merges) >= MERGES_KEPT:
                del self._merges[next(iter(self._merges))]
            self._merges[version] = merged
        return merged

    def _merge(self, version: int) -> dict[str, dict]:
        events = self.events
        if events and events[0][0] <= version + 1:  # every event since is kept
            if events[-1][0] == version + 1:
                return events[-1][1]  # the common case: one event, as it came
            merged: dict[str, dict] = {}
            for event_version, rows in events:
                if event_version > version:
                    merged.update(rows)
            return merged
        return {s: row for s, (v, row) in self.latest.items() if v > version}


# One book per chain group and event loop (daphne runs one loop; tests one per test).
_books: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def join(group: str) -> ChainBook:
    """The group's book, kept while at least one socket of this process views it."""
    books = _books.setdefault(asyncio.get_running_loop(), {})
    book = books.get(group)
    if book is None:
        book = books[group] = ChainBook()
    book.viewers += 1
    return book


def leave(group: str) -> None:
    books = _books.get(asyncio.get_running_loop(), {})
    book = books.get(group)
    if book is not None:
        book.viewers -= 1
        if book.viewers <= 0:
            del books[group]
            if not books:
                forget_rows()
