"""CPU instructions per ticker message on the feed's read path, counted by valgrind.

The read path is one `feed.connection.StreamConnection` on a real WebSocket from the
simulator: websockets, the adapter's `parse`, the dispatch on the frame's type and
`Conflator.accept` (no Redis). Instructions are counted, not timed, so the figure does
not move with the load of a shared machine: compare two commits with it.
The count is the difference between two runs (N1 and N2 messages) divided by the
difference in messages, so start-up and imports cancel out.

With --flush-every N the conflator also hands out what changed (`Conflator.take`,
what each flush computes before writing to Redis: the comparison with the last write
and the check of every changed value) after every N messages: N = --symbols is one
flush per contract per message, as at Bybit's rate; three times that is about the
throughput benchmark's rate. --checkout DIR counts another checkout's code (e.g.
`git archive <commit> | tar -x -C DIR`) on the same simulator, for a comparison.

usage: python bench/read_path_cost.py [--messages 5000,25000] [--symbols 500]
    [--flush-every N] [--checkout DIR]
Needs `valgrind` on the PATH.
"""

import argparse
import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import count_instructions  # noqa: E402

from devtools.processes import free_port  # noqa: E402
from devtools.simulators import SimulatorProcess  # noqa: E402


async def read(ws_url: str, symbols: list[str], messages: int, every: int) -> int:
    """Stream `symbols` until `messages` tickers were filed; how many were."""
    from feed.conflate import Conflator
    from feed.connection import StreamConnection
    from feed.exchanges.bybit.stream import FIELD_MAP, BybitStream
    from feed.stats import FeedStats
    from options.fields import FIELDS

    conflator = Conflator(FIELD_MAP, FIELDS)
    conflator.track(symbols)
    if every:
        flush_every(conflator, every)
    stop = asyncio.Event()
    conn = StreamConnection(
        "bench", BybitStream(ws_url), symbols, conflator, FeedStats(), stop, 3600
    )
    task = asyncio.create_task(conn.run())
    while conn.msgs < messages:  # noqa: ASYNC110 (polls a counter)
        await asyncio.sleep(0.01)
    stop.set()
    await conn.close()
    await task
    return conn.msgs


def flush_every(conflator, every: int) -> None:
    """Make the conflator hand out its changes after every `every` messages."""
    accept, count = conflator.accept, [0]

    def accept_and_flush(symbol, ts, data, recv_ts):
        filed = accept(symbol, ts, data, recv_ts)
        count[0] += 1
        if count[0] % every == 0:
            conflator.take()
        return filed

    conflator.accept = accept_and_flush


def counted(sim: SimulatorProcess, symbols_file: str, messages: int, args) -> tuple:
    """(instructions, messages) of one run of this script's child mode."""
    code = str(args.checkout or ROOT)
    instructions, out = count_instructions(
        __file__, "--child", sim.ws_url, symbols_file, str(messages),
        str(args.flush_every), code,
    )  # fmt: skip
    return instructions, int(out.split()[-1])


def main(args) -> None:
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not on the PATH")
    n1, n2 = (int(n) for n in args.messages.split(","))
    with tempfile.TemporaryDirectory(prefix="ot-bench-") as tmp:
        sim = SimulatorProcess(
            free_port(), contracts=2100, rate=0, log_path=Path(tmp) / "sim.log"
        ).start()
        try:
            import httpx

            url = f"{sim.rest_url}/v5/market/instruments-info"
            params = {"category": "option", "baseCoin": "BTC", "limit": 1000}
            listed = httpx.get(url, params=params, timeout=10).json()["result"]["list"]
            symbols_file = Path(tmp) / "symbols.txt"
            names = sorted(i["symbol"] for i in listed)[: args.symbols]
            symbols_file.write_text("\n".join(names))
            ir1, m1 = counted(sim, str(symbols_file), n1, args)
            ir2, m2 = counted(sim, str(symbols_file), n2, args)
        finally:
            sim.stop()
    flushes = f", a take() every {args.flush_every}" if args.flush_every else ""
    print(f"read path ({len(names)} contracts on one connection{flushes}, "
          f"{args.checkout or 'this checkout'}): "
          f"{(ir2 - ir1) / (m2 - m1):,.0f} instructions per ticker message "
          f"(runs of {m1:,} and {m2:,} messages)")  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        url, names = sys.argv[2], Path(sys.argv[3]).read_text().split()
        sys.path.insert(0, sys.argv[6])  # the checkout whose code is counted
        print(asyncio.run(read(url, names, int(sys.argv[4]), int(sys.argv[5]))))
    else:
        parser = argparse.ArgumentParser()
        parser.add_argument("--messages", default="5000,25000")
        parser.add_argument("--symbols", type=int, default=500)
        parser.add_argument("--flush-every", type=int, default=0)
        parser.add_argument("--checkout", type=lambda p: Path(p).resolve())
        main(parser.parse_args())
