"""The layering rules of design.md, checked on what importing a module really loads.

The engine and the CLI never load Dagster (a cron job must not pay for it, and the engine must
stay usable without it), the engine never loads the CLI or the demo package, nor pandas and
numpy until a CSV file is loaded (~60 MB in every run's process and its forked transform
workers, issue 18's memory bound), and the domain is pure: no engine, no database driver, no
Dagster. Each check imports the modules in a fresh
interpreter and looks at ``sys.modules``, so an import hidden behind another module (a
transitive import) is caught too.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys

import pytest

# Runs in a fresh interpreter: imports every module of the packages given on the command line
# (argv[1], comma-separated; alembic's env.py is a script alembic runs, not a module), and
# stops at the first one after which a forbidden module (argv[2], comma-separated prefixes) is
# loaded. Prints {"checked": [...], "offender": name or null, "loaded": [prefixes found]}.
_CHECK = r"""
import importlib, json, pkgutil, sys

def modules(name):
    module = importlib.import_module(name)
    found = [name]
    if hasattr(module, "__path__"):
        for info in pkgutil.walk_packages(module.__path__, name + "."):
            if not info.name.endswith(".alembic.env"):
                found.append(info.name)
    return found

def forbidden_loaded(prefixes):
    return [
        prefix for prefix in prefixes
        if any(loaded == prefix or loaded.startswith((prefix + ".", prefix + "_"))
               for loaded in sys.modules)
    ]

prefixes = sys.argv[2].split(",")
checked = []
for package in sys.argv[1].split(","):
    for name in modules(package):
        importlib.import_module(name)
        checked.append(name)
        loaded = forbidden_loaded(prefixes)
        if loaded:
            print(json.dumps({"checked": checked, "offender": name, "loaded": loaded}))
            sys.exit(0)
print(json.dumps({"checked": checked, "offender": None, "loaded": []}))
"""

RULES = {
    "engine": (
        ("student_sync.engine",),
        ("dagster", "student_sync.cli", "student_sync.demo", "pandas", "numpy"),
    ),
    "cli": (("student_sync.cli",), ("dagster",)),
    "domain": (
        ("student_sync.domain",),
        ("dagster", "student_sync.engine", "student_sync.cli", "student_sync.demo")
        + ("sqlalchemy", "psycopg", "alembic"),
    ),
}


def check_imports(
    packages: tuple[str, ...], forbidden: tuple[str, ...], path: str | None = None
) -> dict:
    env = {**os.environ, "PYTHONPATH": path} if path else None
    result = subprocess.run(
        [sys.executable, "-c", _CHECK, ",".join(packages), ",".join(forbidden)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("layer", sorted(RULES))
def test_layer_loads_nothing_it_must_not(layer: str) -> None:
    packages, forbidden = RULES[layer]
    outcome = check_imports(packages, forbidden)
    assert outcome["offender"] is None, (
        f"importing {outcome['offender']} loads {', '.join(outcome['loaded'])}: "
        f"the {layer} must not depend on {', '.join(forbidden)}"
    )
    assert len(outcome["checked"]) >= 1


def test_the_check_catches_a_transitive_dagster_import(tmp_path) -> None:
    """The checker itself: a module that loads Dagster only through another one is named."""
    package = tmp_path / "layered"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "clean.py").write_text("import json\n")
    (package / "helpers.py").write_text("from layered import wiring\n")  # checked first
    (package / "wiring.py").write_text("import dagster\n")
    outcome = check_imports(("layered",), ("dagster",), path=str(tmp_path))
    assert outcome["offender"] == "layered.helpers"
    assert "dagster" in outcome["loaded"]
    (package / "wiring.py").write_text("import json\n")
    assert check_imports(("layered",), ("dagster",), path=str(tmp_path))["offender"] is None


def test_the_faces_use_the_engine_through_its_public_surface() -> None:
    """The CLI, the Django app and the Dagster layer import ``student_sync.engine`` itself,
    never one of its modules: the engine can move its insides without breaking a face."""
    from pathlib import Path

    package = Path(__file__).resolve().parents[1] / "student_sync"
    faces = [
        package / "cli.py",
        *sorted((package / "django_app").rglob("*.py")),
        *sorted((package / "orchestration").rglob("*.py")),
    ]
    reaching_in = [
        f"{path.relative_to(package.parent)}:{node.lineno} imports {node.module}"
        for path in faces
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom)
        and (node.module or "").startswith("student_sync.engine.")
    ]
    assert len(faces) > 10
    assert reaching_in == []
