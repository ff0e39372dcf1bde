"""The reference client: receive and parse only (websockets + orjson, no Redis).

Same connections and subscriptions as the feed (the Bybit adapter's shards and
subscribe frames). Prints one JSON line: messages, seconds, CPU seconds.
usage: bare_client.py WS_URL SYMBOLS_FILE SECONDS [WARMUP_SECONDS]
"""

import asyncio
import resource
import sys
import time
from pathlib import Path

import orjson
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from feed.exchanges.bybit.stream import BybitStream  # noqa: E402


class Counter:
    msgs = 0


async def read(url: str, symbols: list[str], stream: BybitStream, counter: Counter):
    async with connect(url, ping_interval=None, max_size=4 * 1024 * 1024,
                       max_queue=64, compression=None, proxy=None) as ws:  # fmt: skip
        for frame in stream.subscribe_frames(symbols):
            await ws.send(frame.decode())
        loads = orjson.loads
        async for raw in ws:
            loads(raw)
            counter.msgs += 1


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def main(url: str, symbols: list[str], seconds: float, warmup: float) -> None:
    stream = BybitStream(url)
    counter = Counter()
    tasks = [
        asyncio.create_task(read(url, shard, stream, counter))
        for shard in stream.shard(symbols)
    ]
    await asyncio.sleep(warmup)
    start_msgs, start_t, start_cpu = counter.msgs, time.perf_counter(), cpu_seconds()
    await asyncio.sleep(seconds)
    msgs = counter.msgs - start_msgs
    elapsed, cpu = time.perf_counter() - start_t, cpu_seconds() - start_cpu
    for task in tasks:
        task.cancel()
    print(orjson.dumps({"msgs": msgs, "seconds": elapsed, "cpu_seconds": cpu}).decode())


if __name__ == "__main__":
    ws_url, symbols_file, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    warmup = float(sys.argv[4]) if len(sys.argv) > 4 else 3.0
    names = Path(symbols_file).read_text().split()
    asyncio.run(main(ws_url, names, seconds, warmup))
