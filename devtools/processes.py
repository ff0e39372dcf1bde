"""Child processes for the demo, the tests and the benchmarks, and waiting on them."""

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def wait_for(predicate, timeout: float, message, interval: float = 0.1):
    """Poll `predicate` until it returns something truthy, and return that; after
    `timeout` seconds raise TimeoutError with `message` (a string, or a callable
    that makes one then, such as a log's tail)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            said = message() if callable(message) else message
            raise TimeoutError(f"timed out after {timeout}s: {said}")
        time.sleep(interval)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for_port(port: int, timeout: float = 20.0, proc=None) -> None:
    """Until something listens on 127.0.0.1:port; RuntimeError when `proc` (a Popen)
    exits first."""

    def listening() -> bool:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(
                f"process exited with {proc.returncode} before listening"
            )
        return port_open(port)

    wait_for(listening, timeout, f"nothing listens on 127.0.0.1:{port}", 0.05)


class ManagedProcess:
    """A child process run from the project root, its output appended to `log_path`,
    stopped with SIGTERM."""

    new_session = False  # True: a Ctrl-C at the terminal does not reach it

    def __init__(self, *argv: str, env: dict[str, str] | None = None, log_path=None):
        self.args = list(argv)
        self.env = {**os.environ, **(env or {})}
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self):
        # The child keeps its own handle on the log; this process closes its own.
        with self._output() as out:
            self.proc = subprocess.Popen(
                self.args, env=self.env, cwd=BASE_DIR, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=self.new_session,
            )  # fmt: skip
        return self

    def _output(self):
        if self.log_path:
            return open(self.log_path, "ab")
        return contextlib.nullcontext(subprocess.DEVNULL)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def run(self, timeout: float = 300.0) -> None:
        """Start, wait for the exit; RuntimeError (naming the log) unless it is 0."""
        if self.start().proc.wait(timeout) != 0:
            raise RuntimeError(
                f"{shlex.join(self.args[1:])} exited with {self.proc.returncode}; "
                f"see {self.log_path}"
            )

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

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
            self.proc.wait()


class ManagedCommand(ManagedProcess):
    """`python manage.py <args>` in a child process."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, log_path=None):
        manage = [sys.executable, str(BASE_DIR / "manage.py"), *args]
        super().__init__(*manage, env=env, log_path=log_path)


class Daphne(ManagedProcess):
    """daphne serving an ASGI application (the tracker's by default) on a loopback
    port; it can be killed and started again on the same port."""

    def __init__(
        self,
        port: int,
        env: dict[str, str] | None = None,
        log_path=None,
        app: str = "tracker_project.asgi:application",
        options: tuple[str, ...] = (),
    ):
        self.port = port
        super().__init__(
            str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), *options, app,
            env=env, log_path=log_path,
        )  # fmt: skip

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> "Daphne":
        super().start()
        wait_for_port(self.port, timeout, self.proc)
        return self
