"""Deliver notifications through apprise: the one module that imports it.

apprise loads every one of its ~120 service plugins on first use: 43 MB of a
process's memory, two thirds of the minimal deployment's feed. So the feed's
Notifier (alerts.delivery) runs this module in a short-lived child process,
`python -m alerts.send`, that reads the deliveries as JSON on stdin and writes one
result per delivery as JSON on stdout. Processes with memory to spare (a Celery
worker) may call `deliver` in a thread instead.
"""

import json
import logging
import sys
from collections.abc import Iterable, Mapping

from alerts.destinations import redact


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
        ok = bool(sender.notify(title=job["title"], body=job["body"]))
    said = " ".join(captured.getvalue().split())[-500:]
    return _result(ok, False, "" if ok else said or "delivery failed", url)


def _result(ok: bool, permanent: bool, error: str, url: str) -> dict:
    return {"ok": ok, "permanent": permanent, "error": redact(error, [url])}


def main() -> None:
    jobs = json.load(sys.stdin)
    json.dump(deliver(jobs), sys.stdout)


if __name__ == "__main__":
    main()
