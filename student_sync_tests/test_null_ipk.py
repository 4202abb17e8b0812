"""The guide's troubleshooting #1, "IPK values are NULL": a legacy table without IPKs syncs.

On SQLite and PostgreSQL: every row migrates (a MISSING_IPK warning, not a rejection), the
fingerprint alone decides "unchanged" (in the database's raw-digest skip and in Python), a
rename is picked up, and IPKs are stored once the legacy system has them. Only an IPK that is
present and not a number is rejected.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from student_sync.engine import schema
from student_sync.engine.options import DateWindow
from student_sync_tests.helpers import (
    FIXED_NOW,
    init_db,
    person_of,
    profile_of,
    rows,
    run,
    snapshot,
    update_legacy,
    write_legacy,
)
from student_sync_tests.helpers import legacy_row as row

# Every spelling of "no IPK" the legacy table and its CSV export produce.
NO_IPK = (None, "", "NULL", "  ", None, "null")
STUDENTS = len(NO_IPK)


@pytest.fixture
def db(db_url: str) -> str:
    init_db(db_url)
    legacy = [row(n + 1, ipk=ipk) for n, ipk in enumerate(NO_IPK)]
    write_legacy(db_url, [*legacy, row(90, ipk="12ab")])  # present, not a number
    return db_url


def _stored_ipks(url: str) -> tuple[list, list]:
    profiles = rows(url, schema.student_profile)
    states = rows(url, schema.sync_state)
    return [p["legacy_ipk"] for p in profiles], [s["legacy_ipk"] for s in states]


@pytest.mark.parametrize("force_update", [True, False], ids=["force-update", "plain"])
def test_table_without_ipks_syncs_reruns_renames_and_stores_ipks(
    db: str, tmp_path, force_update: bool
) -> None:
    first = run(db, tmp_path, force_update=force_update)
    c = first.counters
    assert c.classes["create"] == STUDENTS
    assert dict(c.rejections) == {"INVALID_IPK": 1}  # only the non-numeric IPK
    assert c.warnings["MISSING_IPK"] == STUDENTS  # counted as a warning, not a rejection
    report = json.loads(first.report_path.read_text())
    assert report["summary"]["warnings"]["MISSING_IPK"] == STUDENTS
    assert report["summary"]["rejected"]["breakdown"] == {"INVALID_IPK": 1}
    assert [r["student_id"] for r in report["detailed_rejections"]] == ["00090"]
    profile_ipks, state_ipks = _stored_ipks(db)
    assert profile_ipks == [None] * STUDENTS and state_ipks == [None] * STUDENTS
    before = snapshot(db, tables=schema.SIS_TABLES)

    # Reruns are no-ops: the in-database raw-digest skip (a full scan) ...
    rerun = run(db, tmp_path)
    assert rerun.counters.classes["unchanged"] == STUDENTS
    assert rerun.counters.classes["create"] == rerun.counters.classes["update"] == 0
    # ... and the Python path (--limit reads every row; same digest, or same IPK (None) and
    # the same fingerprint).
    limited = run(db, tmp_path, limit=100)
    assert limited.counters.classes["unchanged"] == STUDENTS
    assert snapshot(db, tables=schema.SIS_TABLES) == before

    # A NULL turning into another null marker changes the raw row, not the content: the
    # fingerprint decides, with NULL IPK == NULL IPK.
    update_legacy(db, "00001", ipk="NULL")
    marker = run(db, tmp_path, limit=100)
    assert marker.counters.classes["unchanged"] == STUDENTS
    assert marker.counters.classes["update"] == 0

    # --force-update keeps its meaning: rewrite every selected row.
    forced = run(db, tmp_path, force_update=True)
    assert forced.counters.classes["update"] == STUDENTS

    # A rename under no IPK is an update, caught by a daily --modified-since run too.
    update_legacy(db, "00002", name="SOKHA Renamed", modified_date="2026-03-09 09:00:00.000")
    daily = run(
        db,
        tmp_path,
        window=DateWindow(since=FIXED_NOW.replace(tzinfo=None) - timedelta(days=2)),
    )
    assert daily.counters.classes["update"] == 1
    assert person_of(db, 2)["personal_name"] == "RENAMED"
    assert run(db, tmp_path).counters.classes["update"] == 0

    # The legacy system gets IPKs: the next run stores them (and only then).
    for n in range(1, STUDENTS + 1):
        update_legacy(db, f"{n:05d}", ipk=str(500_000 + n))
    appeared = run(db, tmp_path)
    assert appeared.counters.classes["update"] == STUDENTS
    assert "MISSING_IPK" not in appeared.counters.warnings
    profile_ipks, state_ipks = _stored_ipks(db)
    assert sorted(profile_ipks) == sorted(state_ipks) == [500_000 + n for n in range(1, 7)]
    assert profile_of(db, 3)["legacy_ipk"] == 500_003
    assert run(db, tmp_path).counters.classes["unchanged"] == STUDENTS


def test_non_numeric_ipk_is_still_rejected_and_resolved_when_fixed(db: str, tmp_path) -> None:
    run(db, tmp_path)
    (open_rejection,) = rows(db, schema.rejection)
    assert (open_rejection["legacy_id"], open_rejection["reason"]) == ("00090", "INVALID_IPK")
    update_legacy(db, "00090", ipk=None)  # the bad value removed: no IPK is no reason to reject
    fixed = run(db, tmp_path)
    assert fixed.counters.classes["create"] == 1 and fixed.counters.rejected == 0
    assert rows(db, schema.rejection)[0]["resolved_at"] is not None
    assert profile_of(db, 90)["legacy_ipk"] is None
