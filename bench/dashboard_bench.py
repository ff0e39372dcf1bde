"""Dashboard figures: tick at the simulator to cell in the browser, and fan-out.

    .venv/bin/python bench/dashboard_bench.py [--ticks 100] [--tick-rate 2000]
        [--per-tick] [--clients 200] [--seconds 20] [--rate 20000] [--frozen 0]
        [--skip-browser] [--skip-fan-out]

1. Tick to cell: headless Chromium on a chain page; `/sim/set` a unique markPrice on
   the ATM call and time from the pushed frame's exchange time (`ts`, when the
   simulator wrote it) until a MutationObserver in the page sees it in the cell (both
   clocks are this machine's wall clock). The exchange streams --tick-rate msg/s over
   2,100 contracts meanwhile (2,000 by default; the issue's harder case is 5,000
   with --ticks 20 or 50). Target: p99 < 200 ms. Also printed: the same from before
   the control request (which adds the bench's own HTTP call), and the stages of each
   tick (p50/p99; every tick with --per-tick): exchange to feed, the wait for the
   feed's next flush point, that flush and its publish (seen by a subscriber on the
   chain's channel), daphne (channel layer, the page's rate limit and flow control:
   the diff's server_ts), and the browser.
2. Fan-out: the simulator at --rate msg/s over 2,100 contracts; --clients WebSocket
   clients on one chain, each acking like the page. Delivery latency per row is
   client receive time minus the row's recv_ts (when the feed received it), so it
   includes the wait for the feed's next flush. Every client acknowledges each
   message as the page does; one in ten (MEASURED_EVERY) parses the rows for the
   figures, so that the clients' own JSON parsing does not load the machine they
   measure. Target: p99 < 500 ms. daphne's RSS
   is reported. With --frozen N, N of the clients stop reading after the warm-up
   (frozen tabs): the others' figures and daphne's RSS show what they cost.

Everything runs on 127.0.0.1 as real processes (bench/harness.py); nothing is a test.
"""

import argparse
import asyncio
import contextlib
import json
import os
import re
import sys
import time
from pathlib import Path

import orjson
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Stack, cpu_seconds, percentile, rss_mb  # noqa: E402
from devtools.processes import Daphne, free_port  # noqa: E402
from options import keys, live  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


# Every benchmark client connects from 127.0.0.1: lift the per-address limit.
MANY_CLIENTS = {"WS_MAX_PER_CLIENT": "10000"}


@contextlib.contextmanager
def serving(contracts: int, rate: int, env: dict[str, str], static: bool = False):
    """(stack, feed, daphne): the simulator streaming `rate` msg/s over `contracts`,
    the feed streaming them, and daphne serving the tracker with `env` added (and
    the static files collected first); all stopped afterwards."""
    stack = Stack(contracts=contracts, rate=rate)
    feed = stack.feed()
    daphne = None
    try:
        if static:
            stack.run("collectstatic", "--noinput", "-v", "0")
        feed.wait_streaming()
        log = stack.workdir / "daphne.log"
        daphne = Daphne(free_port(), {**stack.env, **env}, log).start(timeout=120)
        yield stack, feed, daphne
    finally:
        if daphne:
            daphne.stop()
        feed.stop()
        stack.close()


def biggest_chain(stack: Stack, base: str = "BTC") -> tuple[str, list[tuple]]:
    client = stack.client
    chains = [
        (day, client.zrange(keys.chain("bybit", base, day), 0, -1, withscores=True))
        for day in client.zrange(keys.expiries("bybit", base), 0, -1)
    ]
    return max(chains, key=lambda chain: len(chain[1]))


def atm_call(stack: Stack, index: list[tuple]) -> str:
    underlying = float(stack.client.hget(keys.tick("bybit", index[0][0]), "underlying"))
    calls = [(s, k) for s, k in index if "-C" in s]
    return min(calls, key=lambda sk: abs(sk[1] - underlying))[0]


# 1. Tick to cell ----------------------------------------------------------------------

