"""Market alert rules, evaluated in the feed against the conflated state.

At each flush the runner hands over the rows it writes (the changed fields of each
contract). Only contracts that have rules are looked at: a dict symbol -> rules,
intersected with the flush's symbols in C, so rules cost the hot path nearly
nothing. A firing is only queued there; a task of its own (`run`) notifies through
the notifier (alerts.delivery, off the hot path) and appends the firing to the
capped event stream that the web side stores as AlertEvent rows.

The rule set comes from Redis, where the web side writes it on every rule change
(alerts.ruleset): `run` reloads it when its version changes, told on a channel and
checking the version every second, so a change takes effect within about a second
without a restart. No Django here: the feed runs without it.
"""

import asyncio
import json
import logging
import math
import time
from collections import deque
from collections.abc import Mapping
from typing import NamedTuple

from redis.exceptions import RedisError

from alerts.rules import Rule, Watch, number
from options import keys
from options.instruments import Instrument

log = logging.getLogger(__name__)

CHECK_VERSION_S = 1.0
DELIVER_EVERY_S = 0.25
EVENTS_KEPT = 10_000  # the stream's cap, and the firings kept while Redis is away
LINES_PER_MESSAGE = 20  # a rule on a whole chain may fire on many contracts at once


class Firing(NamedTuple):
    rule: Rule
    symbol: str
    value: str  # as the exchange sent it
    at: float  # seconds since the epoch
    what: str  # "above 1200"

    def message(self) -> str:
        return f"{self.symbol} {self.rule.field} {self.value} {self.what}"

    def event(self) -> dict[str, str]:
        """The stream entry (alerts.ruleset.ingest_events reads it)."""
        rule = self.rule
        return {
            "rule": str(rule.id), "symbol": self.symbol, "field": rule.field,
            "value": self.value, "condition": rule.condition,
            "threshold": number(rule.value), "ts": str(int(self.at * 1000)),
            "message": self.message(),
        }  # fmt: skip


