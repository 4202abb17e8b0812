"""Long variant of the kill test: every kill point on its own, plus kills from outside.

Each scenario starts from a fresh copy, kills one run (a precise point of the test-only fault
hook, or an external SIGKILL after a delay), then runs once normally; the end state must equal
the uninterrupted run's. PostgreSQL: 20,000 students, initial load and a big incremental run.
SQLite: 5,000 students. Run by hand: ``pytest -m slow student_sync_tests/soak``.
"""

from __future__ import annotations

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
    *(f"external@{s}" for s in (0.5, 1.2, 2.0, 3.5, 5.0, 7.0, 9.0, 11.0, 13.0, 15.0, 17.0, 19.0)),
]
INCREMENTAL_POINTS = [
    "kill@count",
    "kill@page:1",
    *(f"kill@batch-start:{n}" for n in (1, 4, 9)),
    *(f"kill@batch-half:{n}" for n in (1, 2, 6, 10)),
    *(f"kill@batch-end:{n}" for n in (1, 5, 11)),
    "kill@ledger-finish",
    "kill@report",
    *(f"external@{s}" for s in (1.0, 2.0, 3.0, 4.5, 6.0, 8.0)),
]
SQLITE_POINTS = [
    "kill@count",
    "kill@batch-half:3",
    "kill@batch-start:6",
    "kill@batch-end:9",
    "kill@ledger-finish",
    "kill@report",
    "external@2.0",
    "external@4.0",
]


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
        kill_and_converge(url, tmp_path, [fault], world.reference)
    finally:
        drop_database(url)


@pytest.mark.postgres
@pytest.mark.parametrize("fault", INCREMENTAL_POINTS)
def test_incremental_run_killed_once_converges(world: ReferenceRuns, fault: str, tmp_path) -> None:
    url = clone_database(world.edited())
    try:
        kill_and_converge(url, tmp_path, [fault], world.reference_edited)
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
def sqlite_world(tmp_path_factory) -> tuple[Path, dict]:
    base = tmp_path_factory.mktemp("sqlite")
    fresh = base / "fresh.sqlite"
    init_db(f"sqlite:///{fresh}")
    seed_legacy(f"sqlite:///{fresh}", 5_000)
    ref = base / "ref.sqlite"
    shutil.copy(fresh, ref)
    done = run_cli(*migrate_args(f"sqlite:///{ref}", base), cwd=base)
    assert done.returncode == 0, done.stderr
    return fresh, sync_content(f"sqlite:///{ref}")


@pytest.mark.parametrize("fault", SQLITE_POINTS)
def test_sqlite_killed_once_converges(sqlite_world, fault: str, tmp_path) -> None:
    fresh, reference = sqlite_world
    copy = tmp_path / "sis.sqlite"
    shutil.copy(fresh, copy)
    kill_and_converge(f"sqlite:///{copy}", tmp_path, [fault], reference)