# Before the page's own script: note each message's server_ts as it arrives (a regex
# on the text, not a second JSON parse), so the observer below knows which
# message changed the cell.
HOOK = """(() => {
    const Native = window.WebSocket;
    window.WebSocket = function (...args) {
        const ws = new Native(...args);
        ws.addEventListener("message", (event) => {
            // Before the rows; after the status and analytics when they come.
            const m = /"server_ts":(\\d+)/.exec(event.data);
            window.__serverTs = m ? Number(m[1]) : null;
        });
        return ws;
    };
})();"""

OBSERVE = """(selector) => {
    window.__seen = {};
    const waiting = {};
    const cell = document.querySelector(selector);
    // Keyed by the raw value: the cell's text has the tick size's precision.
    new MutationObserver(() => {
        const value = cell.dataset.value;
        window.__seen[value] = [Date.now(), window.__serverTs];
        if (waiting[value]) waiting[value](window.__seen[value]);
    }).observe(cell, {childList: true, characterData: true, subtree: true,
                      attributes: true, attributeFilter: ["data-value"]});
    // One call per tick that returns once the value is in the cell: polling the
    // page would load the machine the benchmark measures.
    window.__waitSeen = (value) => window.__seen[value] ? window.__seen[value]
        : new Promise((resolve, reject) => {
            waiting[value] = resolve;
            setTimeout(() => reject(new Error(`${value} never shown`)), 20000);
        });
}"""

STAGES = ("to_feed", "to_flush_point", "flush_and_publish", "in_daphne", "to_cell")


class ChannelWatch:
    """Subscribes to one chain's live-update channel, as `redis-cli subscribe` would,
    and notes when each message carrying the symbol's row was published."""

    def __init__(self, stack: Stack, expiry: str, symbol: str):
        self.symbol = symbol
        self.seen: list[tuple[float, int, dict]] = []  # (received ms, at, row)
        self.pubsub = stack.client.pubsub(ignore_subscribe_messages=True)
        channel = live.group_channel(live.chain_group("bybit", "BTC", expiry))
        self.pubsub.subscribe(**{channel: self._on_message})
        self.thread = self.pubsub.run_in_thread(sleep_time=0.1, daemon=True)

    def _on_message(self, message: dict) -> None:
        now = time.time() * 1000
        event = orjson.loads(message["data"])
        row = event["rows"].get(self.symbol)
        if row is not None:
            self.seen.append((now, event["at"], row))

    def first_with(self, mark: str) -> tuple[float, int, dict] | None:
        return next((s for s in self.seen if s[2].get("mark") == mark), None)

    def close(self) -> None:
        self.thread.stop()  # the thread closes the pubsub as it ends
        self.thread.join(5)


def stage_times(pushed_ms: int, published, seen: list) -> dict | None:
    """Where one tick's time went, from the exchange's push to the cell: the simulator
    and the feed's socket; the wait for the feed's next flush point (`at`); that flush
    and its publish; daphne (the channel layer, the page's rate limit and flow
    control); the browser. None when a later frame of the same contract went out in
    the same flush (its stamps are not this tick's)."""
    if published is None or published[2].get("ts") != str(pushed_ms):
        return None
    if seen[1] is None:  # a snapshot's server_ts follows its rows
        return None
    observed_ms, at, row = published
    recv_ms = int(row["recv_ts"])
    seen_ms, server_ts = seen
    return {
        "to_feed": recv_ms - pushed_ms,
        "to_flush_point": at - recv_ms,
        "flush_and_publish": observed_ms - at,
        "in_daphne": server_ts - observed_ms,
        "to_cell": seen_ms - server_ts,
    }


