"""Market alert rules as the feed evaluates them: a rule's terms, the rule set as
Redis holds it, and a rule's state on one contract. No Django here: the feed reads
the rule set (alerts.evaluate); the web side writes it from the models
(alerts.ruleset), a benchmark without them.

Conditions (docs/alert-rules.md):
- `above` / `below`: the new value is strictly above / below `value`; while it
  stays there the rule fires again once each cooldown has passed;
- `crosses`: the value moved from one side of `value` to the other (or onto it);
- `change_pct`: the value moved by at least `value` percent, up or down, from the
  value it had `window_s` seconds ago.
A firing starts the rule's cooldown on that contract: nothing fires again there
before `cooldown_s` has passed.
"""

import json
import math
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from options import keys

# The store's fields a rule may watch (options.fields names).
FIELDS = ("mark", "mark_iv", "bid_iv", "ask_iv", "delta", "oi", "underlying")
CONDITIONS = ("above", "below", "crosses", "change_pct")
# change_pct keeps at most this many samples per contract, whatever the tick rate.
WINDOW_SAMPLES = 120


@dataclass(frozen=True, slots=True)
class Rule:
    """One enabled rule, as stored in the rule set (to_dict / from_dict)."""

    id: int
    field: str
    condition: str
    value: float
    cooldown_s: float
    window_s: float | None = None
    symbol: str | None = None  # one contract, or every contract of base + expiry
    base: str | None = None
    expiry: str | None = None  # YYYY-MM-DD, as in the Redis keys
    notify_urls: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: dict) -> "Rule":
        """ValueError names what is wrong with a malformed entry."""
        rule = cls(**{**data, "notify_urls": tuple(data.get("notify_urls") or ())})
        numbers = (rule.value, rule.cooldown_s, rule.window_s or 0)
        if not all(_is_number(n) for n in numbers) or not _is_number(rule.id):
            raise ValueError(f"rule {rule.id!r}: id, value, cooldown_s and window_s "
                             "must be numbers")  # fmt: skip
        texts = (rule.symbol, rule.base, rule.expiry, *rule.notify_urls)
        if not all(t is None or isinstance(t, str) for t in texts):
            raise ValueError(f"rule {rule.id}: names and URLs must be strings")
        if rule.field not in FIELDS or rule.condition not in CONDITIONS:
            raise ValueError(f"rule {rule.id}: unknown field or condition")
        if not rule.symbol and not (rule.base and rule.expiry):
            raise ValueError(f"rule {rule.id}: needs a symbol, or a base and expiry")
        if rule.condition == "change_pct" and not rule.window_s:
            raise ValueError(f"rule {rule.id}: change_pct needs window_s")
        return rule

    def to_dict(self) -> dict:
        return {**asdict(self), "notify_urls": list(self.notify_urls)}

    def applies_to(self, symbol: str, base: str, expiry: str) -> bool:
        if self.symbol:
            return self.symbol == symbol
        return self.base == base and self.expiry == expiry

    def describe(self) -> str:
        """`mark above 1200`, `mark_iv change_pct 5 in 300 s`."""
        text = f"{self.field} {self.condition} {number(self.value)}"
        if self.condition == "change_pct":
            text += f" in {number(self.window_s)} s"
        return text


def rule_set_json(rules: Iterable[Rule]) -> str:
    """The rule set as Redis holds it (`rules` of keys.alert_rules)."""
    return json.dumps([rule.to_dict() for rule in rules], separators=(",", ":"))


def write_rule_set(client, exchange: str, payload: str) -> str:
    """Write a rule set (rule_set_json) with a new version and announce it (sync
    client); returns the version: nanoseconds, unique even after Redis restarted
    empty, so a feed never takes a new set for the one it has."""
    version = str(time.time_ns())
    pipe = client.pipeline(transaction=True)
    pipe.hset(
        keys.alert_rules(exchange), mapping={"rules": payload, "version": version}
    )
    pipe.publish(keys.alert_rules_channel(exchange), version)
    pipe.execute()
    return version


class Watch:
    """A rule's state on one contract: the last value (crosses), the samples of the
    window (change_pct) and when it last fired (cooldown)."""

    __slots__ = ("last", "fired_at", "samples")

    def __init__(self):
        self.last: float | None = None
        self.fired_at = -math.inf
        self.samples: deque[list[float]] = deque()  # [time, value], oldest first

    def check(self, rule: Rule, value: float, now: float) -> str | None:
        """What happened when the value is new ("above 1200"), or None; a firing
        within the cooldown is None too. Records the value either way."""
        condition, threshold = rule.condition, rule.value
        if condition == "above":
            what = f"above {number(threshold)}" if value > threshold else None
        elif condition == "below":
            what = f"below {number(threshold)}" if value < threshold else None
        elif condition == "crosses":
            what = self._cross(threshold, value)
        else:
            what = self._change(rule, value, now)
        self.last = value
        if what is None or now - self.fired_at < rule.cooldown_s:
            return None
        self.fired_at = now
        return what

    def _cross(self, threshold: float, value: float) -> str | None:
        last = self.last
        if last is None:
            return None
        if last < threshold <= value or last > threshold >= value:
            return f"crossed {number(threshold)} (from {number(last)})"
        return None

    def _change(self, rule: Rule, value: float, now: float) -> str | None:
        """The move from the value in effect `window_s` ago."""
        samples, window = self.samples, rule.window_s
        start = now - window
        while len(samples) > 1 and samples[1][0] <= start:
            samples.popleft()
        reference = samples[0][1] if samples else None
        if samples and now - samples[-1][0] < window / WINDOW_SAMPLES:
            samples[-1][1] = value  # one sample per slice of the window
        else:
            samples.append([now, value])
        if not reference:  # no history yet, or a zero price: no percentage
            return None
        change = (value - reference) / abs(reference) * 100
        if abs(change) < rule.value:
            return None
        return (
            f"changed {change:+.2f} % in {number(window)} s (from {number(reference)})"
        )


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def number(value: float) -> str:
    """1200 rather than 1200.0; up to 10 significant digits."""
    return f"{value:.10g}"
