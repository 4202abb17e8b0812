"""The change log, registrar-edit conflicts and ``student-sync history`` (SQLite and PostgreSQL).

A registrar's edit in the SIS survives an update of another column of the same student and a
``--force-update``, is reported once (not on every run), and is overwritten only under
``--on-conflict legacy-wins``, with the overwritten value in the change log. Every write is
logged with its old and new values; dry runs and no-change reruns log nothing.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import MetaData, delete, func, select, update

from student_sync import demo
from student_sync.cli import main
from student_sync.engine import changelog, schema
from student_sync.engine.db import make_engine, normalize_url
from student_sync.engine.model import PlanBatch, PlannedStudent, StateRow
from student_sync.engine.options import DateWindow
from student_sync_tests.helpers import (
    FIXED_NOW,
    contacts_of,
    init_db,
    person_of,
    rows,
    run,
    update_legacy,
    write_legacy,
)
from student_sync_tests.helpers import legacy_row as row

REGISTRAR_KHMER = "សុខា ដារា"
REGISTRAR_PHONE = "099 111 222"


def _count(url: str, table: Any) -> int:
    engine = make_engine(normalize_url(url))
    with engine.connect() as conn:
        n = int(conn.execute(select(func.count()).select_from(table)).scalar_one())
    engine.dispose()
    return n


def registrar_edits(url: str, student_id: int, *, khmer_name: str, phone: str | None) -> None:
    """What a registrar does in the SIS: fix the Khmer name (and the contact's phone)."""
    person = person_of(url, student_id)
    assert person is not None
    engine = make_engine(normalize_url(url))
    with engine.begin() as conn:
        p, c = schema.person, schema.emergency_contact
        conn.execute(update(p).where(p.c.id == person["id"]).values(khmer_name=khmer_name))
        if phone is not None:
            conn.execute(update(c).where(c.c.person_id == person["id"]).values(primary_phone=phone))
    engine.dispose()


def log_rows(url: str, student_id: int) -> list[dict[str, Any]]:
    t = schema.change_log
    found = rows(url, t, t.c.student_id == student_id)
    return [
        {**r, "changes": json.loads(r["changes"])} for r in sorted(found, key=lambda r: r["id"])
    ]


def report_of(result: Any) -> dict[str, Any]:
    return json.loads(result.report_path.read_text(encoding="utf-8"))


def test_registrar_edit_is_kept_reported_once_and_overwritten_only_by_legacy_wins(
    db_url: str, tmp_path, capsys
) -> None:
    init_db(db_url)
    write_legacy(db_url, [row(1), row(2), row(3)])
    run(db_url, tmp_path)
    registrar_edits(db_url, 1, khmer_name=REGISTRAR_KHMER, phone=REGISTRAR_PHONE)

    # The legacy row changes another column of the same student: an update.
    update_legacy(db_url, "00001", email="new.address@example.org")
    later = FIXED_NOW + timedelta(days=1)
    first = run(db_url, tmp_path, now=later)
    assert first.counters.classes["update"] == 1
    person = person_of(db_url, 1)
    assert person is not None
    assert person["khmer_name"] == REGISTRAR_KHMER  # the registrar's fix survived
    assert person["personal_email"] == "new.address@example.org"  # the rest was written
    assert contacts_of(db_url, 1)[0]["primary_phone"] == REGISTRAR_PHONE
    report = report_of(first)
    assert report["summary"]["conflicts"] == 2 and report["summary"]["open_conflicts"] == 2
    assert {
        (c["student_id"], c["column"], c["sis_value"], c["resolution"]) for c in report["conflicts"]
    } == {
        (1, "khmer_name", REGISTRAR_KHMER, "kept-sis"),
        (1, "primary_phone", REGISTRAR_PHONE, "kept-sis"),
    }
    khmer = next(c for c in report["conflicts"] if c["column"] == "khmer_name")
    assert khmer["legacy_value"] == "" and khmer["table"] == "people_person"
    email_change = [e for e in log_rows(db_url, 1) if e["action"] == "update"]
    assert len(email_change) == 1  # the person row; the contact was not written at all
    assert email_change[0]["changes"] == {
        "personal_email": ["darab@example.org", "new.address@example.org"]
    }
    assert email_change[0]["run_id"] == first.summary.run_id

    # The weekly --force-update rewrites every row but the registrar's edits, and does not
    # report the same conflict again.
    forced = run(db_url, tmp_path, now=later + timedelta(days=1), force_update=True)
    assert forced.counters.classes["update"] == 3
    assert person_of(db_url, 1)["khmer_name"] == REGISTRAR_KHMER  # type: ignore[index]
    assert contacts_of(db_url, 1)[0]["primary_phone"] == REGISTRAR_PHONE
    assert report_of(forced)["summary"]["conflicts"] == 0
    assert report_of(forced)["conflicts"] == []
    assert forced.counters.open_conflicts == 2
    plain = run(db_url, tmp_path, now=later + timedelta(days=2))
    assert plain.counters.conflicts == 0 and plain.counters.classes["update"] == 0
    assert main(["history", "1", "--json", "--database-url", db_url]) == 0
    told = json.loads(capsys.readouterr().out)["conflicts"]
    assert {(c["column"], c["sis_value"], c["open"]) for c in told} == {
        ("khmer_name", REGISTRAR_KHMER, True),
        ("primary_phone", REGISTRAR_PHONE, True),
    }

    # A dry run with legacy-wins shows what it would overwrite and writes nothing.
    logged = _count(db_url, schema.change_log)
    dry = run(
        db_url,
        tmp_path,
        now=later + timedelta(days=3),
        force_update=True,
        on_conflict="legacy-wins",
        dry_run=True,
    )
    assert dry.counters.conflicts == 2
    assert _count(db_url, schema.change_log) == logged
    assert person_of(db_url, 1)["khmer_name"] == REGISTRAR_KHMER  # type: ignore[index]

    # legacy-wins overwrites, once, and the change log keeps the registrar's value.
    wins = run(
        db_url,
        tmp_path,
        now=later + timedelta(days=3),
        force_update=True,
        on_conflict="legacy-wins",
    )
    assert wins.counters.conflicts == 2 and wins.counters.open_conflicts == 0
    assert {c["resolution"] for c in report_of(wins)["conflicts"]} == {"legacy-wins"}
    assert person_of(db_url, 1)["khmer_name"] == ""  # type: ignore[index]
    assert contacts_of(db_url, 1)[0]["primary_phone"] == "012345678"
    overwritten = [e for e in log_rows(db_url, 1) if e["run_id"] == wins.summary.run_id]
    assert {e["table_name"]: e["changes"] for e in overwritten} == {
        "people_person": {"khmer_name": [REGISTRAR_KHMER, ""]},
        "people_emergencycontact": {"primary_phone": [REGISTRAR_PHONE, "012345678"]},
    }
    again = run(db_url, tmp_path, now=later + timedelta(days=4), force_update=True)
    assert again.counters.conflicts == 0 and again.counters.open_conflicts == 0


def test_conflict_is_reported_again_when_the_legacy_value_changes(db_url: str, tmp_path) -> None:
    init_db(db_url)
    write_legacy(db_url, [row(7)])
    run(db_url, tmp_path)
    registrar_edits(db_url, 7, khmer_name=REGISTRAR_KHMER, phone=None)
    update_legacy(db_url, "00007", email="one@example.org")
    assert run(db_url, tmp_path, now=FIXED_NOW + timedelta(days=1)).counters.conflicts == 1
    update_legacy(db_url, "00007", email="two@example.org")
    assert run(db_url, tmp_path, now=FIXED_NOW + timedelta(days=2)).counters.conflicts == 0
    update_legacy(db_url, "00007", kname="ដារា")  # the legacy side now says something else
    third = run(db_url, tmp_path, now=FIXED_NOW + timedelta(days=3))
    assert [(c.column, c.sis_value, c.legacy_value) for c in third.summary.conflicts] == [
        ("khmer_name", REGISTRAR_KHMER, "ដារា")
    ]
    assert person_of(db_url, 7)["khmer_name"] == REGISTRAR_KHMER  # type: ignore[index]
    # The legacy table adopts the registrar's spelling: the conflict is settled.
    update_legacy(db_url, "00007", kname=REGISTRAR_KHMER)
    settled = run(db_url, tmp_path, now=FIXED_NOW + timedelta(days=4))
    assert settled.counters.conflicts == 0 and settled.counters.open_conflicts == 0


def test_an_edit_the_registrar_settles_does_not_come_back_as_a_conflict(
    db_url: str, tmp_path
) -> None:
    """Kept edit -> the registrar adopts the legacy value -> a forced rewrite settles it and
    records that value as the sync's own: the next legacy change is written, no conflict."""
    init_db(db_url)
    write_legacy(db_url, [row(9)])
    run(db_url, tmp_path)
    registrar_edits(db_url, 9, khmer_name=REGISTRAR_KHMER, phone=None)
    update_legacy(db_url, "00009", kname="ដារា")
    assert run(db_url, tmp_path, now=FIXED_NOW + timedelta(days=1)).counters.conflicts == 1
    registrar_edits(db_url, 9, khmer_name="ដារា", phone=None)  # adopts the legacy spelling
    settled = run(db_url, tmp_path, now=FIXED_NOW + timedelta(days=2), force_update=True)
    assert settled.counters.open_conflicts == 0
    update_legacy(db_url, "00009", kname="សុភា")
    later = run(db_url, tmp_path, now=FIXED_NOW + timedelta(days=3))
    assert later.counters.conflicts == 0 and later.counters.open_conflicts == 0
    assert person_of(db_url, 9)["khmer_name"] == "សុភា"  # type: ignore[index]


def test_every_write_is_logged_and_nothing_when_nothing_changes(db_url: str, tmp_path) -> None:
    init_db(db_url)
    write_legacy(db_url, [row(1, name="SOKHA Dara <PLF>"), row(2)])
    first = run(db_url, tmp_path)
    actions = {(e["table_name"], e["action"]) for e in log_rows(db_url, 1)}
    assert actions == {
        ("people_person", "create"),
        ("people_studentprofile", "create"),
        ("people_emergencycontact", "create"),
        ("scholarships_sponsoredstudent", "open"),
    }
    created = next(e for e in log_rows(db_url, 1) if e["table_name"] == "people_person")
    assert created["changes"]["family_name"] == [None, "SOKHA"]
    assert created["run_id"] == first.summary.run_id
    logged = _count(db_url, schema.change_log)

    # No change: a rerun (and a dry run) log nothing.
    run(db_url, tmp_path, now=FIXED_NOW + timedelta(hours=1))
    assert _count(db_url, schema.change_log) == logged

    # Contact removed, sponsor ended, student 2 deleted then restored.
    update_legacy(db_url, "00001", name="SOKHA Dara", emg_contact_person=None)
    update_legacy(db_url, "00002", deleted="1")
    run(db_url, tmp_path, now=FIXED_NOW + timedelta(days=1))
    update_legacy(db_url, "00002", deleted="0")
    run(db_url, tmp_path, now=FIXED_NOW + timedelta(days=2))
    one = {(e["table_name"], e["action"]): e["changes"] for e in log_rows(db_url, 1)}
    assert one[("scholarships_sponsoredstudent", "end")]["sponsor"] == ["PLF", None]
    assert one[("people_emergencycontact", "delete")]["name"][1] is None
    two = [(e["table_name"], e["action"]) for e in log_rows(db_url, 2)]
    assert two[-4:] == [
        ("people_person", "delete"),
        ("people_studentprofile", "delete"),
        ("people_person", "restore"),
        ("people_studentprofile", "restore"),
    ]

    # Retention: a run 30 days later with --change-log-days 7 prunes the old rows.
    total = _count(db_url, schema.change_log)
    assert total > logged
    run(db_url, tmp_path, now=FIXED_NOW + timedelta(days=30), change_log_days=7)
    assert _count(db_url, schema.change_log) == 0


def test_history_tells_the_day_of_edits(db_url: str, tmp_path, capsys) -> None:
    today = date(2026, 3, 10)
    now = datetime.fromisoformat("2026-03-10T03:00:00+00:00")
    init_db(db_url)
    engine = make_engine(normalize_url(db_url))
    demo.write_legacy_table(engine, demo.generate_legacy_rows(300, 11, today=today))
    # The initial load the day before: a period opened and ended on the same day would be
    # a zero-length one, soft-deleted rather than ended (apply._end_sponsorships).
    run(db_url, tmp_path, now=now - timedelta(days=1), batch_size=100)
    edits = demo.apply_day_of_edits(engine, seed=5, edit_day=today, fraction=0.03)
    engine.dispose()
    edited = run(
        db_url,
        tmp_path,
        now=now + timedelta(hours=1),
        window=DateWindow(since=datetime(2026, 3, 10)),
    )
    run_id = edited.summary.run_id

    def history(student: str) -> dict[str, Any]:
        assert main(["history", str(int(student)), "--json", "--database-url", db_url]) == 0
        return json.loads(capsys.readouterr().out)

    renamed = history(edits.renames[0])
    newest = renamed["changes"][0]
    assert newest["run_id"] == run_id and newest["action"] == "update"
    assert newest["table_name"] == "people_person"
    old, new = newest["changes"]["full_name"]
    assert old != new and new
    assert renamed["changes"][-1]["action"] == "create"  # the story goes back to the start

    changed = history(edits.sponsor_changes[0])
    latest = [c for c in changed["changes"] if c["run_id"] == run_id]
    assert {c["action"] for c in latest} >= {"end", "open"}
    periods = changed["sponsorships"]
    assert any(p["end_date"] == today.isoformat() for p in periods)
    assert any(p["end_date"] is None and p["start_date"] == today.isoformat() for p in periods)

    deleted = history(edits.deletions[0])
    assert deleted["current"]["is_deleted"] is True
    assert [c["action"] for c in deleted["changes"][:2]] == ["delete", "delete"]
    assert deleted["changes"][0]["changes"]["is_deleted"] == [False, True]

    # The text form says the same for people.
    assert main(["history", str(int(edits.renames[0])), "--database-url", db_url]) == 0
    text = capsys.readouterr().out
    assert f"run {run_id}" in text and f"full_name: {old} -> {new}" in text


def test_history_lists_rejections_of_the_id(db_url: str, tmp_path, capsys) -> None:
    init_db(db_url)
    write_legacy(db_url, [row("00042", name=None), row(43)])
    run(db_url, tmp_path)
    assert main(["history", "42", "--json", "--database-url", db_url]) == 0
    found = json.loads(capsys.readouterr().out)
    assert [(r["legacy_id"], r["reason"]) for r in found["rejections"]] == [
        ("00042", "MISSING_NAME")
    ]
    assert found["changes"] == [] and found["current"] is None


def test_find_conflicts_is_a_pure_decision() -> None:
    written = {"khmer_name": changelog.digest(""), "full_name": changelog.digest("A B")}
    last = {c: written.get(c, changelog.digest(None)) for c in changelog.OWNED["person"]}
    sis = {"khmer_name": "សុខា", "full_name": "A B"}
    legacy = {"khmer_name": "", "full_name": "A C"}
    found, kept = changelog.find_conflicts(1, "person", sis, legacy, last, {}, "keep-sis")
    assert [(c.column, c.reported) for c in found] == [("khmer_name", True)]
    assert kept == {"khmer_name": "សុខា"}  # full_name is the sync's own value: written
    again, _ = changelog.find_conflicts(
        1, "person", sis, legacy, last, {"khmer_name": found[0].digest}, "keep-sis"
    )
    assert [c.reported for c in again] == [False]  # reported once
    wins, kept = changelog.find_conflicts(1, "person", sis, legacy, last, {}, "legacy-wins")
    assert kept == {} and wins[0].resolution == "legacy-wins"
    agreed, _ = changelog.find_conflicts(1, "person", sis, sis, last, {}, "keep-sis")
    assert agreed == []  # registrar and legacy table agree: nothing to report


def test_vanished_students_are_logged() -> None:
    state = StateRow(5, "5", 100005, None, "f", "v", 1, 1, None, False)
    batch = PlanBatch(number=1, vanished=[state])
    batch.students.append(PlannedStudent("unchanged", 6, "6", None))
    changes = changelog.batch_changes(batch, run_id="r", now=FIXED_NOW, today=date(2026, 3, 10))
    entries = [dict(zip(changelog.CHANGE_LOG_COLUMNS, e, strict=True)) for e in changes.entries]
    assert [(e["student_id"], e["table_name"], e["action"]) for e in entries] == [
        (5, "people_person", "vanish"),
        (5, "people_studentprofile", "vanish"),
    ]


def test_digests_tell_values_and_types_apart() -> None:
    values = [None, True, False, 0, 1, "", "0", "1", date(2026, 1, 2), "2026-01-02"]
    assert len({changelog.digest(v) for v in values}) == len(values)


def test_a_value_cut_to_fit_its_column_is_not_a_registrar_edit(db_url: str, tmp_path) -> None:
    """The digests are those of the values as written (``engine/fit.py`` cut them to the
    columns): the SIS holding the cut value is not taken for an edit on later runs."""
    long_khmer = "សុខា" * 80  # 320 characters; people_person.khmer_name holds 255
    long_contact = "SOKHA " + "Vanna" * 30  # 156 characters; the contact's name holds 100
    init_db(db_url)
    write_legacy(db_url, [row(1, kname=long_khmer, emg_contact_person=long_contact), row(2)])
    first = run(db_url, tmp_path)
    assert first.counters.warnings["VALUE_TRUNCATED"] >= 1
    person = person_of(db_url, 1)
    assert person is not None and len(person["khmer_name"]) == 255
    assert [len(c["name"]) for c in contacts_of(db_url, 1)] == [100]

    # Another column of the person and of the contact changes: both parts are checked.
    update_legacy(db_url, "00001", email="other@example.org", contact_person_phone="011 222 333")
    second = run(db_url, tmp_path, now=FIXED_NOW + timedelta(days=1))
    assert second.counters.classes["update"] == 1
    forced = run(db_url, tmp_path, now=FIXED_NOW + timedelta(days=2), force_update=True)
    for result in (second, forced):
        assert result.counters.conflicts == 0 and result.counters.open_conflicts == 0
    assert [c["primary_phone"] for c in contacts_of(db_url, 1)] == ["011222333"]


def _bookkeeping(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """The change log, last-written digests and conflicts in id/key order, run ids as the
    order of the runs that wrote them (two databases' runs have different ids)."""
    runs: dict[str, int] = {}
    ledger = sorted(rows(url, schema.change_log), key=lambda r: r["id"])
    for r in ledger:
        runs.setdefault(r["run_id"], len(runs))

    def plain(r: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(runs.get(v, v) if k.endswith("run_id") else v for k, v in sorted(r.items()))

    return {
        t.name: sorted(map(plain, rows(url, t)), key=repr)
        for t in (schema.change_log, schema.last_written, schema.conflict)
    }


def test_a_batch_logged_in_slices_writes_the_rows_of_one_built_at_once(
    db_url: str, tmp_path, monkeypatch
) -> None:
    """A large batch's change log is built and written a slice of students at a time (memory):
    the rows, their order (ids) and the digests and conflicts are those of the whole batch."""
    from student_sync.engine import apply

    if db_url.startswith("sqlite"):
        databases = iter([f"sqlite:///{tmp_path / 'twin.sqlite'}"])
    else:
        from student_sync_tests.conftest import fresh_postgres_url

        databases = fresh_postgres_url()  # closed below: drops the twin
    twin = next(databases)
    try:
        for url, slice_size in ((db_url, 3), (twin, apply.CHANGE_LOG_SLICE)):
            monkeypatch.setattr(apply, "CHANGE_LOG_SLICE", slice_size)
            _slices_scenario(url, tmp_path)
        sliced, whole = _bookkeeping(db_url), _bookkeeping(twin)
    finally:
        close = getattr(databases, "close", None)
        if close is not None:
            close()
    assert len(sliced["student_sync_change_log"]) > 33  # 11 creations of 3 rows, and more
    assert sliced["student_sync_conflict"]  # the registrar's edit met a legacy change
    assert sliced == whole


def _slices_scenario(url: str, tmp_path) -> None:
    """Creates (a batch of 10, then 1), then a registrar edit met by a legacy change, a
    rename, a contact removed, a deletion and a vanished student, all force-updated."""
    init_db(url)
    write_legacy(url, [row(n) for n in range(1, 12)])
    run(url, tmp_path, batch_size=10)
    registrar_edits(url, 3, khmer_name=REGISTRAR_KHMER, phone=REGISTRAR_PHONE)
    update_legacy(url, "00003", kname="ថ្មី", contact_person_phone="011 222 333")
    update_legacy(url, "00005", name="SOKHA Bopha", emg_contact_person=None)
    update_legacy(url, "00006", deleted="1")
    engine = make_engine(normalize_url(url))
    with engine.begin() as conn:  # student 11 vanishes from the legacy table
        legacy = schema.legacy_students_table(MetaData())
        conn.execute(delete(legacy).where(legacy.c.id == "00011"))
    engine.dispose()
    later = FIXED_NOW + timedelta(days=1)
    run(url, tmp_path, now=later, batch_size=10, force_update=True, allow_mass_delete=True)
