"""Kill -9 between a write and its change-log row: impossible by construction.

The change-log rows of a batch are written in the batch's own transaction, after its SIS rows
and sync state. A run SIGKILLed right there (fault point ``changelog:N``: the batch's SIS rows
written, its change-log rows not yet) and one killed half-way through a batch leave whole
batches only: every committed student has its change-log rows from the run that wrote it, no
change-log row names a student that run did not commit, and a rerun completes the log with
exactly one creation per student.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from student_sync.engine import schema
from student_sync.engine.db import normalize_url
from student_sync_tests.helpers import init_db
from student_sync_tests.reliability.support import (
    assert_whole_after_kill,
    killed_run,
    migrate_args,
    postgres_database,
    run_cli,
    seed_legacy,
)

pytestmark = pytest.mark.postgres

STUDENTS = 2_000  # four batches of 500


def _by_run(url: str) -> tuple[dict[str, set[int]], dict[str, set[int]], Counter]:
    """Students per last_run_id in the sync state, students per run in the change log, and
    how many person-creation rows each student has."""
    engine = create_engine(normalize_url(url))
    st, log = schema.sync_state, schema.change_log
    states: dict[str, set[int]] = {}
    logged: dict[str, set[int]] = {}
    creations: Counter = Counter()
    with engine.connect() as conn:
        for sid, run_id in conn.execute(select(st.c.student_id, st.c.last_run_id)):
            states.setdefault(run_id, set()).add(sid)
        for sid, run_id, table, action in conn.execute(
            select(log.c.student_id, log.c.run_id, log.c.table_name, log.c.action)
        ):
            logged.setdefault(run_id, set()).add(sid)
            if table == "people_person" and action == "create":
                creations[sid] += 1
    engine.dispose()
    return states, logged, creations


def _assert_log_matches_writes(url: str) -> dict[str, Any]:
    states, logged, creations = _by_run(url)
    # Initial load: every student a run committed was created by it, so the two sets agree.
    assert states == logged, {k: len(v) for k, v in states.items()} | {
        f"log {k}": len(v) for k, v in logged.items()
    }
    assert set(creations.values()) <= {1}
    return {"students": sum(len(v) for v in states.values()), "creations": creations}


def test_a_kill_between_the_writes_and_their_change_log_leaves_whole_batches(tmp_path) -> None:
    with postgres_database() as url:
        init_db(url)
        assert seed_legacy(url, STUDENTS) == STUDENTS
        work = tmp_path / "work"
        work.mkdir()
        pid = killed_run(url, work, "kill@changelog:3")
        assert_whole_after_kill(url, pid, "kill@changelog:3", work)
        after_first = _assert_log_matches_writes(url)
        assert after_first["students"] > 0  # two batches committed ...
        assert after_first["students"] < STUDENTS  # ... the third, written but unlogged, not

        pid = killed_run(url, work, "kill@batch-half:2")
        assert_whole_after_kill(url, pid, "kill@batch-half:2", work)
        _assert_log_matches_writes(url)

        final = run_cli(*migrate_args(url, work), cwd=work)
        assert final.returncode == 0, final.stderr
        done = _assert_log_matches_writes(url)
        assert len(done["creations"]) == done["students"] > 0.9 * STUDENTS
