"""Per-contract conflation: the newest frame of every contract, and at each flush only
the fields that changed since the last write.

Frames arrive far faster than Redis needs them (every contract every 100 ms, and in
bursts), so the per-message path only files the newest values under their symbol. The
comparison with what Redis already holds happens once per contract per flush. Values
are kept joined into one string per contract (about 250 bytes, where the parsed dict
of 25 strings takes 2.7 KB), so memory stays bounded by the number of contracts,
whatever the message rate and however long Redis stays away.

Every value is checked against its field's kind (options.fields) where it is
compared, at flush time, when its contract's values changed: one regular expression
over the joined row, and value by value only when that fails. A bad value is counted
by field and left out, the contract keeps its last good value, the other fields go
out. Checking there rather than per message costs less (at full rate a contract's
frames outnumber its flushes several times over; README, "Exchange values checked").
"""

from collections.abc import Iterable, Iterator
from operator import itemgetter

from options.fields import CHECKS, row_check

SEP = "\x1f"  # joins the values last written; a value containing it is malformed
NOT_TEXT = "\x00"  # stands for a value that is not a string: refused at flush


class Conflator:
    def __init__(self, field_map: dict[str, str], store_fields: Iterable[str]):
        wanted = set(store_fields)
        self.wire_fields = tuple(k for k, v in field_map.items() if v in wanted)
        self.store_fields = tuple(field_map[k] for k in self.wire_fields)
        if len(self.wire_fields) < 2:
            raise ValueError("a field profile needs at least two exchange fields")
        self._values = itemgetter(*self.wire_fields)
        self.write_ts = "ts" in wanted
        self.write_recv_ts = "recv_ts" in wanted
        self.written: dict[str, str | None] = {}  # symbol -> joined values, or None
        self.stamps: dict[str, tuple[int, int]] = {}  # symbol -> (ts, recv_ts) written
        self.pending: dict[str, tuple[str, int, int]] = {}  # newest values per symbol
        self.malformed = 0  # frames refused at flush time (a value held SEP)
        self.invalid: dict[str, int] = {}  # store field -> values refused at flush
        self.last_invalid: tuple[str, str, str] | None = None  # symbol, field, value
        self._checks = {f: CHECKS[f] for f in self.store_fields}
        self._row_ok = row_check(self.store_fields, SEP)
        self._position = {f: i for i, f in enumerate(self.store_fields)}

    def track(self, symbols: Iterable[str]) -> None:
        for symbol in symbols:
            self.written.setdefault(symbol, None)

    def untrack(self, symbols: Iterable[str]) -> None:
        for symbol in symbols:
            self.written.pop(symbol, None)
            self.stamps.pop(symbol, None)
            self.pending.pop(symbol, None)

    def accept(self, symbol: str, ts: int, data: dict, recv_ts: int) -> bool:
        """File a snapshot; False for a symbol this feed does not track.

        Only the profile's values are kept, joined into one string: the parsed frame
        is garbage as soon as this returns."""
        if symbol not in self.written:
            return False
        try:
            self.pending[symbol] = (SEP.join(self._values(data)), ts, recv_ts)
        except KeyError:  # a field is missing: it keeps its previous value
            return self.accept_delta(symbol, ts, data, recv_ts)
        except TypeError:  # a value that is not a string: refused at flush
            values = (v if v.__class__ is str else NOT_TEXT for v in self._values(data))
            self.pending[symbol] = (SEP.join(values), ts, recv_ts)
        return True

    def accept_delta(self, symbol: str, ts: int, data: dict, recv_ts: int) -> bool:
        """File a delta: fields it lacks keep their previous values."""
        if symbol not in self.written:
            return False
        previous = self.pending.get(symbol)
        joined = previous[0] if previous else self.written[symbol]
        old = joined.split(SEP) if joined else [""] * len(self.wire_fields)
        values = [
            data.get(name, old_value)
            for name, old_value in zip(self.wire_fields, old, strict=True)
        ]
        values = [v if v.__class__ is str else NOT_TEXT for v in values]
        self.pending[symbol] = (SEP.join(values), ts, recv_ts)
        return True

    def live_count(self) -> int:
        return sum(1 for joined in self.written.values() if joined is not None)

    def take_pending(self) -> dict[str, tuple[str, int, int]]:
        """The newest values filed since the last call; frames arriving meanwhile go
        to a fresh pending set."""
        pending, self.pending = self.pending, {}
        return pending

    def changes(self, items: Iterable[tuple[str, tuple[str, int, int]]]) -> dict:
        """The changed store fields of these pending items; records them as written."""
        out = {}
        for symbol, (joined, ts, recv_ts) in items:
            if symbol not in self.written:  # untracked meanwhile
                continue
            row = self._changes(symbol, joined)
            if row is None:
                self.malformed += 1
                continue
            self.stamps[symbol] = (ts, recv_ts)
            self._add_stamps(row, ts, recv_ts)
            out[symbol] = row
        return out

    def take(self) -> dict[str, dict[str, str]]:
        """The changed store fields of every contract with new values."""
        return self.changes(self.take_pending().items())

    def take_all(self, chunk: int = 256) -> Iterator[dict[str, dict[str, str]]]:
        """Every field of every contract with data, `chunk` contracts at a time: a
        rewrite after Redis lost its state."""
        self.take()
        symbols = [s for s, joined in self.written.items() if joined is not None]
        for start in range(0, len(symbols), chunk):
            rows = (
                (symbol, self.row(symbol)) for symbol in symbols[start : start + chunk]
            )
            yield {symbol: row for symbol, row in rows if row}

    def row(self, symbol: str) -> dict[str, str]:
        """The full latest written row of one contract ({} before its first write)."""
        joined = self.written.get(symbol)
        if joined is None:
            return {}
        values = joined.split(SEP)
        row = {f: v for f, v in zip(self.store_fields, values, strict=True) if v}
        self._add_stamps(row, *self.stamps[symbol])
        return row

    def _changes(self, symbol: str, joined: str) -> dict[str, str] | None:
        """Store fields whose value differs from the last write and is valid; None
        if malformed. "" in `written` stands for a field never written."""
        previous = self.written[symbol]
        if joined == previous:
            return {}
        values = joined.split(SEP)
        if len(values) != len(self.store_fields):
            return None  # a value held the separator
        old = previous.split(SEP) if previous is not None else None
        if old is None:
            row = dict(zip(self.store_fields, values, strict=True))
        else:
            row = {
                f: v
                for f, v, o in zip(self.store_fields, values, old, strict=True)
                if v != o
            }
        if self._row_ok(joined) is None:  # one value at least is bad: which?
            checks = self._checks
            refused = [f for f, v in row.items() if not checks[f](v)]
            self._refuse(symbol, row, refused, values, old)
            joined = SEP.join(values)
        self.written[symbol] = joined
        return row

    def _refuse(self, symbol, row, refused, values, old) -> None:
        """Count and drop refused values; the last good ones stay in `values`."""
        for field in refused:
            self.invalid[field] = self.invalid.get(field, 0) + 1
            self.last_invalid = (symbol, field, row.pop(field))
            i = self._position[field]
            values[i] = old[i] if old is not None else ""

    def _add_stamps(self, row: dict, ts: int, recv_ts: int) -> None:
        if self.write_ts:
            row["ts"] = str(ts)
        if self.write_recv_ts:
            row["recv_ts"] = str(recv_ts)
