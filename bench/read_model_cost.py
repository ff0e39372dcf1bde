"""CPU instructions per chain read through the read model (`options.read.read_chain`),
counted by valgrind: the cost of what the API and the dashboard do per request, with
a private Redis holding one 198-contract chain of full-profile hashes.

As in read_path_cost.py, the figure is the difference between two runs (N1 and N2
reads) divided by the difference in reads, so start-up and imports cancel out, and
machine load does not move it. --checkout DIR counts another checkout's read model
(e.g. `git archive <commit> | tar -x -C DIR`) on the same Redis, for a comparison.

usage: python bench/read_model_cost.py [--reads 20,120] [--checkout DIR]
Needs `valgrind` on the PATH.
"""

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EXPIRY = "2026-03-27"
STRIKES = 99


def state(strike: int, n: int) -> dict[str, str]:
    """A full-profile tick hash with values shaped like Bybit's."""
    return {
        "bid": f"{1205 + n}", "bid_size": "3.2", "bid_iv": "0.4412",
        "ask": f"{1230 + n}", "ask_size": "1.05", "ask_iv": "0.4498",
        "last": "1215", "mark": f"{1218 + n}.37", "mark_iv": "0.4455",
        "index": "69850.12", "underlying": "69910.4", "oi": "25.4",
        "volume_24h": "2.15", "turnover_24h": "150321.5", "total_volume": "88",
        "total_turnover": "6012345", "high_24h": "1400", "low_24h": "1100",
        "change_24h": "0.0412", "delta": "0.50123456", "gamma": "0.00009123",
        "vega": "31.25123456", "theta": "-88.41234567", "predicted_delivery": "0",
        "ts": "1774500000000", "recv_ts": str(1774500000001 + strike),
    }  # fmt: skip


def fill(url: str) -> None:
    import redis

    from options import keys

    client = redis.Redis.from_url(url)
    client.sadd(keys.bases("bybit"), "BTC")
    client.zadd(keys.expiries("bybit", "BTC"), {EXPIRY: 1_774_598_400_000})
    for n in range(STRIKES):
        strike = 40000 + 1000 * n
        for kind in "CP":
            symbol = f"BTC-27MAR26-{strike}-{kind}-USDT"
            client.zadd(keys.chain("bybit", "BTC", EXPIRY), {symbol: strike})
            client.hset(keys.tick("bybit", symbol), mapping=state(strike, n))
    client.close()


async def read(reads: int) -> int:
    from options import read as model

    for _ in range(reads):
        chain = await model.read_chain("bybit", "BTC", EXPIRY)
    assert len(chain.rows) == STRIKES
    return reads


def counted(url: str, reads: int, code: Path) -> int:
    out = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no",
         "--cachegrind-out-file=/dev/null", sys.executable, __file__, "--child",
         url, str(reads), str(code)],
        capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )  # fmt: skip
    return int(re.search(r"I\s+refs:\s+([\d,]+)", out.stderr).group(1).replace(",", ""))


def main(args) -> None:
    from devtools.localredis import LocalRedis

    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not on the PATH")
    n1, n2 = (int(n) for n in args.reads.split(","))
    server = LocalRedis().start()
    try:
        fill(server.url)
        code = args.checkout or ROOT
        ir1, ir2 = counted(server.url, n1, code), counted(server.url, n2, code)
    finally:
        server.stop()
    print(f"read_chain of {2 * STRIKES} contracts ({code}): "
          f"{(ir2 - ir1) / (n2 - n1):,.0f} instructions per read "
          f"(runs of {n1} and {n2} reads)")  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        url, reads, code = sys.argv[2], int(sys.argv[3]), sys.argv[4]
        sys.path.insert(0, code)  # the checkout whose read model is counted
        from django.conf import settings

        settings.configure(REDIS_URL=url)
        print(asyncio.run(read(reads)))
    else:
        parser = argparse.ArgumentParser()
        parser.add_argument("--reads", default="20,120")
        parser.add_argument("--checkout", type=lambda p: Path(p).resolve())
        main(parser.parse_args())
