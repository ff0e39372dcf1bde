"""Prometheus metric families of a feed's status (options.store's status hash, or
the running feed's own `FeedRunner.status()`: the same fields), named once for both
exporters: the feed's own port (feed.metrics) and the web's /metrics
(health.metrics). prometheus_client is imported only by the processes that export.
"""

from collections.abc import Iterable, Mapping

# metric name (after optiontracker_feed_), kind, status field, help
FEED_METRICS = (
    ("messages_received", "counter", "msgs_total",
     "Ticker messages received from the exchange and applied"),
    ("malformed", "counter", "malformed", "Malformed frames counted and skipped"),
    ("reconnects", "counter", "reconnects", "WebSocket reconnections"),
    ("redis_errors", "counter", "redis_errors", "Failed Redis writes"),
    ("connections", "gauge", "connections", "Open WebSocket connections"),
    ("contracts_subscribed", "gauge", "subscribed", "Contracts subscribed"),
    ("messages_per_second", "gauge", "msgs_per_s",
     "Ticker messages per second over the last second"),
    ("silent_topics", "gauge", "silent_topics",
     "Topics acknowledged by the exchange but silent"),
    ("rejected_topics", "gauge", "rejected_topics", "Topics the exchange refused"),
    ("last_message_timestamp_seconds", "gauge", "last_msg_ts",
     "When the last exchange message arrived (epoch s)"),
    ("heartbeat_timestamp_seconds", "gauge", "heartbeat_ts",
     "When the feed last wrote its status (epoch s)"),
)  # fmt: skip
MS_FIELDS = {"last_msg_ts", "heartbeat_ts"}


def feed_families(statuses: Mapping[str, Mapping[str, object]]) -> Iterable:
    """One metric family per FEED_METRICS row, a sample per exchange's status
    ({exchange: status}); fields a status lacks are left out."""
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    kinds = {"counter": CounterMetricFamily, "gauge": GaugeMetricFamily}
    for name, kind, field, text in FEED_METRICS:
        family = kinds[kind](f"optiontracker_feed_{name}", text, labels=["exchange"])
        for exchange, status in statuses.items():
            value = _number(status.get(field))
            if value is not None:
                scale = 1000 if field in MS_FIELDS else 1
                family.add_metric([exchange], value / scale)
        yield family


def _number(value) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
