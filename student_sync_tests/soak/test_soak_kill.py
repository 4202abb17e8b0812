"""Long variant of the kill test: every kill point on its own, plus kills from outside.

Each scenario starts from a fresh copy, kills one run (a precise point of the test-only fault
hook, or an external SIGKILL after a delay), then runs once normally; the end state must equal
the uninterrupted run's. PostgreSQL: 20,000 students, initial load and a big incremental run.
SQLite: 20,000 students. Run by hand: ``pytest -m slow student_sync_tests/soak``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from student_sync_tests.helpers import init_db
from student_sync_tests.reliability.support import (
    ReferenceRuns,
    clone_database,
    drop_database,
    kill_and_converge,
    migrate_args,
    postgres_database,
    run_cli,
    seed_legacy,
    sync_content,
)

SLOW_ONLY = pytest.mark.skipif(
    "'slow' not in config.getoption('markexpr', '').replace('not slow', '')"
    " and os.environ.get('STUDENT_SYNC_SOAK') != '1'",
    reason="long variant: run with -m slow (or STUDENT_SYNC_SOAK=1)",
)
pytestmark = [pytest.mark.slow, SLOW_ONLY]

INITIAL_POINTS = [
    "kill@count",
    "kill@page:1",
    "kill@page:2",
    *(f"kill@batch-start:{n}" for n in (1, 2, 11, 20, 21, 33, 40)),
    *(f"kill@batch-half:{n}" for n in (1, 7, 13, 20, 27, 39, 40)),
    *(f"kill@batch-end:{n}" for n in (1, 10, 19, 20, 31, 40)),
    "kill@ledger-finish",
    "kill@report",
    # External SIGKILLs at these fractions of the uninterrupted run's duration (plus startup).
    *(f"external%{f}" for f in (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.97)),
]
INCREMENTAL_POINTS = [
    "kill@count",
    "kill@page:1",
    *(f"kill@batch-start:{n}" for n in (1, 4, 9)),
    *(f"kill@batch-half:{n}" for n in (1, 2, 6, 10)),
    *(f"kill@batch-end:{n}" for n in (1, 5, 11)),
    "kill@ledger-finish",
    "kill@report",
    *(f"external%{f}" for f in (0.0, 0.15, 0.3, 0.5, 0.7, 0.9)),
]
SQLITE_POINTS = [
    "kill@count",
    "kill@batch-half:3",
    "kill@batch-start:6",
    "kill@batch-end:9",
    "kill@ledger-finish",
    "kill@report",
    "external%0.3",
    "external%0.7",
]


STARTUP = 0.6  # seconds from process start to the engine run (imports), roughly


def as_seconds(fault: str, duration: float) -> str:
    """``external%F`` -> ``external@S``: a fraction of a run's duration, in seconds."""
    if not fault.startswith("external%"):
        return fault
    return f"external@{STARTUP + float(fault.partition('%')[2]) * duration:.2f}"


def assert_landed(workdir: Path, fault: str) -> None:
    """External kills up to half the run must have hit a running process (later ones may
    find it finished on a fast day: then the test is an ordinary rerun)."""
    if fault.startswith("external%") and float(fault.partition("%")[2]) <= 0.5:
        assert "landed=True" in (workdir / "external.log").read_text(), fault


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[ReferenceRuns]:
    with postgres_database() as fresh:
        init_db(fresh)
        seed_legacy(fresh, 20_000)
        runs = ReferenceRuns(fresh, tmp_path_factory.mktemp("reference"))
        try:
            yield runs
        finally:
            runs.close()


@pytest.mark.postgres
@pytest.mark.parametrize("fault", INITIAL_POINTS)
def test_initial_load_killed_once_converges(world: ReferenceRuns, fault: str, tmp_path) -> None:
    url = clone_database(world.fresh)
    try:
        world.reference()
        kill_and_converge(url, tmp_path, [as_seconds(fault, world.seconds(0))], world.reference)
        assert_landed(tmp_path, fault)
    finally:
        drop_database(url)


@pytest.mark.postgres
@pytest.mark.parametrize("fault", INCREMENTAL_POINTS)
def test_incremental_run_killed_once_converges(world: ReferenceRuns, fault: str, tmp_path) -> None:
    url = clone_database(world.edited())
    try:
        world.reference_edited()
        seconds = as_seconds(fault, world.seconds(1))
        kill_and_converge(url, tmp_path, [seconds], world.reference_edited)
        assert_landed(tmp_path, fault)
    finally:
        drop_database(url)


@pytest.mark.postgres
def test_every_point_in_one_chain_converges(world: ReferenceRuns, tmp_path) -> None:
    url = clone_database(world.fresh)
    try:
        # Each rerun skips what earlier runs applied, so batch numbers restart small.
        chain = [
            "kill@count",
            "kill@page:1",
            "kill@batch-half:2",
            "kill@batch-start:3",
            "kill@batch-end:2",
            "kill@page:2",
            "kill@batch-half:5",
            "kill@batch-start:4",
            "kill@batch-end:3",
            "kill@ledger-finish",
            "kill@report",
        ]
        kill_and_converge(url, tmp_path, chain, world.reference)
    finally:
        drop_database(url)


@pytest.fixture(scope="module")
def sqlite_world(tmp_path_factory) -> tuple[Path, dict, float]:
    base = tmp_path_factory.mktemp("sqlite")
    fresh = base / "fresh.sqlite"
    init_db(f"sqlite:///{fresh}")
    seed_legacy(f"sqlite:///{fresh}", 20_000)
    ref = base / "ref.sqlite"
    shutil.copy(fresh, ref)
    done = run_cli(*migrate_args(f"sqlite:///{ref}", base), cwd=base)
    assert done.returncode == 0, done.stderr
    report = json.loads(next((base / "reports").glob("*.json")).read_text())
    return fresh, sync_content(f"sqlite:///{ref}"), report["migration_info"]["duration_seconds"]


@pytest.mark.parametrize("fault", SQLITE_POINTS)
def test_sqlite_killed_once_converges(sqlite_world, fault: str, tmp_path) -> None:
    fresh, reference, duration = sqlite_world
    copy = tmp_path / "sis.sqlite"
    shutil.copy(fresh, copy)
    kill_and_converge(f"sqlite:///{copy}", tmp_path, [as_seconds(fault, duration)], reference)
    assert_landed(tmp_path, fault)
