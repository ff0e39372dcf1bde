"""Resident memory of what the web or the worker imports, and which packages it goes to.

Imports what the process imports before it serves (the web: `tracker_project.asgi`,
its URLconf and uvicorn's protocols; the worker: `tracker_project.worker`, Django,
Celery's worker and beat, every task module), and charges the growth of the resident
set while each module's own code runs to that module (its imports charged to them):
the packages that cost the most, then the modules. Run it from the project root:

    python bench/import_memory.py web|worker [--top 25]

The figures in docs/deployment.md ("Why each process is as small as it is") come from
it. A module that does not grow the resident set by a whole page gets 0.
"""

import argparse
import importlib.abc
import os
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

WEB = """
import tracker_project.asgi
from django.urls import get_resolver
get_resolver().url_patterns
import uvicorn.main, uvicorn.protocols.http.h11_impl
import uvicorn.protocols.websockets.websockets_sansio_impl
"""
WORKER = """
from tracker_project.worker import app
import django
django.setup()
app.loader.import_default_modules()
import celery.apps.worker, celery.worker.consumer, celery.concurrency.solo, celery.beat
import django_celery_beat.schedulers
import feed.tasks, options.tasks, options.history_write, alerts.ruleset
"""


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


class Charged(importlib.abc.Loader):
    """Runs a module through its own loader, charging it what its code adds."""

    costs: Counter = Counter()
    _children: list[float] = []

    def __init__(self, loader, name: str):
        self.loader, self.name = loader, name

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def __getattr__(self, name):  # get_resource_reader, is_package...
        return getattr(self.loader, name)

    def exec_module(self, module):
        self._children.append(0.0)
        before = rss_mb()
        try:
            self.loader.exec_module(module)
        finally:
            grown = rss_mb() - before
            self.costs[self.name] += grown - self._children.pop()
            if self._children:
                self._children[-1] += grown


class Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is None:
                continue
            if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                spec.loader = Charged(spec.loader, name)
            return spec
        return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("process", choices=["web", "worker"])
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker_project.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "import-memory-only")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if args.process == "worker":
        os.environ["CELERY_SKIP_CHECKS"] = "true"  # as tracker_project.run_worker
    sys.meta_path.insert(0, Finder())
    start = rss_mb()
    exec(WEB if args.process == "web" else WORKER, {})  # noqa: S102
    packages = Counter()
    for name, cost in Charged.costs.items():
        packages[name.split(".")[0]] += cost
    print(
        f"{args.process}: RSS {start:.1f} MB before the imports, {rss_mb():.1f} after"
    )
    print(
        "packages, MB:",
        ", ".join(f"{n} {c:.1f}" for n, c in packages.most_common(args.top)),
    )
    print(
        "modules, MB:",
        ", ".join(f"{n} {c:.1f}" for n, c in Charged.costs.most_common(args.top)),
    )


if __name__ == "__main__":
    main()
