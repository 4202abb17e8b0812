"""Two runs at once against one SIS database: one proceeds, the other exits 3 and says why.

Both runs are real ``python -m student_sync migrate`` subprocesses. Whichever takes the lock
first is paused inside its run by the test-only fault hook, so the overlap is certain rather
than a matter of timing. (Two Dagster runs of overlapping cells through the instance's queue
are the Dagster layer's tests, not these.)
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from student_sync_tests.helpers import init_db
from student_sync_tests.reliability.support import (
    cli_env,
    consistency_problems,
    ledger,
    migrate_args,
    seed_legacy,
    start_cli,
    wait_for,
)

LOCK_MESSAGE = "another student_sync run holds the lock"


@pytest.fixture
def db(db_url: str) -> str:
    init_db(db_url)
    seed_legacy(db_url, 600)
    return db_url


def _finish(proc, timeout: float = 300) -> tuple[int, str, str]:  # noqa: ANN001
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def test_second_run_while_first_is_mid_run_exits_3(db: str, tmp_path: Path) -> None:
    first = start_cli(
        *migrate_args(db, tmp_path, batch_size=100), cwd=tmp_path, fault="pause@batch-start:3"
    )
    flag = tmp_path / "paused.flag"
    wait_for(flag, first)
    before = ledger(db)
    assert [r["status"] for r in before] == ["running"]

    second_dir = tmp_path / "second"
    second_dir.mkdir()
    code, out, err = _finish(start_cli(*migrate_args(db, second_dir), cwd=second_dir))
    assert code == 3, (code, err)
    assert LOCK_MESSAGE in err and "try again" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert ledger(db) == before  # the loser wrote nothing, and did not 'abandon' the winner
    assert not (second_dir / "reports").exists()

    flag.unlink()
    code, out, err = _finish(first)
    assert code == 0, err
    assert [r["status"] for r in ledger(db)] == ["completed"]
    assert consistency_problems(db) == []


def test_two_runs_started_together_one_wins(db: str, tmp_path: Path) -> None:
    """Started in the same instant; the winner pauses once it holds the lock."""
    dirs = [tmp_path / "a", tmp_path / "b"]
    procs = []
    for d in dirs:
        d.mkdir()
        env = cli_env("pause@count", tmp_path)  # both share one flag: only the winner gets there
        procs.append(start_cli(*migrate_args(db, d), cwd=d, env=env))
    flag = tmp_path / "paused.flag"
    deadline = time.monotonic() + 120
    loser = None
    while loser is None and time.monotonic() < deadline:
        loser = next((p for p in procs if p.poll() is not None), None)
        time.sleep(0.02)
    assert loser is not None, "neither run gave way"
    code, out, err = _finish(loser)
    assert code == 3, (code, err)
    assert LOCK_MESSAGE in err and "Traceback" not in err
    winner = procs[1 - procs.index(loser)]
    wait_for(flag, winner)
    flag.unlink()
    code, out, err = _finish(winner)
    assert code == 0, err
    assert [r["status"] for r in ledger(db)] == ["completed"]
    assert consistency_problems(db) == []
