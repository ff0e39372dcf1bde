"""The product stands apart from its tooling: no product package imports the simulator
or the dev tooling, the simulator imports nothing of the tracker, and the production
image leaves the tooling out. Imports are read from the source (every `import`, also
those inside functions), so a lazy import cannot slip through."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = (
    "options", "alerts", "feed", "api", "dashboard", "health", "tracker_project",
)  # fmt: skip
TOOLING = ("simulator", "devtools")


def imported_packages(package: str) -> dict[str, set[str]]:
    """file -> the top-level names it imports (relative imports stay inside)."""
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize("package", PRODUCT)
def test_no_product_package_imports_the_simulator_or_the_tooling(package):
    files = imported_packages(package)
    assert files, f"{package} has no modules to check"
    offenders = {f: names & set(TOOLING) for f, names in files.items()}
    assert {f: names for f, names in offenders.items() if names} == {}


# The star around options: which project packages each product package may import.
# alerts (notification delivery, system alerts, market rules) runs in the Django-free
# feed; the API serves the market rules' models.
ALLOWED = {
    "options": set(),
    "alerts": {"options"},
    "feed": {"options", "alerts"},
    "api": {"options", "alerts"},
    "dashboard": {"options"},
    "health": {"options", "alerts"},
}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_product_packages_import_only_what_the_star_allows(package):
    project = set(PRODUCT) - {package}
    files = imported_packages(package)
    offenders = {f: names & project - ALLOWED[package] for f, names in files.items()}
    assert {f: names for f, names in offenders.items() if names} == {}


# The market rules' Django side: models, admin, the app, its migrations and the
# rule set's writer. The feed imports none of them.
ALERTS_DJANGO_SIDE = ("alerts/models.py", "alerts/admin.py", "alerts/apps.py",
                      "alerts/ruleset.py", "alerts/migrations/")  # fmt: skip


def test_alerts_import_no_django():
    files = {
        f: names
        for f, names in imported_packages("alerts").items()
        if not f.startswith(ALERTS_DJANGO_SIDE)
    }
    assert "alerts/evaluate.py" in files and "alerts/rules.py" in files
    offenders = {f: names & {"django", "rest_framework"} for f, names in files.items()}
    assert {f: names for f, names in offenders.items() if names} == {}


def test_the_simulator_imports_neither_django_nor_the_tracker():
    forbidden = {"django", "rest_framework", "channels", *PRODUCT, "devtools"}
    files = imported_packages("simulator")
    assert "simulator/server.py" in files
    offenders = {f: names & forbidden for f, names in files.items()}
    assert {f: names for f, names in offenders.items() if names} == {}


def test_the_production_image_leaves_the_tooling_out():
    ignored = {
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {"simulator", "devtools", "tests", "bench"} <= ignored
    runtime = (ROOT / "requirements/base.txt").read_text().lower()
    for dev_only in ("honcho", "psutil", "pytest"):
        assert f"\n{dev_only}==" not in runtime
