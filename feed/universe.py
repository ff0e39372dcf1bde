"""What changed between two versions of the feed's universe."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from options.instruments import Instrument


@dataclass
class UniverseChange:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    removed_instruments: list[Instrument] = field(default_factory=list)

    @classmethod
    def between(
        cls, current: Mapping[str, Instrument], new: Sequence[Instrument]
    ) -> "UniverseChange":
        new_symbols = {i.symbol for i in new}
        gone = [i for s, i in current.items() if s not in new_symbols]
        return cls(
            added=sorted(s for s in new_symbols if s not in current),
            removed=sorted(i.symbol for i in gone),
            removed_instruments=gone,
        )

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)

    def __str__(self) -> str:
        return f"{len(self.added)} contract(s) added, {len(self.removed)} removed"
