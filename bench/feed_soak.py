"""run_feed resident memory over a long run at Bybit's real rate (growth check).

usage: python bench/feed_soak.py [--minutes 10] [--contracts 2100] [--no-publish]
Prints RSS every 30 s, then the steady-state figure and the growth after warm-up.
"""

import argparse
import time

from harness import Stack, rss_mb


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--contracts", type=int, default=2100)
    parser.add_argument("--no-publish", action="store_true")
    args = parser.parse_args()
    stack = Stack(contracts=args.contracts, rate=args.contracts * 10)
    feed = stack.feed(*(["--no-publish"] if args.no_publish else []))
    try:
        feed.wait_streaming()
        time.sleep(30)  # warm-up: every contract seen, buffers at their size
        samples = []
        deadline = time.monotonic() + args.minutes * 60
        while time.monotonic() < deadline:
            samples.append(rss_mb(feed.pid))
            status = stack.feed_status()
            print(
                f"t={len(samples) * 30 - 30:4d}s RSS {samples[-1]:.1f} MB, "
                f"{status.get('msgs_per_s')} msg/s, {status.get('msgs_total')} total"
            )
            time.sleep(30)
        mode = "--no-publish" if args.no_publish else "publishing"
        print(
            f"run_feed RSS ({mode}, {args.contracts} contracts, "
            f"{args.contracts * 10:,} msg/s, {args.minutes:g} min): "
            f"first {samples[0]:.1f} MB, last {samples[-1]:.1f} MB, "
            f"max {max(samples):.1f} MB, growth {samples[-1] - samples[0]:+.1f} MB"
        )
    finally:
        feed.stop()
        stack.close()


if __name__ == "__main__":
    main()
