"""The full deployment's one Celery process, started without Celery's command line.

    python -m tracker_project.run_worker [-l info] [-n celery@%h] [--no-beat]

starts the same worker as

    celery -A tracker_project.worker worker --beat-thread --pool solo \\
        --without-gossip --without-mingle -l info

(or, with `--no-beat`, an extra worker without beat: one beat per deployment)
through the call that command ends in (`app.Worker(...).start()`), without importing
Celery's command line first: its every subcommand (the `amqp` shell pulls in
click-repl and prompt_toolkit) cost the worker about 10 MB of resident memory it never
used (measured: docs/deployment.md). `celery -A tracker_project.worker inspect ping`
and the other control commands still reach it.

Django's system checks are skipped at start (as `celery --skip-checks` does): the
`migrate` service runs them before the worker starts, and they would import the web's
URLconf into the worker.
"""

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tracker_project.run_worker")
    parser.add_argument("-l", "--loglevel", default="INFO")
    parser.add_argument("-n", "--hostname", default=None, help="default celery@%%h")
    parser.add_argument("--no-beat", action="store_true", help="a worker only")
    args = parser.parse_args(argv)
    os.environ.setdefault("CELERY_SKIP_CHECKS", "true")

    from tracker_project.worker import app

    worker = app.Worker(
        hostname=args.hostname, loglevel=args.loglevel, pool_cls="solo",
        beat_thread=not args.no_beat, without_gossip=True, without_mingle=True,
    )  # fmt: skip
    worker.start()
    return worker.exitcode


if __name__ == "__main__":
    sys.exit(main())
