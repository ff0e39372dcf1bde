"""Resident memory of the minimal deployment's feed (`run_feed --no-publish
--refresh-minutes 15`) with system alerts off, on, and on with --metrics-port,
2,100 contracts at Bybit's rate; and the delivery process that an alert starts
(alerts.send: apprise, in a child that exits once idle).

usage: python bench/alerts_memory.py [--seconds 45]
"""

import argparse
import time

import psutil

from harness import Stack, rss_mb

from devtools.processes import free_port, wait_for
from devtools.receiver import Receiver

MINIMAL = ("--no-publish", "--refresh-minutes", "15")


def feed_rss(stack: Stack, seconds: float, *args: str) -> tuple:
    """(feed MB, Redis MB) after `seconds` of streaming; the feed stays running."""
    stack.client.flushall()
    feed = stack.feed(*MINIMAL, *args)
    feed.wait_streaming()
    time.sleep(seconds)
    return feed, rss_mb(feed.pid), rss_mb(stack.redis_server.pid)


def delivery_child(feed, receiver: Receiver) -> float:
    """Silence the exchange until the alert arrives; the delivery child's RSS (MB)."""
    feed.sim.control("silence", seconds=3600)
    try:
        receiver.wait_for_titles(lambda titles: titles, 120)
        children = psutil.Process(feed.pid).children()
        return max((c.memory_info().rss / 1e6 for c in children), default=0.0)
    finally:
        feed.sim.control("silence", seconds=0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=45)
    args = parser.parse_args()
    stack = Stack(contracts=2100, rate=21000)
    receiver = Receiver().start()
    try:
        feed, off, redis = feed_rss(stack, args.seconds)
        feed.stop()
        print(f"alerts off:            feed {off:.1f} MB, Redis {redis:.1f} MB")
        stack.env.update(NOTIFY_URLS=receiver.url, ALERT_STALE_AFTER="5")
        feed, on, redis = feed_rss(stack, args.seconds)
        print(f"alerts on:             feed {on:.1f} MB ({on - off:+.1f}), "
              f"Redis {redis:.1f} MB; total {on + redis:.1f} MB")  # fmt: skip
        child = delivery_child(feed, receiver)
        wait_for(lambda: "resolved" in " ".join(receiver.titles()), 60, "all-clear")
        after = rss_mb(feed.pid)
        print(f"during an alert:       delivery process {child:.1f} MB "
              f"(apprise; exits 2 min after its last message), "
              f"feed {after:.1f} MB")  # fmt: skip
        feed.stop()
        feed, metered, redis = feed_rss(
            stack, args.seconds, "--metrics-port", str(free_port())
        )
        feed.stop()
        print(f"alerts + metrics port: feed {metered:.1f} MB ({metered - off:+.1f})")
    finally:
        receiver.stop()
        stack.close()


if __name__ == "__main__":
    main()
