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
    import apprise

    return [_deliver_one(apprise, job) for job in jobs]


def _deliver_one(apprise, job: Mapping[str, str]) -> dict:
    url = job["url"]
    sender = apprise.Apprise()
    if not sender.add(url):
        return _result(False, True, "apprise does not accept this URL", url)
    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
        # apprise sends no message without a body: the title serves then.
        body = job["body"] or job["title"]
        ok = bool(sender.notify(title=job["title"], body=body))
    said = " ".join(captured.getvalue().split())[-500:]
    return _result(ok, False, "" if ok else said or "delivery failed", url)


def _result(ok: bool, permanent: bool, error: str, url: str) -> dict:
    return {"ok": ok, "permanent": permanent, "error": redact(error, [url])}


def main() -> None:
    """One JSON list of deliveries per line on stdin, one JSON list of results per
    line on stdout; exit after LINGER_S without work, or at the end of stdin."""
    linger = float(sys.argv[1]) if len(sys.argv) > 1 else LINGER_S
    while select.select([sys.stdin], [], [], linger)[0]:
        line = sys.stdin.readline()
        if not line:
            return
        sys.stdout.write(json.dumps(deliver(json.loads(line))) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
