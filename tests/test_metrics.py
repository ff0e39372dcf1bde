"""Prometheus metrics, scraped over HTTP and parsed: the feed's own port
(`run_feed --metrics-port`) and the web process's /metrics under daphne."""

import httpx
from prometheus_client.parser import text_string_to_metric_families

from devtools.processes import Daphne, free_port, wait_for

STALE = "[optiontracker] bybit: feed stale"


def scrape(url: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of a /metrics page."""
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


BYBIT = (("exchange", "bybit"),)


def test_the_feed_serves_its_figures_and_its_alerts_on_its_port(feed_for, receiver):
    port = free_port()
    env = {"NOTIFY_URLS": receiver.url, "ALERT_STALE_AFTER": "3"}
    feed = feed_for("--metrics-port", str(port), env=env).start()
    feed.wait_streaming()
    url = f"http://127.0.0.1:{port}/metrics"
    wait_for(
        lambda: scrape(url)[("optiontracker_feed_contracts_live", BYBIT)] == 200,
        30, "every contract live",
    )  # fmt: skip
    figures = scrape(url)
    assert figures[("optiontracker_feed_messages_received_total", BYBIT)] > 0
    assert figures[("optiontracker_feed_malformed_total", BYBIT)] == 0
    assert figures[("optiontracker_feed_reconnects_total", BYBIT)] == 0
    assert figures[("optiontracker_feed_redis_errors_total", BYBIT)] == 0
    assert figures[("optiontracker_feed_connections", BYBIT)] == 1
    flushes = figures[("optiontracker_feed_flush_duration_seconds_count", BYBIT)]
    inf = (("exchange", "bybit"), ("le", "+Inf"))
    assert flushes > 0
    assert figures[("optiontracker_feed_flush_duration_seconds_bucket", inf)] == flushes
    assert figures[("optiontracker_alerts_sent_total", ())] == 0
    # An alert delivered shows in the count.
    feed.sim.control("silence", seconds=60)
    receiver.wait_for_titles(lambda titles: STALE in titles, 60)
    wait_for(
        lambda: scrape(url)[("optiontracker_alerts_sent_total", ())] == 1, 10,
        "the alert counted",
    )  # fmt: skip
    assert httpx.get(f"http://127.0.0.1:{port}/other").status_code == 404


def test_the_web_counts_its_requests_and_shows_the_feeds_figures(feed_for):
    feed = feed_for().start()
    env = {**feed.stack.env, "LOG_LEVEL": "WARNING"}
    feed.wait_streaming()
    web = Daphne(free_port(), env, feed.stack.workdir / "web.log").start()
    try:
        for _ in range(3):
            assert httpx.get(f"{web.url}/healthz").status_code == 200
        assert httpx.get(f"{web.url}/api/ticks/bybit/NOPE/").status_code == 404
        figures = scrape(f"{web.url}/metrics")
    finally:
        web.kill()
    get = (("method", "GET"), ("status", "200"))
    assert figures[("optiontracker_http_requests_total", get)] >= 3
    missing = (("method", "GET"), ("status", "404"))
    assert figures[("optiontracker_http_requests_total", missing)] == 1
    assert figures[("optiontracker_redis_up", ())] == 1
    assert figures[("optiontracker_feed_messages_received_total", BYBIT)] > 0
    assert figures[("optiontracker_feed_contracts_subscribed", BYBIT)] == 200
