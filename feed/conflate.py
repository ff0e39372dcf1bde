"""Per-contract conflation: the latest state of every contract, and what changed since
the last flush.

Frames arrive far faster than Redis needs them (every contract every 100 ms), so the
feed keeps only the newest value of each field and writes just the changed fields at
each flush. Memory is bounded by the number of subscribed contracts, whatever the
message rate and however long Redis stays away.
"""
from collections.abc import Iterable

_str = str


class Conflator:
    def __init__(self, field_map: dict[str, str], store_fields: Iterable[str]):
        wanted = set(store_fields)
        # Exchange field -> store field, for the store fields of the chosen profile.
        self.field_map = {k: v for k, v in field_map.items() if v in wanted}
        self.write_ts = "ts" in wanted
        self.write_recv_ts = "recv_ts" in wanted
        self.latest: dict[str, dict] = {}  # symbol -> exchange fields, newest values
        self.stamps: dict[str, tuple[int, int]] = {}  # symbol -> (ts, recv_ts)
        self.dirty: dict[str, dict] = {}  # symbol -> changed exchange fields

    def track(self, symbols: Iterable[str]) -> None:
        for symbol in symbols:
            self.latest.setdefault(symbol, {})

    def untrack(self, symbols: Iterable[str]) -> None:
        for symbol in symbols:
            self.latest.pop(symbol, None)
            self.stamps.pop(symbol, None)
            self.dirty.pop(symbol, None)

    def apply(self, symbol: str, ts: int, data: dict, recv_ts: int) -> bool:
        """Merge one ticker; False (nothing applied) for an unknown symbol or a value
        that is not a string."""
        prev = self.latest.get(symbol)
        if prev is None:
            return False
        try:
            changed = data.items() - prev.items()
        except TypeError:  # an unhashable value: a list or an object
            return False
        if changed:
            for item in changed:
                if item[1].__class__ is not _str:
                    return False
            prev.update(changed)
            pending = self.dirty.get(symbol)
            if pending is None:
                self.dirty[symbol] = dict(changed)
            else:
                pending.update(changed)
        elif symbol not in self.dirty:
            self.dirty[symbol] = {}
        self.stamps[symbol] = (ts, recv_ts)
        return True

    def take(self) -> dict[str, dict[str, str]]:
        """The changed store fields of every dirty contract; clears the dirty set."""
        dirty, self.dirty = self.dirty, {}
        return self._to_store(dirty)

    def take_all(self) -> dict[str, dict[str, str]]:
        """Every field of every contract that has data: for a rewrite after Redis
        lost its state."""
        self.dirty = {}
        return self._to_store({s: d for s, d in self.latest.items() if d})

    def _to_store(self, dirty: dict[str, dict]) -> dict[str, dict[str, str]]:
        field_map, stamps = self.field_map, self.stamps
        out = {}
        for symbol, fields in dirty.items():
            row = {field_map[k]: v for k, v in fields.items() if k in field_map}
            stamp = stamps.get(symbol)
            if stamp:
                if self.write_ts:
                    row["ts"] = _str(stamp[0])
                if self.write_recv_ts:
                    row["recv_ts"] = _str(stamp[1])
            if row:
                out[symbol] = row
        return out