def force_ticks(stack, page, watch, symbol: str, ticks: int, per_tick: bool) -> dict:
    """`ticks` forced marks on the symbol, spread over the phases of the flush."""
    latencies, requested, stages = [], [], []
    for n in range(ticks):
        mark = f"{50000 + n}.5"
        sent_ms = time.time() * 1000
        pushed_ms = stack.sim.control("set", symbol=symbol, markPrice=mark)["ts"]
        seen = page.evaluate("(mark) => window.__waitSeen(mark)", mark)
        latencies.append(seen[0] - pushed_ms)
        requested.append(seen[0] - sent_ms)
        time.sleep(0.05 + (n % 7) * 0.03)  # the next tick at another phase
        stage = stage_times(pushed_ms, watch.first_with(mark), seen)
        if stage:
            stages.append(stage)
        if per_tick:
            parts = " ".join(f"{k} {v:.0f}" for k, v in (stage or {}).items())
            print(f"tick {n}: {latencies[-1]:.0f} ms ({parts or 'stages n/a'})")
    return {
        "p50_ms": round(percentile(latencies, 50), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "max_ms": round(max(latencies), 1),
        "from_request_p50_ms": round(percentile(requested, 50), 1),
        "from_request_p99_ms": round(percentile(requested, 99), 1),
        "ticks_with_stages": len(stages),
        **{
            f"{stage}_p{q}_ms": round(percentile([s[stage] for s in stages], q), 1)
            for stage in STAGES
            for q in (50, 99)
        },
    }


def tick_to_cell(ticks: int, rate: int, per_tick: bool = False) -> dict:
    with serving(2100, rate, MANY_CLIENTS, static=True) as (stack, _, daphne):
        expiry, index = biggest_chain(stack)
        symbol = atm_call(stack, index)
        with contextlib.closing(ChannelWatch(stack, expiry, symbol)) as watch:
            figures = browse(daphne, expiry, symbol, stack, watch, ticks, per_tick)
    return {"ticks": ticks, "msgs_per_s": rate, "chain_contracts": len(index),
            **figures}  # fmt: skip


def browse(daphne, expiry, symbol, stack, watch, ticks: int, per_tick: bool) -> dict:
    """Chromium on the chain page, the ticks forced and timed (force_ticks)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        # bypass_csp: the page's policy forbids the evaluated wait predicates.
        page = browser.new_page(
            viewport={"width": 1600, "height": 1000}, bypass_csp=True
        )
        page.add_init_script(HOOK)
        page.goto(f"http://127.0.0.1:{daphne.port}/chain/bybit/BTC/{expiry}/")
        page.wait_for_function("window.chainReady === true", timeout=20000)
        page.evaluate(OBSERVE, f'[data-symbol="{symbol}"][data-field="mark"]')
        figures = force_ticks(stack, page, watch, symbol, ticks, per_tick)
        browser.close()
    return figures


# 2. Fan-out ---------------------------------------------------------------------------


HEAD = re.compile(r'"type":"(\w+)".*?"seq":(\d+)')
MEASURED_EVERY = 10  # one client in ten parses every message for the figures


async def client(
    url: str, origin: str, until: float, warm: float, out: dict, measure: bool = True
) -> None:
    """Acks every message as the page does. Only a measuring client parses the rows:
    200 clients parsing every row in one process would measure this process."""
    async with websockets.connect(url, origin=origin, max_size=None) as ws:
        async for text in ws:
            now = time.time() * 1000
            kind, seq = HEAD.search(text).groups()
            await ws.send(f'{{"type":"ack","seq":{seq}}}')
            if time.monotonic() < warm:
                continue
            out["messages"] += 1
            out["types"][kind] = out["types"].get(kind, 0) + 1
            if measure and kind == "diff":
                message = orjson.loads(text)
                rows = message["rows"].values()
                stamps = [int(r["recv_ts"]) for r in rows if "recv_ts" in r]
                if stamps:
                    out["rows"].extend(now - s for s in stamps)
                    out["freshest"].append(now - max(stamps))
                    out["transport"].append(now - message["server_ts"])
            if time.monotonic() >= until:
                return


async def frozen_client(
    url: str, origin: str, until: float, warm: float, out: dict
) -> None:
    """Acks like the page until the warm-up ends, then reads nothing more: a frozen
    tab. The server must hold at most MAX_IN_FLIGHT messages for it."""
    async with websockets.connect(url, origin=origin, max_size=None, max_queue=1) as ws:
        async for text in ws:
            message = orjson.loads(text)
            await ws.send(orjson.dumps({"type": "ack", "seq": message["seq"]}).decode())
            if time.monotonic() >= warm:
                break
        out["frozen"] += 1
        await asyncio.sleep(max(0.0, until - time.monotonic()))


async def clients_run(
    url: str, origin: str, count: int, seconds: float, frozen: int = 0
) -> dict:
    out = {"messages": 0, "types": {}, "rows": [], "freshest": [], "transport": []}
    out["frozen"] = 0
    warm = time.monotonic() + 5
    until = warm + seconds
    tasks = []
    for n in range(count):  # connect in a trickle, as browsers do
        if n < frozen:
            run = frozen_client(url, origin, until, warm, out)
        else:
            measure = (n - frozen) % MEASURED_EVERY == 0
            run = client(url, origin, until, warm, out, measure)
        tasks.append(asyncio.create_task(run))
        await asyncio.sleep(0.01)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    out["errors"] = [repr(r) for r in results if isinstance(r, Exception)][:5]
    return out


def fan_out(count: int, seconds: float, rate: int, frozen: int = 0) -> dict:
    with serving(2100, rate, MANY_CLIENTS) as (stack, feed, daphne):
        expiry, index = biggest_chain(stack)
        url = f"ws://127.0.0.1:{daphne.port}/ws/chain/bybit/BTC/{expiry}/"
        origin = f"http://127.0.0.1:{daphne.port}"
        rss_before = rss_mb(daphne.proc.pid)
        procs = {
            "daphne": daphne.proc.pid,
            "feed": feed.pid,
            "simulator": stack.sim.pid,
            "redis": stack.redis_server.pid,
            "clients": os.getpid(),
        }
        cpu_before = {name: cpu_seconds(pid) for name, pid in procs.items()}
        started = time.monotonic()
        out = asyncio.run(clients_run(url, origin, count, seconds, frozen))
        elapsed = time.monotonic() - started
        status = stack.feed_status()
        return {
            "clients": count,
            "frozen_clients": out["frozen"],
            "chain_contracts": len(index),
            "feed_msgs_per_s": status.get("msgs_per_s"),
            "messages_per_client_per_s": round(
                out["messages"] / (count - frozen) / seconds, 2
            ),
            "message_types": out["types"],
            "row_latency_p50_ms": round(percentile(out["rows"], 50), 1),
            "row_latency_p99_ms": round(percentile(out["rows"], 99), 1),
            "freshest_row_p50_ms": round(percentile(out["freshest"], 50), 1),
            "freshest_row_p99_ms": round(percentile(out["freshest"], 99), 1),
            "sent_to_received_p50_ms": round(percentile(out["transport"], 50), 1),
            "sent_to_received_p99_ms": round(percentile(out["transport"], 99), 1),
            "daphne_rss_mb_idle": round(rss_before, 1),
            "daphne_rss_mb_loaded": round(rss_mb(daphne.proc.pid), 1),
            "cpu_percent": {
                name: round(100 * (cpu_seconds(pid) - cpu_before[name]) / elapsed)
                for name, pid in procs.items()
            },
            "errors": out["errors"],
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ticks", type=int, default=100)
    parser.add_argument(
        "--tick-rate", type=int, default=2000,
        help="msg/s the exchange streams over 2,100 contracts during the ticks",
    )  # fmt: skip
    parser.add_argument(
        "--per-tick", action="store_true", help="print every tick's stages"
    )
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rate", type=int, default=20000)
    parser.add_argument(
        "--frozen", type=int, default=0,
        help="of the clients, this many stop reading after the warm-up",
    )  # fmt: skip
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--skip-fan-out", action="store_true")
    args = parser.parse_args()
    if not args.skip_browser:
        figures = tick_to_cell(args.ticks, args.tick_rate, args.per_tick)
        print("tick to cell:", json.dumps(figures), flush=True)
    if not args.skip_fan_out:
        print(
            "fan-out:",
            json.dumps(fan_out(args.clients, args.seconds, args.rate, args.frozen)),
            flush=True,
        )


if __name__ == "__main__":
    main()
