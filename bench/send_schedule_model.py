"""A model of a page's send rule against the feed's 100 ms flushes, without the noise of
a shared machine: why the chain socket lets a message leave up to 50 ms early.

    .venv/bin/python bench/send_schedule_model.py [--events 20000] [--seed 1]

The feed publishes a busy chain once per 100 ms flush; each event reaches the socket
some milliseconds after its flush point (the flush, Redis, the channel layer: a
jitter drawn here from an exponential distribution, with rare long stalls), and a
timer that holds a message wakes 1 ms after its time. A tick
arrives at a uniform moment, waits for the next flush, and leaves with the first
message sent after its event arrived. Printed per rule: tick to send, p50 and p99,
messages per second, and the most messages in any one second.

- strict: a message leaves only 100 ms or more after the previous one. A late message
  pushes every later one back: the page never catches up.
- schedule: dashboard.consumers.ChainConsumer's rule (the generic cell rate
  algorithm): one slot per 100 ms, a message may leave up to EARLY ms before its
  slot, and the next slot is one interval after max(slot, now).
"""

import argparse
import bisect
import heapq
import random

FLUSH_MS = 100.0
INTERVAL_MS = 100.0
TIMER_LATE_MS = 1.0  # a timer (asyncio.sleep) wakes a little after its time


def arrivals(events: int, rng: random.Random) -> list[tuple[float, int]]:
    """(arrival at the socket, event number): 3 ms plus jitter after each flush."""
    out = []
    for k in range(events):
        jitter = rng.expovariate(1 / 8) + (150 if rng.random() < 0.005 else 0)
        out.append((k * FLUSH_MS + 3 + jitter, k))
    return sorted(out)


def sends(arrived: list[tuple[float, int]], early_ms: float | None) -> list:
    """(send time, newest event carried) under a rule: None is strict spacing."""
    queue = [(t, k) for t, k in arrived]
    heapq.heapify(queue)
    slot, last, newest, sent_upto, out = -1e9, -1e9, -1, -1, []
    while queue:
        now, k = heapq.heappop(queue)
        newest = max(newest, k)
        if newest <= sent_upto:
            continue
        allowed = last + INTERVAL_MS if early_ms is None else slot - early_ms
        if now >= allowed:
            slot = max(slot, now) + INTERVAL_MS
            last, sent_upto = now, newest
            out.append((now, newest))
        else:
            heapq.heappush(queue, (allowed + TIMER_LATE_MS, -1))  # send what waits
    return out


def tick_to_send(sent: list, events: int, rng: random.Random) -> list[float]:
    times, carried = [s[0] for s in sent], [s[1] for s in sent]
    first, j = [], 0
    for k in range(events - 10):
        while carried[j] < k:
            j += 1
        first.append(times[j])
    ticks = (rng.uniform(FLUSH_MS, (events - 11) * FLUSH_MS) for _ in range(20_000))
    return sorted(first[int(t // FLUSH_MS) + 1] - t for t in ticks)


def report(name: str, sent: list, events: int, rng: random.Random) -> None:
    latency = tick_to_send(sent, events, rng)
    times = [s[0] for s in sent]
    busiest = max(bisect.bisect_left(times, t + 1000) - i for i, t in enumerate(times))
    print(
        f"{name:>16}: tick to send p50 {latency[len(latency) // 2]:.0f} ms, "
        f"p99 {latency[int(len(latency) * 0.99)]:.0f} ms; "
        f"{len(sent) / (events * FLUSH_MS / 1000):.2f} messages/s, "
        f"at most {busiest} in any second"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    arrived = arrivals(args.events, random.Random(args.seed))
    report("strict 100 ms", sends(arrived, None), args.events, random.Random(2))
    for early in (25, 50, 75):
        name = f"schedule, {early} ms"
        report(name, sends(arrived, early), args.events, random.Random(2))


if __name__ == "__main__":
    main()
