"""The exchange simulator for tests and benchmarks: in its own process, or served from
a thread of the caller's process (no process start, but it shares the caller's GIL).

Both answer the same calls: `rest_url`, `ws_url`, `control(...)`, `mismatches(...)`.
"""

import asyncio
import sys
import threading

import httpx

from devtools.processes import ManagedProcess, free_port, wait_for
from simulator import SimulatorServer


class Simulator:
    """What the tooling asks of a running simulator; `port` is set by the subclass."""

    port: int

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v5/public/option"

    def control(self, action: str, **params) -> dict:
        """Call /sim/<action>?params on the running simulator."""
        response = httpx.get(f"{self.rest_url}/sim/{action}", params=params, timeout=10)
        response.raise_for_status()
        return response.json()

    def mismatches(self, client) -> dict[str, tuple[dict, dict]]:
        """Contracts whose Redis hash differs from the ticker this simulator last sent
        ({} when they all agree); `client` is a sync redis-py client with
        decode_responses=True."""
        from feed.exchanges.bybit.stream import FIELD_MAP
        from options import keys

        last = self.control("last")["last"]
        pipe = client.pipeline(transaction=False)
        for symbol in last:
            pipe.hgetall(keys.tick("bybit", symbol))
        wrong = {}
        for (symbol, sent), stored in zip(last.items(), pipe.execute(), strict=True):
            expected = {
                FIELD_MAP[k]: v for k, v in sent["data"].items() if k in FIELD_MAP
            }
            expected["ts"] = str(sent["ts"])
            stored.pop("recv_ts", None)
            if stored != expected:
                wrong[symbol] = (stored, expected)
        return wrong


class SimulatorProcess(Simulator, ManagedProcess):
    """`python -m simulator` in its own process: for high rates, and for tests that
    stop it."""

    def __init__(
        self,
        port: int,
        contracts: int = 2100,
        rate: float | str = 5000,
        seed: int = 1,
        extra: tuple[str, ...] = (),
        log_path=None,
    ):
        super().__init__(
            sys.executable, "-m", "simulator", "--host", "127.0.0.1",
            "--port", str(port), "--contracts", str(contracts), "--rate", str(rate),
            "--seed", str(seed), *extra, log_path=log_path,
        )  # fmt: skip
        self.port = port

    def start(self, timeout: float = 30.0) -> "SimulatorProcess":
        """Start, and return once it answers HTTP (a bare TCP probe would be logged
        as a failed WebSocket handshake)."""
        super().start()
        wait_for(self._answers, timeout, f"the simulator on port {self.port}", 0.05)
        return self

    def _answers(self) -> bool:
        if not self.alive():
            raise RuntimeError(f"the simulator exited with {self.proc.returncode}")
        try:
            return httpx.get(f"{self.rest_url}/sim/state", timeout=1).is_success
        except httpx.TransportError:
            return False


class SimulatorThread(Simulator):
    """The simulator on a free port, served by an event loop in a daemon thread."""

    def __init__(self, contracts: int = 2100, rate: int = 5000, seed: int = 1, **kw):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="simulator", daemon=True
        )
        self.server = SimulatorServer(
            port=0, contracts=contracts, rate=rate, seed=seed, **kw
        )

    @property
    def port(self) -> int:
        return self.server.port

    def run(self, coro, timeout: float = 30.0):
        """Run a coroutine on the simulator's loop (the only safe way to touch the
        server's state from another thread) and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> "SimulatorThread":
        self.thread.start()
        self.run(self.server.start())
        return self

    def stop(self) -> int:
        if self.thread.is_alive():
            self.run(self.server.stop())
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()
        return 0


def start_simulator(
    where: str, contracts: int, rate: int, seed: int = 1, log_path=None
) -> Simulator:
    """A started simulator, `where` = "thread" (in this process) or "process"."""
    if where == "thread":
        return SimulatorThread(contracts=contracts, rate=rate, seed=seed).start()
    if where == "process":
        return SimulatorProcess(
            free_port(), contracts=contracts, rate=rate, seed=seed, log_path=log_path
        ).start()
    raise ValueError(f"a simulator runs in a 'thread' or a 'process', not {where!r}")
