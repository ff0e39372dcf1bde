"""The web side of the market alert rules in Redis (names: options.keys).

- `publish`: the enabled rules of an exchange written as its rule set, with a new
  version, and announced on its channel; after every committed change to a rule
  (`publish_after_commit`, connected in alerts.apps) the feed reloads within a second;
- `ingest_events`: the firings the feed appended to the event stream, stored as
  AlertEvent rows, once each (a row per stream id);
- `sync`: both for every exchange, every 5 s (Celery beat, alerts/migrations/0002) and
  before /api/alert-events/ and the admin list them. It also repairs a rule set that
  a failed publish or a Redis restart left behind.
"""

import logging
from datetime import UTC, datetime

from celery import shared_task
from django.db import transaction
from redis.exceptions import RedisError

from alerts.models import AlertEvent, AlertRule
from alerts.rules import rule_set_json, write_rule_set
from options import clients, keys
from options.models import Underlying

log = logging.getLogger(__name__)

READ_BATCH = 500
REDIS_TIMEOUT = 1.0  # a request must not hang on a Redis outage


def rule_set(exchange: str) -> str:
    """The rule set's JSON: every enabled rule of the exchange, by id."""
    rules = AlertRule.objects.filter(exchange=exchange, enabled=True).order_by("pk")
    return rule_set_json(rule.as_rule() for rule in rules)


def publish(client, exchange: str, payload: str | None = None) -> str:
    """Write the exchange's rule set (alerts.rules.write_rule_set)."""
    payload = rule_set(exchange) if payload is None else payload
    return write_rule_set(client, exchange, payload)


def publish_after_commit(exchange: str) -> None:
    """Publish once the change is committed; a Redis failure is repaired by the
    next sync."""

    def run() -> None:
        client = clients.sync_client(timeout=REDIS_TIMEOUT)
        try:
            publish(client, exchange)
        except RedisError as exc:
            log.warning("alert rules of %s not published (%s); the sync retries",
                        exchange, exc)  # fmt: skip
        finally:
            client.close()

    transaction.on_commit(run)


def rule_changed(sender, instance: AlertRule, **kwargs) -> None:
    """post_save / post_delete of AlertRule."""
    publish_after_commit(instance.exchange)


def sync_rules(client, exchange: str) -> bool:
    """Publish when Redis holds another rule set than the database."""
    payload = rule_set(exchange)
    if client.hget(keys.alert_rules(exchange), "rules") == payload:
        return False
    publish(client, exchange, payload)
    return True


def ingest_events(client, exchange: str) -> int:
    """Store the stream's firings that are not stored yet; returns how many."""
    last = (
        AlertEvent.objects.filter(exchange=exchange)
        .order_by("-id")
        .values_list("stream_id", flat=True)
        .first()
    )
    start, stored = f"({last}" if last else "-", 0
    while True:
        entries = client.xrange(keys.alert_events(exchange), start, "+", READ_BATCH)
        if not entries:
            return stored
        stored += _store(exchange, entries)
        start = f"({entries[-1][0]}"
        if len(entries) < READ_BATCH:
            return stored


def _store(exchange: str, entries: list[tuple[str, dict]]) -> int:
    ids = {fields.get("rule", "") for _, fields in entries}
    known = set(
        AlertRule.objects.filter(pk__in=[int(i) for i in ids if i.isdigit()])
        .values_list("pk", flat=True)
    )  # fmt: skip
    rows = []
    for stream_id, fields in entries:
        try:
            rows.append(_event(exchange, stream_id, fields, known))
        except (KeyError, ValueError) as exc:
            log.warning("alert event %s skipped: %r", stream_id, exc)
    AlertEvent.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _event(exchange: str, stream_id: str, fields: dict, known: set) -> AlertEvent:
    rule = int(fields["rule"])
    return AlertEvent(
        rule_id=rule if rule in known else None, exchange=exchange,
        symbol=fields["symbol"], field=fields["field"],
        condition=fields["condition"], threshold=float(fields["threshold"]),
        value=float(fields["value"]), message=fields["message"],
        fired_at=datetime.fromtimestamp(int(fields["ts"]) / 1000, UTC),
        stream_id=stream_id,
    )  # fmt: skip


def exchanges() -> set[str]:
    tracked = Underlying.objects.values_list("exchange", flat=True)
    ruled = AlertRule.objects.values_list("exchange", flat=True)
    return set(tracked) | set(ruled)


@shared_task(name="alerts.sync")
def sync(timeout: float = clients.TIMEOUT_S) -> int:
    """Every exchange's rule set made current and its firings stored; returns the
    number of firings stored. Raises RedisError when Redis does not answer."""
    client = clients.sync_client(timeout=timeout)
    stored = 0
    try:
        for exchange in sorted(exchanges()):
            sync_rules(client, exchange)
            stored += ingest_events(client, exchange)
    finally:
        client.close()
    return stored


def sync_quietly() -> None:
    """sync() for a page or an API list: with Redis away, what is stored serves."""
    try:
        sync(timeout=REDIS_TIMEOUT)
    except RedisError as exc:
        log.warning("alert events not read from Redis: %s", exc)
