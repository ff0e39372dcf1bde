"""CPU instructions per ticker message on the feed's read path, counted by valgrind.

The read path is one `feed.connection.StreamConnection` on a real WebSocket from the
simulator: websockets, the adapter's `parse`, the dispatch on the frame's type and
`Conflator.accept` (no Redis). Instructions are counted, not timed, so the figure does
not move with the load of a shared machine: compare two commits with it.
The count is the difference between two runs (N1 and N2 messages) divided by the
difference in messages, so start-up and imports cancel out.

usage: python bench/read_path_cost.py [--messages 5000,25000] [--symbols 500]
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


async def read(ws_url: str, symbols: list[str], messages: int) -> int:
    """Stream `symbols` until `messages` tickers were filed; how many were."""
    from feed.conflate import Conflator
    from feed.connection import StreamConnection
    from feed.exchanges.bybit.stream import FIELD_MAP, BybitStream
    from feed.stats import FeedStats
    from options.fields import FIELDS

    conflator = Conflator(FIELD_MAP, FIELDS)
    conflator.track(symbols)
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


def counted(sim: SimulatorProcess, symbols_file: str, messages: int) -> tuple:
    """(instructions, messages) of one run of this script's child mode."""
    instructions, out = count_instructions(
        __file__, "--child", sim.ws_url, symbols_file, str(messages)
    )
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
            ir1, m1 = counted(sim, str(symbols_file), n1)
            ir2, m2 = counted(sim, str(symbols_file), n2)
        finally:
            sim.stop()
    print(f"read path ({len(names)} contracts on one connection): "
          f"{(ir2 - ir1) / (m2 - m1):,.0f} instructions per ticker message "
          f"(runs of {m1:,} and {m2:,} messages)")  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        url, names = sys.argv[2], Path(sys.argv[3]).read_text().split()
        print(asyncio.run(read(url, names, int(sys.argv[4]))))
    else:
        parser = argparse.ArgumentParser()
        parser.add_argument("--messages", default="5000,25000")
        parser.add_argument("--symbols", type=int, default=500)
        main(parser.parse_args())
