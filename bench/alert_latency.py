"""Time from the exchange going silent to the stale-feed alert arriving at a local
notification service (an apprise json:// receiver), and from the exchange speaking
again to the all-clear; target: the alert within ALERT_STALE_AFTER + 5 s.

The minimal deployment's feed (`run_feed --no-publish`) streams 2,100 simulated
contracts; each round silences the simulator (its /sim/silence control), waits for
the alert, lets it speak again and waits for the all-clear. The clock starts before
the control request.

usage: python bench/alert_latency.py [--rounds 2] [--stale-after 30] [--rate 21000]
           [--pause 10]
"""

import argparse
import time
from datetime import UTC, datetime

from harness import Stack

from devtools.processes import wait_for
from devtools.receiver import Receiver

STALE = "[optiontracker] bybit: feed stale"


def arrival(receiver: Receiver, title: str, after: int, timeout: float) -> float:
    """When the receiver got the first message titled `title` after the first
    `after` messages."""

    def found():
        return next(
            (m["at"] for m in receiver.received[after:] if m["title"] == title), None
        )

    return wait_for(found, timeout, lambda: f"no {title!r}: {receiver.titles()}")


def raised_at(feed, after: float) -> float:
    """When the feed logged that it raised the stale alert (after `after`)."""
    for line in feed.log.read_text().splitlines():
        if f"alerts.system {STALE}:" in line:
            stamp = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
            at = stamp.replace(tzinfo=UTC).timestamp()
            if at > after:
                return at
    return float("nan")


def one_round(stack: Stack, receiver: Receiver, stale_after: float) -> tuple:
    seen = len(receiver.received)
    feed = stack.feeds[-1]
    silenced = time.time()
    stack.sim.control("silence", seconds=3600)
    alert = arrival(receiver, STALE, seen, stale_after + 60)
    last = stack.sim.control("last")["last"]
    # The exchange's last frame: the simulator sends what it queued before the
    # control request took effect.
    last_frame = max(sent["ts"] for sent in last.values()) / 1000
    # The last message as the feed saw it (its status, sampled every second).
    seen_last = int(feed.status()["last_msg_ts"]) / 1000
    raised = raised_at(feed, silenced)
    time.sleep(2)
    resumed = time.time()
    stack.sim.control("silence", seconds=0)
    clear = arrival(receiver, f"{STALE} - resolved", seen, 60) - resumed
    return (
        alert - silenced, last_frame - silenced, seen_last - silenced,
        raised - silenced, clear,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--stale-after", type=float, default=30)
    parser.add_argument("--rate", type=int, default=21000)
    parser.add_argument("--pause", type=float, default=10)  # s between rounds
    args = parser.parse_args()
    stack = Stack(contracts=2100, rate=args.rate)
    receiver = Receiver().start()
    stack.env.update(NOTIFY_URLS=receiver.url, ALERT_STALE_AFTER=str(args.stale_after))
    try:
        feed = stack.feed("--no-publish")
        feed.wait_streaming()
        time.sleep(5)
        print(f"ALERT_STALE_AFTER={args.stale_after:g} s, {args.rate} msg/s, "
              f"target: alert within {args.stale_after + 5:g} s")  # fmt: skip
        for number in range(1, args.rounds + 1):
            alert, last, seen, raised, clear = one_round(
                stack, receiver, args.stale_after
            )
            print(f"round {number}: from the silence request: last frame sent "
                  f"{last:+.2f} s, last message in the feed's status {seen:+.2f} s, "
                  f"alert raised {raised:.2f} s, received {alert:.2f} s "
                  f"({alert - last:.2f} s after the last frame); speaking again -> "
                  f"all-clear {clear:.2f} s")  # fmt: skip
            time.sleep(args.pause)
    finally:
        receiver.stop()
        stack.close()


if __name__ == "__main__":
    main()
