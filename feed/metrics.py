"""`run_feed --metrics-port N`: the feed's Prometheus metrics at /metrics, served
from the feed's own event loop (no thread reads the runner while it changes it).

The status figures (options.metrics), the contracts with data, the flush-duration
histogram (feed.stats), the notifications of the system alerts and the market rules,
and the rules' checks and firings. prometheus_client is imported only here, only
when metrics are served.
"""

import asyncio
import logging

from feed.stats import FLUSH_BUCKETS_S

log = logging.getLogger(__name__)


class FeedCollector:
    """A prometheus_client collector over a running FeedRunner."""

    def __init__(self, runner):
        self.runner = runner

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily

        from options.metrics import feed_families

        runner = self.runner
        yield from feed_families({runner.exchange: runner.status()})
        live = GaugeMetricFamily(
            "optiontracker_feed_contracts_live", "Contracts with data",
            labels=["exchange"],
        )  # fmt: skip
        live.add_metric([runner.exchange], runner.conflator.live_count())
        yield live
        yield self._flush_histogram(HistogramMetricFamily)
        yield from self._alert_families()

    def _flush_histogram(self, family_class):
        stats = self.runner.stats
        buckets, seen = [], 0
        for bound, count in zip(
            (*FLUSH_BUCKETS_S, "+Inf"), stats.flush_counts, strict=True
        ):
            seen += count
            buckets.append((str(bound), seen))
        family = family_class(
            "optiontracker_feed_flush_duration_seconds",
            "Duration of the flushes to Redis", labels=["exchange"],
        )  # fmt: skip
        family.add_metric([self.runner.exchange], buckets, stats.flush_total_s)
        return family

    def _alert_families(self):
        from prometheus_client.core import CounterMetricFamily

        alerts = self.runner.system_alerts
        # The system alerts' notifier and the market rules' (alerts.evaluate).
        notifiers = (alerts.notifier if alerts else None, self.runner.rules.notifier)
        for name, text in (
            ("sent", "Notifications delivered (one message to one destination)"),
            ("failed", "Notifications given up after their retry window"),
            ("dropped", "Notifications dropped by a full queue"),
        ):
            family = CounterMetricFamily(f"optiontracker_alerts_{name}", text)
            family.add_metric([], sum(getattr(n, name, 0) for n in notifiers))
            yield family
        yield from self._rule_families(CounterMetricFamily)

    def _rule_families(self, family_class):
        rules = self.runner.rules
        for name, value, text in (
            ("evaluated", rules.evaluated,
             "Market alert rule checks (a rule on a contract's changed value)"),
            ("fired", rules.firings, "Market alert rule firings"),
        ):  # fmt: skip
            family = family_class(
                f"optiontracker_alert_rules_{name}", text, labels=["exchange"]
            )
            family.add_metric([self.runner.exchange], value)
            yield family


async def serve_metrics(runner, port: int, host: str = "127.0.0.1") -> asyncio.Task:
    """Listen on host:port (OSError when it cannot) and answer GET /metrics with the
    metrics, anything else with 404, until the returned task is cancelled."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry
    from prometheus_client.exposition import generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(FeedCollector(runner))

    async def answer(reader, writer):
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            path = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b""
            if path.split(b"?")[0] == b"/metrics":
                writer.write(_response("200 OK", CONTENT_TYPE_LATEST,
                                       generate_latest(registry)))  # fmt: skip
            else:
                writer.write(_response("404 Not Found", "text/plain", b"see /metrics"))
            await writer.drain()
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(answer, host, port)
    log.info("feed %s: metrics at http://%s:%d/metrics", runner.exchange, host, port)
    return asyncio.create_task(server.serve_forever(), name="metrics")


def _response(status: str, content_type: str, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body
