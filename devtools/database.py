"""One migrated SQLite database, copied for each process that needs one.

`manage.py migrate` costs seconds (a Django start and every migration); copying the
file it leaves costs milliseconds. The tests make the template once per session, a
benchmark once per stack.
"""

import shutil
from pathlib import Path

from devtools.processes import ManagedCommand


class MigratedDatabase:
    """`template` is migrated (every app) on the first `copy`."""

    def __init__(self, workdir: Path):
        self.template = Path(workdir) / "migrated.sqlite3"

    def ensure(self) -> Path:
        if not self.template.exists():
            self._migrate()
        return self.template

    def _migrate(self) -> None:
        partial = self.template.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        env = {"DATABASE_URL": f"sqlite:///{partial}", "TRACKER_FEED_ONLY": "0"}
        log = self.template.with_suffix(".log")
        ManagedCommand("migrate", "--noinput", "-v", "0", env=env, log_path=log).run()
        partial.rename(self.template)  # a failed migrate leaves no template behind

    def copy(self, path: Path) -> str:
        """A fresh copy at `path`; its DATABASE_URL."""
        shutil.copyfile(self.ensure(), path)
        return f"sqlite:///{path}"
