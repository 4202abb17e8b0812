"""Kill -9 at any point: a normal rerun reaches exactly the end state of an uninterrupted run.

20,000 synthetic students, ``python -m student_sync migrate --batch-size 500`` in a subprocess,
SIGKILLed at precise points by the test-only fault hook (``faults/sitecustomize.py``): during
the extract, half-way through a batch, before a COMMIT, between batches, after the last batch
with the ledger still 'running', and while the report is being written. After each kill: the
lock is free, the sync state agrees with the SIS rows (whole batches only), and the ledger row
is 'running' until the next run marks it 'abandoned'. The uninterrupted reference runs go on
in the background meanwhile. The long variant (every point on its own, random delays) is
``student_sync_tests/soak/test_soak_kill.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from student_sync_tests.helpers import init_db
from student_sync_tests.reliability.support import (
    ReferenceRuns,
    clone_database,
    drop_database,
    kill_and_converge,
    postgres_database,
    seed_legacy,
)

pytestmark = pytest.mark.postgres

STUDENTS = 20_000


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[ReferenceRuns]:
    with postgres_database() as fresh:
        init_db(fresh)
        assert seed_legacy(fresh, STUDENTS) == STUDENTS
        runs = ReferenceRuns(fresh, tmp_path_factory.mktemp("reference"))
        try:
            yield runs
        finally:
            runs.close()


def test_kills_at_every_stage_of_an_initial_load_converge(world: ReferenceRuns, tmp_path) -> None:
    """Six kills in a row, each interrupting the previous one's recovery, then one rerun."""
    url = clone_database(world.fresh)
    try:
        kill_and_converge(
            url,
            tmp_path,
            [
                "kill@batch-half:3",  # person rows inserted, profiles not yet
                "kill@batch-start:6",  # between batches
                "kill@page:2",  # the second legacy page fetched, not planned
                "kill@batch-end:4",  # batch executed, COMMIT not sent
                "kill@ledger-finish",  # all applied, ledger still 'running'
                "kill@report",  # ledger completed, report half-written
            ],
            world.reference,
        )
    finally:
        drop_database(url)


def test_kill_during_an_incremental_run_converges(world: ReferenceRuns, tmp_path) -> None:
    """Updates, contact deletes, sponsor ends/opens, soft deletes and creates, killed mid-batch;
    one normal rerun reaches the uninterrupted run's end state."""
    url = clone_database(world.edited())
    try:
        kill_and_converge(url, tmp_path, ["kill@batch-half:3"], world.reference_edited)
    finally:
        drop_database(url)


def test_the_reference_runs_did_real_work(world: ReferenceRuns) -> None:
    students = world.reference()["students"]
    assert len(students) > 19_000
    edited = world.reference_edited()["students"]
    changed = [k for k, v in edited.items() if students.get(k) != v]
    assert len(changed) > 5_000  # the incremental scenario really had many batches to kill
