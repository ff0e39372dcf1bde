"""A local HTTP receiver that stands in for a notification service: apprise's
`json://127.0.0.1:PORT/` URLs post to it. It records what it receives, and it can
go down and come back on the same port (delivery-retry tests)."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from devtools.processes import free_port, wait_for


class Receiver:
    """Every JSON body posted to it, in order, with the time it arrived."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.received: list[dict] = []  # {"title", "message", "at": time.time()}
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/"

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                receiver._record(body)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _record(self, body: dict) -> None:
        with self._lock:
            self.received.append({**body, "at": time.time()})

    def titles(self) -> list[str]:
        with self._lock:
            return [m.get("title", "") for m in self.received]

    def wait_for_titles(self, predicate, timeout: float) -> list[str]:
        """The titles received once `predicate(titles)` holds (TimeoutError after
        `timeout` s, naming what arrived)."""
        wait_for(
            lambda: predicate(self.titles()), timeout,
            lambda: f"received {self.titles()}",
        )  # fmt: skip
        return self.titles()

    def __enter__(self) -> "Receiver":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
