"""Optional dependencies the web process never uses, kept out of its memory.

Some libraries import an optional dependency at import time whenever it is installed,
and the runtime requirements install these ones for other libraries (daphne pulls in
`cryptography`, apprise pulls in `requests`; the development virtualenv adds
`pygments`). Measured in the web process (resident memory of the module's own code):

- channels-redis's serializers import `cryptography.fernet` for the layer's optional
  symmetric encryption, which CHANNEL_LAYERS does not turn on: 8.3 MB (its Rust
  bindings).
- DRF's `compat` imports `requests` (for `rest_framework.test.RequestsClient`, a test
  helper) and `pygments` (to highlight code blocks in Markdown view descriptions; the
  image does not install it): 4.3 MB and 0.9 MB.
- Celery's thread helpers and bootsteps import `greenlet` (for greenlet-based pools;
  the worker's is solo), and its debug helpers `psutil` (to print a process's memory
  in a debugging aid), which only the development virtualenv installs (for
  playwright and the benchmarks): 1.2 MB and 0.6 MB. Hidden, they behave as in the
  image.
- Kombu's serializers import `yaml` to offer a YAML message format; Celery's messages
  are JSON (the settings name no other): 1.0 MB in the worker (the web imports yaml
  for drf-spectacular's YAML schema anyway).

`skip_unused_imports()` imports those modules while the names are hidden, so they
take their "not installed" branch; the names are visible again afterwards, so any
later `import requests` (apprise, in alerts/send.py) works as usual. It must run
before they are first imported: Celery's before the Celery app (tracker_project/
__init__.py) and the worker's steps (tracker_project/worker.py), the others before
Django is set up in the web (tracker_project/asgi.py).
"""

import contextlib
import importlib
import sys

UNUSED = {
    "channels_redis.serializers": ("cryptography.fernet",),
    "rest_framework.compat": ("requests", "pygments"),
    "kombu.serialization": ("yaml",),  # before Celery's modules, which import it
    "celery.utils.threads": ("greenlet",),
    "celery.bootsteps": ("greenlet",),
    "celery.utils.debug": ("psutil",),
}


@contextlib.contextmanager
def hidden(*names: str):
    """Within the block, importing any of `names` that is not imported yet raises
    ImportError (a None entry in sys.modules)."""
    absent = [name for name in names if name not in sys.modules]
    for name in absent:
        sys.modules[name] = None
    try:
        yield
    finally:
        for name in absent:
            if sys.modules.get(name, ...) is None:
                del sys.modules[name]


def skip_unused_imports(*modules: str) -> None:
    """Import `modules` (every module of UNUSED when none is named) without their
    unused optional dependencies."""
    for module in modules or UNUSED:
        names = UNUSED[module]
        if module not in sys.modules:
            with hidden(*names):
                importlib.import_module(module)