class RuleEvaluator:
    """`check(rows, instruments)` at each flush; `run()` as a task beside the feed.
    The notifier (alerts.delivery.Notifier) is run by `run()`; a rule without
    notify URLs goes to the notifier's own (NOTIFY_URLS, Telegram)."""

    def __init__(self, redis, exchange: str, notifier, latest=None):
        self.redis = redis
        # symbol -> its latest written row (Conflator.row): a new rule starts from
        # the values in force, not from the next change.
        self.latest = latest or (lambda symbol: {})
        self.exchange = exchange
        self.notifier = notifier
        self.rules: dict[int, Rule] = {}
        self.version: bytes | None = None
        self.by_symbol: dict[str, list[tuple[Rule, Watch]]] = {}
        self.watches: dict[tuple[int, str], Watch] = {}
        self.fired: list[Firing] = []
        self.unsaved: deque[dict[str, str]] = deque(maxlen=EVENTS_KEPT)
        self.evaluated = 0  # rule checks since start
        self.firings = 0
        self._universe: Mapping[str, Instrument] | None = None

    # The flush's hook ----------------------------------------------------------

    def check(self, rows: Mapping[str, Mapping[str, str]], instruments) -> None:
        """Evaluate the rules of the contracts in `rows` on their changed fields."""
        if instruments is not self._universe:
            self._index(instruments)
        if self.by_symbol:
            self._evaluate(self.by_symbol, rows)

    def _evaluate(self, by_symbol: dict, rows: Mapping[str, Mapping[str, str]]):
        """At full rate every contract changes at every flush, so this loop runs
        for every (rule, contract) pair ten times a second: it is kept flat."""
        now, isfinite, evaluated = time.time(), math.isfinite, 0
        for symbol in by_symbol.keys() & rows.keys():
            row = rows[symbol]
            for rule, watch in by_symbol[symbol]:
                raw = row.get(rule.field)
                if raw is None:
                    continue
                evaluated += 1
                try:
                    value = float(raw)
                except ValueError:
                    continue
                if isfinite(value) and (what := watch.check(rule, value, now)):
                    self.fired.append(Firing(rule, symbol, raw, now, what))
        self.evaluated += evaluated

    def _index(self, instruments: Mapping[str, Instrument]) -> None:
        """symbol -> (rule, its state there), for the rules and the universe as they
        are now; the state of a pair that was there already is kept."""
        self._universe = instruments
        old, watches, by_symbol, fresh = self.watches, {}, {}, []
        for symbol, rules in self._targets(instruments).items():
            pairs = by_symbol[symbol] = []
            for rule in rules:
                watch = old.get((rule.id, symbol))
                if watch is None:
                    watch = Watch()
                    fresh.append((rule, watch, symbol))
                watches[rule.id, symbol] = watch
                pairs.append((rule, watch))
        self.by_symbol, self.watches = by_symbol, watches
        self._prime(fresh)

    def _targets(self, instruments: Mapping[str, Instrument]) -> dict[str, list]:
        """symbol -> the rules on it: its own, and its chain's."""
        by_symbol: dict[str, list[Rule]] = {}
        chains: dict[tuple[str, str], list[Rule]] = {}
        for rule in self.rules.values():
            if rule.symbol:
                by_symbol.setdefault(rule.symbol, []).append(rule)
            else:
                chains.setdefault((rule.base, rule.expiry), []).append(rule)
        if chains:
            for symbol, inst in instruments.items():
                rules = chains.get((inst.base, inst.expiry_key))
                if rules:
                    by_symbol.setdefault(symbol, []).extend(rules)
        return by_symbol

    def _prime(self, fresh: list[tuple[Rule, Watch, str]]) -> None:
        """Check each new pair against the value in force: `crosses` gets its
        starting side, `change_pct` its first sample, and `above`/`below` fire at
        once when they hold."""
        by_symbol: dict[str, list[tuple[Rule, Watch]]] = {}
        for rule, watch, symbol in fresh:
            by_symbol.setdefault(symbol, []).append((rule, watch))
        self._evaluate(by_symbol, {symbol: self.latest(symbol) for symbol in by_symbol})

    # The task beside the feed -------------------------------------------------

    async def run(self) -> None:
        """Follow the rule set, deliver firings, and run the notifier; cancel to
        stop."""
        tasks = [
            asyncio.create_task(self._deliver_loop(), name="alert-firings"),
            asyncio.create_task(self.notifier.run(), name="alert-notifier"),
        ]
        try:
            await self._follow_rules()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _follow_rules(self) -> None:
        channel = keys.alert_rules_channel(self.exchange)
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(channel)
                while True:
                    await self.reload()
                    await pubsub.get_message(timeout=CHECK_VERSION_S)
            except (RedisError, OSError):
                await asyncio.sleep(CHECK_VERSION_S)
            finally:
                await pubsub.aclose()

    async def reload(self) -> bool:
        """Load the rule set when its version changed; a missing set (Redis
        restarted empty) keeps the rules in force until the web side writes it."""
        key = keys.alert_rules(self.exchange)
        version, payload = await self.redis.hmget(key, "version", "rules")
        if version is None or version == self.version:
            return False
        try:
            entries = json.loads(payload or b"[]")
        except ValueError as exc:
            log.error("feed %s: alert rules unreadable: %s", self.exchange, exc)
            return False
        self.load(entries, version)
        return True

    def load(self, entries: list[dict], version: bytes | None = None) -> None:
        """Put these rules in force. A rule that did not change keeps its state
        (cooldowns, windows); a changed one starts afresh."""
        rules = {}
        for entry in entries:
            try:
                rule = Rule.from_dict(entry)
            except (TypeError, ValueError) as exc:
                log.error("feed %s: alert rule skipped: %s", self.exchange, exc)
                continue
            rules[rule.id] = rule
        old = self.rules
        self.watches = {
            key: watch
            for key, watch in self.watches.items()
            if key[0] in rules and rules[key[0]] == old.get(key[0])
        }
        self.rules, self.version = rules, version
        self._universe = None  # the next check rebuilds the index
        log.info("feed %s: %d alert rules in force", self.exchange, len(rules))

    async def _deliver_loop(self) -> None:
        try:
            while True:
                await asyncio.sleep(DELIVER_EVERY_S)
                self.notify()
                await self.save()
        except asyncio.CancelledError:
            self.notify()
            await self.save()  # the feed is stopping: keep what fired last
            raise

    def notify(self) -> None:
        """One notification per rule for what it fired since the last call."""
        fired, self.fired = self.fired, []
        by_rule: dict[int, list[Firing]] = {}
        for firing in fired:
            by_rule.setdefault(firing.rule.id, []).append(firing)
            self.unsaved.append(firing.event())
        for firings in by_rule.values():
            rule = firings[0].rule
            firings.sort(key=lambda firing: firing.symbol)
            lines = [f.message() for f in firings[:LINES_PER_MESSAGE]]
            if len(firings) > LINES_PER_MESSAGE:
                lines.append(f"and {len(firings) - LINES_PER_MESSAGE} more contracts")
            log.info("feed %s: alert rule %d fired: %s", self.exchange, rule.id,
                     "; ".join(lines[:3]))  # fmt: skip
            self.notifier.submit(
                self._title(rule), "\n".join(lines), urls=list(rule.notify_urls) or None
            )
        self.firings += len(fired)

    def _title(self, rule: Rule) -> str:
        target = rule.symbol or f"{rule.base} {rule.expiry}"
        return f"{self.exchange} {target}: {rule.describe()}"

    async def save(self) -> None:
        """Append the firings not yet in the stream; kept for the next try when
        Redis does not answer."""
        events = list(self.unsaved)
        if not events:
            return
        pipe = self.redis.pipeline(transaction=False)
        for event in events:
            pipe.xadd(
                keys.alert_events(self.exchange), event,
                maxlen=EVENTS_KEPT, approximate=True,
            )  # fmt: skip
        try:
            await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("feed %s: alert events kept for later: %s", self.exchange, exc)
            return
        for _ in events:
            self.unsaved.popleft()
