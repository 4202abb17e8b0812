"""The run semantics of design.md, on SQLite and PostgreSQL, with hand-built legacy rows."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from student_sync.cli import engine_message, run_exit_code
from student_sync.engine import schema
from student_sync.engine.errors import MassDeleteRefused
from student_sync.engine.options import DateWindow, IdRange, parse_modified_since
from student_sync_tests.helpers import (
    FIXED_NOW,
    contacts_of,
    init_db,
    person_of,
    profile_of,
    rows,
    run,
    snapshot,
    sponsorships_of,
    update_legacy,
    write_legacy,
)
from student_sync_tests.helpers import legacy_row as row


def base_rows() -> list[dict]:
    return [
        row(1, name="KEO Sophea <CRST>"),
        row(2, name="$$CHAN Bopha <PLF> {AF}"),
        row(3, name="LIM Rithy (ST) [moved]"),
        row(4, name="SOK Dara <PEPY><JWOC>"),
        row(5, emg_contact_person=None, contact_person_phone=None, relationship=None),
        row(6, deleted="1"),
        row(7, name=None),  # rejected: MISSING_NAME
        row("A0123"),  # rejected: INVALID_ID
        row(9, name="MEAS Vichea <XYZ>"),  # unknown sponsor: a warning, not a sponsor
        row(10, school_email="Vichea.Meas@School.edu"),
    ]


@pytest.fixture
def db(db_url: str) -> str:
    init_db(db_url)
    write_legacy(db_url, base_rows())
    return db_url


def test_initial_then_identical_rerun_changes_nothing(db: str, tmp_path) -> None:
    first = run(db, tmp_path)
    c = first.counters
    assert c.records_processed == 10
    assert c.classes["create"] == 7 and c.classes["reject"] == 2 and c.classes["unchanged"] == 1
    assert dict(c.rejections) == {"MISSING_NAME": 1, "INVALID_ID": 1}
    assert c.sponsorships["created"] == 4  # CRST, PLF, PEPY, JWOC; never AF or XYZ
    assert c.emergency_contacts["created"] == 6  # row 5 has no contact
    assert c.successful == 8
    assert c.success_rate == pytest.approx(80.0)
    assert run_exit_code(first.summary) == 1  # below 90%: critical
    before = snapshot(db)

    second = run(db, tmp_path)
    c2 = second.counters
    assert c2.classes["create"] == 0 and c2.classes["update"] == 0
    assert c2.classes["unchanged"] == 8 and c2.classes["reject"] == 2
    assert c2.efficiency == pytest.approx(80.0)
    assert snapshot(db, tables=schema.SIS_TABLES) == {
        k: v for k, v in before.items() if k in {t.name for t in schema.SIS_TABLES}
    }


def test_markers_and_names(db: str, tmp_path) -> None:
    run(db, tmp_path)
    frozen = person_of(db, 2)
    assert (frozen["family_name"], frozen["personal_name"]) == ("CHAN", "BOPHA")
    assert profile_of(db, 2)["current_status"] == "FROZEN"
    staff = person_of(db, 3)
    assert staff["personal_name"] == "RITHY"  # (ST) and [remark] are not part of the name
    assert [s["code"] for s in sponsorships_of(db, 2)] == ["PLF"]
    assert sponsorships_of(db, 9) == []
    assert person_of(db, 10)["school_email"] == "vichea.meas@school.edu"
    assert profile_of(db, 6) is None  # deleted in legacy, never imported as ACTIVE


def test_edits_under_same_ipk_are_detected(db: str, tmp_path) -> None:
    run(db, tmp_path)
    update_legacy(db, "00001", name="KEO Sophea-Ly <CRST>")  # rename, same IPK
    update_legacy(db, "00004", name="SOK Dara <PEPY><LOC>")  # JWOC -> LOC
    update_legacy(db, "00002", name="$$CHAN Bopha {AF}")  # PLF removed
    update_legacy(db, "00003", emg_contact_person="NULL", contact_person_phone="NULL")
    update_legacy(db, "00005", deleted="1")
    result = run(db, tmp_path, now=FIXED_NOW + timedelta(days=1))
    c = result.counters
    assert c.classes["update"] == 4 and c.classes["delete"] == 1
    assert c.classes["create"] == 0 and c.classes["unchanged"] == 3
    assert c.persons["updated"] == 4 and c.persons["deleted"] == 1
    assert c.sponsorships["ended"] == 2 and c.sponsorships["created"] == 1
    assert c.emergency_contacts["deleted"] == 1
    assert person_of(db, 1)["personal_name"] == "SOPHEA-LY"
    plf = sponsorships_of(db, 2)
    assert len(plf) == 1 and plf[0]["end_date"] is not None  # ended, never deleted
    codes = {s["code"]: s["end_date"] for s in sponsorships_of(db, 4)}
    assert codes["JWOC"] is not None and codes["LOC"] is None and codes["PEPY"] is None
    assert contacts_of(db, 3) == []
    deleted = profile_of(db, 5)
    assert deleted["is_deleted"] and deleted["deleted_at"] is not None
    assert person_of(db, 5)["is_deleted"]

    update_legacy(db, "00005", deleted="0")  # the student comes back
    back = run(db, tmp_path, now=FIXED_NOW + timedelta(days=2))
    assert back.counters.classes["update"] == 1
    assert not profile_of(db, 5)["is_deleted"]


def test_force_update_rewrites_every_selected_row(db: str, tmp_path) -> None:
    run(db, tmp_path)
    result = run(db, tmp_path, force_update=True)
    assert result.counters.classes["update"] == 7
    assert result.counters.classes["unchanged"] == 1  # the deleted, never-imported row


def test_dry_run_writes_nothing_and_predicts_the_real_run(db: str, tmp_path) -> None:
    run(db, tmp_path)
    update_legacy(db, "00001", name="KEO Sophea-Ly")
    update_legacy(db, "00005", deleted="1")
    before = snapshot(db)
    dry = run(db, tmp_path, dry_run=True)
    assert snapshot(db) == before
    real = run(db, tmp_path)
    assert dry.counters.as_dict() == real.counters.as_dict()
    assert dry.report_path and '"dry_run": true' in dry.report_path.read_text()


def test_rejections_are_stored_and_resolved(db: str, tmp_path) -> None:
    result = run(db, tmp_path)
    stored = rows(db, schema.rejection)
    assert {(r["legacy_id"], r["reason"]) for r in stored} == {
        ("00007", "MISSING_NAME"),
        ("A0123", "INVALID_ID"),
    }
    report = result.report_path.read_text()
    assert "MISSING_NAME" in report and "detailed_rejections" in report
    update_legacy(db, "00007", name="NEW Student")
    run(db, tmp_path)
    resolved = {r["legacy_id"]: r["resolved_at"] for r in rows(db, schema.rejection)}
    assert resolved["00007"] is not None and resolved["A0123"] is None
    assert profile_of(db, 7) is not None


def test_modes(db: str, tmp_path) -> None:
    # Refused rows carry their legacy id and IPK as the legacy table holds them.
    gated = {(f"{n:05d}", str(100000 + n)) for n in (1, 2, 3, 4, 5, 9, 10)}
    update_only = run(db, tmp_path, mode="update-only")
    assert update_only.counters.rejections["NOT_FOUND"] == 7
    assert update_only.counters.classes["create"] == 0
    refused = update_only.summary.rejections
    assert {(r.legacy_id, r.ipk) for r in refused if r.reason == "NOT_FOUND"} == gated
    run(db, tmp_path)
    create_only = run(db, tmp_path, mode="create-only")
    assert create_only.counters.rejections["EXISTS"] == 7
    refused = create_only.summary.rejections
    assert {(r.legacy_id, r.ipk) for r in refused if r.reason == "EXISTS"} == gated


def test_student_id_range_is_inclusive_and_ignores_bad_ids(db: str, tmp_path) -> None:
    result = run(db, tmp_path, id_ranges=(IdRange(2, 4),))
    assert result.counters.records_processed == 3
    assert {p["student_id"] for p in rows(db, schema.student_profile)} == {2, 3, 4}


def test_limit_and_batch_size(db: str, tmp_path) -> None:
    result = run(db, tmp_path, limit=4, batch_size=3)
    assert result.counters.records_processed == 4
    assert result.counters.batches == 2
    assert {p["student_id"] for p in rows(db, schema.student_profile)} == {1, 2, 3, 4}


def test_modified_since_yesterday_in_school_time(db: str, tmp_path) -> None:
    # 2026-03-10 00:30 in Phnom Penh is still 03-09 in UTC: yesterday = 03-09 local.
    now = datetime.fromisoformat("2026-03-09T17:30:00+00:00")
    since = parse_modified_since("yesterday", timezone="Asia/Phnom_Penh", now=now)
    assert since == datetime(2026, 3, 9)
    update_legacy(db, "00001", modified_date="2026-03-09 08:00:00.000")
    update_legacy(db, "00002", modified_date="Mar  9 2026  7:15AM")  # non-ISO text
    update_legacy(db, "00003", modified_date=None, created_date="2026-03-09 09:00:00.000")
    update_legacy(db, "00004", modified_date="2026-03-08 23:59:59.000")
    update_legacy(db, "00005", modified_date="NULL", created_date=None)
    result = run(db, tmp_path, window=DateWindow(since=since), now=now)
    assert result.counters.records_processed == 3
    assert {p["student_id"] for p in rows(db, schema.student_profile)} == {1, 2, 3}


def test_vanished_students_and_mass_delete_guard(db: str, tmp_path) -> None:
    rows_ = base_rows() + [row(n) for n in range(11, 101)]
    write_legacy(db, rows_)
    run(db, tmp_path)
    write_legacy(db, [r for r in rows_ if r["id"] != "00050"])  # one of ~97 vanishes
    one = run(db, tmp_path)
    assert one.counters.vanished == 1 and profile_of(db, 50)["is_deleted"]
    write_legacy(db, rows_[:40])  # half the table is gone: refuse
    with pytest.raises(MassDeleteRefused, match="rerun with allow_mass_delete") as refused:
        run(db, tmp_path)
    # the engine names the option its own way; the command line names the flag
    assert "then rerun with --allow-mass-delete if it" in engine_message(refused.value)
    assert not profile_of(db, 60)["is_deleted"]
    forced = run(db, tmp_path, allow_mass_delete=True)
    assert forced.counters.vanished == 59


def test_duplicate_school_email_is_rejected(db: str, tmp_path) -> None:
    write_legacy(
        db, [row(1, school_email="same@school.edu"), row(2, school_email="SAME@school.edu"), row(3)]
    )
    result = run(db, tmp_path)
    assert result.counters.rejections["DUPLICATE_SCHOOL_EMAIL"] == 1
    assert result.counters.classes["create"] == 2


def test_duplicate_legacy_ids_are_rejected_not_guessed(db: str, tmp_path) -> None:
    write_legacy(db, [row(1), row("1", ipk="999"), row(2)])
    result = run(db, tmp_path)
    assert result.counters.rejections["DUPLICATE_ID"] == 2
    assert profile_of(db, 1) is None and profile_of(db, 2) is not None


def test_progress_reports_the_slice_total(db: str, tmp_path) -> None:
    from student_sync.engine.db import DatabaseUrls, normalize_url
    from student_sync.engine.options import SyncOptions
    from student_sync.engine.run import sync

    seen: list[dict] = []
    url = normalize_url(db)
    result = sync(
        DatabaseUrls(url, url),
        SyncOptions(batch_size=3, reports_dir=tmp_path / "r"),
        progress=seen.append,
        now=FIXED_NOW,
    )
    assert len(seen) == result.counters.batches
    assert all(p["total"] == 10 for p in seen)  # known before the first batch, not 0
    assert seen[-1]["processed"] == result.counters.records_processed == 10
