"""Deliver notifications through apprise: the one module that imports it.

apprise loads every one of its ~120 service plugins on first use: 43 MB of a
process's memory, two thirds of the minimal deployment's feed. So the feed's
Notifier (alerts.delivery) runs this module in a short-lived child process,
`python -m alerts.send`, that reads the deliveries as JSON on stdin and writes one
result per delivery as JSON on stdout. The child stays for LINGER_S after its last
work, so the messages of one incident after the first go out at once; then its
memory goes back. Processes with memory to spare (a Celery worker) may call
`deliver` in a thread instead.
"""

import json
import logging
import select
import sys
from collections.abc import Iterable, Mapping

from alerts.destinations import redact

LINGER_S = 120.0


def deliver(jobs: Iterable[Mapping[str, str]]) -> list[dict]:
    """Send each {"title", "body", "url"}; for each, {"ok", "permanent", "error"}
    (error text with the URL's secrets redacted). Blocking: call it in a thread."""
    apprise = _apprise()
    return [_deliver_one(apprise, job) for job in jobs]


def _apprise():
    """apprise, its log kept from this process's handlers (the feed's log, a
    worker's): its lines may quote a URL, so they are only captured and redacted
    (_deliver_one)."""
    import apprise

    quiet = logging.getLogger("apprise")
    quiet.propagate = False
    if not quiet.handlers:
        quiet.addHandler(logging.NullHandler())
    return apprise


def _deliver_one(apprise, job: Mapping[str, str]) -> dict:
    url = job["url"]
    sender = apprise.Apprise()
    # apprise's own lines may quote the URL: captured, redacted, never logged as is.
    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
        if not sender.add(url):
            return _result(False, True, "apprise does not accept this URL", url)
        # apprise sends no message without a body: the title serves then.
        body = job["body"] or job["title"]
        ok = bool(sender.notify(title=job["title"], body=body))
    said = " ".join(captured.getvalue().split())[-500:]
    return _result(ok, False, "" if ok else said or "delivery failed", url)


def _result(ok: bool, permanent: bool, error: str, url: str) -> dict:
    return {"ok": ok, "permanent": permanent, "error": redact(error, [url])}


def warm_up() -> None:
    """Load apprise and its plugins before the first message is asked for: the
    Notifier starts this process when a problem is near (alerts.system)."""
    _apprise().Apprise().add("json://127.0.0.1/")  # loads every plugin; sends nothing


def main() -> None:
    """One JSON list of deliveries per line on stdin, one JSON list of results per
    line on stdout; exit after LINGER_S without work, or at the end of stdin."""
    linger = float(sys.argv[1]) if len(sys.argv) > 1 else LINGER_S
    warm_up()
    while select.select([sys.stdin], [], [], linger)[0]:
        line = sys.stdin.readline()
        if not line:
            return
        sys.stdout.write(json.dumps(deliver(json.loads(line))) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
