"""A truncated or half-loaded legacy table must not soft-delete the school.

Through the command line (``student_sync.cli.main``, in process), on SQLite and PostgreSQL:
above the 2% threshold the run is refused (exit 1, one sentence naming
``--allow-mass-delete``), the ledger says 'refused', and not one row of the SIS or sync
tables changes. With the flag, the deletions happen and are undone when the students return.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from student_sync.cli import main
from student_sync_tests.helpers import init_db, snapshot, write_legacy
from student_sync_tests.helpers import legacy_row as row
from student_sync_tests.reliability.support import ledger, migrate_args, sync_content

STUDENTS = 200
EVERYONE = [row(i) for i in range(1, STUDENTS + 1)]


@pytest.fixture
def db(db_url: str, tmp_path: Path, capsys) -> str:
    init_db(db_url)
    write_legacy(db_url, EVERYONE)
    assert main(migrate_args(db_url, tmp_path)) == 0
    capsys.readouterr()
    return db_url


def _refused(db: str, tmp_path: Path, capsys, *extra: str) -> str:
    before = snapshot(db)
    code = main(migrate_args(db, tmp_path, *extra))
    err = capsys.readouterr().err.strip()
    assert code == 1, err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert "refusing to soft-delete" in err and "--allow-mass-delete" in err, err
    assert snapshot(db) == before  # nothing changed, not even the sync state
    assert ledger(db)[-1]["status"] == "refused"
    return err


def _deleted(db: str) -> list[int]:
    students = sync_content(db)["students"]
    flags = {
        k: (v["profile"]["is_deleted"], v["person"]["is_deleted"]) for k, v in students.items()
    }
    assert all(a == b for a, b in flags.values())
    return sorted(k for k, (a, _) in flags.items() if a)


def test_truncated_or_half_loaded_table_is_refused_until_allowed(
    db: str, tmp_path: Path, capsys
) -> None:
    write_legacy(db, [])  # truncated
    assert f"{STUDENTS} of {STUDENTS}" in _refused(db, tmp_path, capsys)
    _refused(db, tmp_path, capsys, "--dry-run")

    write_legacy(db, EVERYONE[: STUDENTS // 2])  # reloaded half-empty
    assert f"{STUDENTS // 2} of {STUDENTS}" in _refused(db, tmp_path, capsys)
    assert "81:200" in _refused(db, tmp_path, capsys, "--student-id-range", "81:200")

    assert main(migrate_args(db, tmp_path, "--allow-mass-delete")) == 0
    assert _deleted(db) == list(range(STUDENTS // 2 + 1, STUDENTS + 1))

    write_legacy(db, EVERYONE)  # the full load comes back: everyone is restored
    assert main(migrate_args(db, tmp_path)) == 0
    assert _deleted(db) == []


def test_threshold_is_two_percent_of_the_scope(db: str, tmp_path: Path, capsys) -> None:
    write_legacy(db, EVERYONE[:-5])  # 5 of 200 = 2.5%: refused
    _refused(db, tmp_path, capsys)
    write_legacy(db, EVERYONE[:-4])  # 4 of 200 = 2%: an ordinary day, goes through
    assert main(migrate_args(db, tmp_path)) == 0
    assert _deleted(db) == [197, 198, 199, 200]
