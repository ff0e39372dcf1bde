"""The project's own commands as real processes, for tests, benchmarks and the demo."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

BASE_DIR = Path(__file__).resolve().parent.parent


def wait_for_port(port: int, timeout: float = 20.0, proc=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(
                f"process exited with {proc.returncode} before listening"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


class ManagedCommand:
    """`python manage.py <args>` in a child process, stopped with SIGTERM."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, log_path=None):
        self.args = [sys.executable, str(BASE_DIR / "manage.py"), *args]
        self.env = {**os.environ, **(env or {})}
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> "ManagedCommand":
        # The child inherits the file; it lives as long as the process.
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            self.args, env=self.env, cwd=BASE_DIR, stdout=out, stderr=subprocess.STDOUT
        )
        return self

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, wait; returns the exit code (killed after the timeout)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


class SimulatorProcess(ManagedCommand):
    """The exchange simulator in its own process, with its control API at /sim/."""

    def __init__(
        self,
        port: int,
        contracts: int = 2100,
        rate: int = 5000,
        seed: int = 1,
        extra: tuple[str, ...] = (),
        log_path=None,
    ):
        super().__init__(
            "simulate_exchange", "--host", "127.0.0.1", "--port", str(port),
            "--contracts", str(contracts), "--rate", str(rate), "--seed", str(seed),
            *extra, log_path=log_path,
        )  # fmt: skip
        self.port = port

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v5/public/option"

    def start(self, timeout: float = 30.0) -> "SimulatorProcess":
        super().start()
        wait_for_port(self.port, timeout, self.proc)
        return self

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
