"""The sync against an SIS built by Django's own `migrate` (both contact schemas).

Every written row must pass the model's full_clean() as a registrar's form would run it, the
registrar must be able to add rows through the ORM afterwards (identity ids never collide),
and the next sync must leave those rows alone. Problems with the database stop a run before
anything is written (exit 2); a database error mid-run is one line without personal data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, select, text

from student_sync.cli import main
from student_sync.engine import schema
from student_sync.engine.db import normalize_url
from student_sync_tests.djangosis import sis_checks

pytestmark = pytest.mark.postgres

STUDENTS = 520  # one batch of 600 holds them all: new rows and updates take the COPY paths


def schema_of(request: pytest.FixtureRequest) -> str:
    return request.node.callspec.params["django_sis_url"]


def cli(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def last_report(reports: Path) -> dict[str, Any]:
    newest = max(reports.glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
    return json.loads(newest.read_text())


def migrate(capsys, url: str, reports: Path, *extra: str) -> dict[str, Any]:
    code, _out, err = cli(capsys, "migrate", "--database-url", url, "--reports-dir",
                          str(reports), "--batch-size", "600", "--quiet", *extra)  # fmt: skip
    assert code == 0, err
    assert "Traceback" not in err
    return last_report(reports)


def rows_of(url: str, table: str, **where: Any) -> list[dict[str, Any]]:
    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            clause = " AND ".join(f"{k} = :{k}" for k in where) or "true"
            result = conn.execute(
                text(f"SELECT * FROM {table} WHERE {clause} ORDER BY 1"),  # noqa: S608
                where,
            )
            return [dict(r) for r in result.mappings()]
    finally:
        engine.dispose()


def execute(url: str, *statements: str) -> None:
    engine = create_engine(normalize_url(url))
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()


def test_whole_flow_on_a_django_built_sis(django_sis_url: str, request, tmp_path, capsys) -> None:
    url, contact_schema = django_sis_url, schema_of(request)
    contact_table = "people_contact" if contact_schema == "contact" else "people_emergencycontact"
    reports = tmp_path / "reports"

    # init: only the sync's own tables, sponsors with every NOT NULL column filled
    engine = create_engine(normalize_url(url))
    django_tables = set(inspect(engine).get_table_names())
    engine.dispose()
    code, out, err = cli(capsys, "init", "--check", "--database-url", url)
    assert code == 2 and "sync tables missing" in out
    code, out, err = cli(capsys, "init", "--database-url", url)
    assert code == 0, err
    assert f"contact table: {contact_table}" in out
    engine = create_engine(normalize_url(url))
    created = set(inspect(engine).get_table_names()) - django_tables
    engine.dispose()
    assert created and all(name.startswith("student_sync_") for name in created)
    code, out, _ = cli(capsys, "init", "--check", "--database-url", url)
    assert code == 0 and "Ready" in out and "legacy_ipk: integer" in out

    # initial sync
    assert cli(capsys, "demo-data", "--students", str(STUDENTS), "--database-url", url)[0] == 0
    first = migrate(capsys, url, reports)["summary"]
    assert first["persons"]["created"] > 450
    assert first["emergency_contacts"]["created"] > 0 and first["sponsorships"]["created"] > 0

    checks = sis_checks(url, contact_schema, "report")
    assert checks["invalid_total"] == 0, checks["invalid"]
    counts = checks["counts"]
    assert counts["people.Person"]["all"] == first["persons"]["created"]
    contact_label = "people.Contact" if contact_schema == "contact" else "people.EmergencyContact"
    assert counts[contact_label]["all"] == first["emergency_contacts"]["created"]
    flag = "is_emergency_contact" if contact_schema == "contact" else "is_primary"
    contacts = rows_of(url, contact_table)
    assert all(c[flag] for c in contacts)
    if contact_schema == "contact":
        assert not any(c["is_general_contact"] for c in contacts)

    # the registrar adds a student through the ORM: ids never collide with the sync's
    registrar = sis_checks(url, contact_schema, "create", "--student-id", "990001")
    registrar_before = {
        "person": rows_of(url, "people_person", id=registrar["person"]),
        "profile": rows_of(url, "people_studentprofile", id=registrar["profile"]),
        "contact": rows_of(url, contact_table, id=registrar["contact"]),
        "sponsorship": rows_of(url, "scholarships_sponsoredstudent", id=registrar["sponsorship"]),
    }

    # a day of edits, then --force-update, a no-op rerun and a dry run
    assert cli(capsys, "demo-data", "--apply-edits", "--database-url", url)[0] == 0
    # ... and the legacy system deletes a sponsored student
    sponsored = rows_of(url, "scholarships_sponsoredstudent")[0]["student_id"]
    gone = rows_of(url, "people_studentprofile", id=sponsored)[0]["student_id"]
    execute(url, f"UPDATE legacy_students SET deleted = '1' WHERE ltrim(id, '0') = '{gone}'")
    edits = migrate(capsys, url, reports)["summary"]
    assert edits["persons"]["updated"] > 0 and edits["persons"]["deleted"] >= 1
    forced = migrate(capsys, url, reports, "--force-update")["summary"]
    assert forced["persons"]["updated"] > 450  # every live student rewritten (staged UPDATEs)
    again = migrate(capsys, url, reports)["summary"]
    for key in ("persons", "students"):
        assert (again[key]["created"], again[key]["updated"], again[key]["deleted"]) == (0, 0, 0)
    assert again["emergency_contacts"] == {"created": 0, "updated": 0, "deleted": 0}
    assert again["sponsorships"] == {"created": 0, "updated": 0, "ended": 0}
    dry = migrate(capsys, url, reports, "--dry-run")["summary"]
    assert dry["persons"]["created"] == dry["persons"]["updated"] == 0

    # what Django sees afterwards
    checks = sis_checks(url, contact_schema, "report")
    assert checks["invalid_total"] == 0, checks["invalid"]
    counts = checks["counts"]
    deleted = counts["people.StudentProfile"]["all"] - counts["people.StudentProfile"]["visible"]
    assert deleted >= edits["students"]["deleted"] > 0  # soft-deleted rows hidden by the manager
    assert registrar_before == {
        "person": rows_of(url, "people_person", id=registrar["person"]),
        "profile": rows_of(url, "people_studentprofile", id=registrar["profile"]),
        "contact": rows_of(url, contact_table, id=registrar["contact"]),
        "sponsorship": rows_of(url, "scholarships_sponsoredstudent", id=registrar["sponsorship"]),
    }
    # and once more after all that: a second registrar student still gets fresh ids
    sis_checks(url, contact_schema, "create", "--student-id", "990002")


def test_missing_legacy_ipk_stops_before_writing(django_sis_url: str, tmp_path, capsys) -> None:
    url = django_sis_url
    execute(url, "ALTER TABLE people_studentprofile DROP COLUMN legacy_ipk")
    engine = create_engine(normalize_url(url))
    before = set(inspect(engine).get_table_names())
    engine.dispose()
    code, _out, err = cli(capsys, "init", "--database-url", url)
    assert code == 2
    assert "people_studentprofile.legacy_ipk" in err
    assert "0014_add_legacy_ipk_to_student_profile" in err and "ALTER TABLE" in err
    assert len(err.strip().splitlines()) == 1
    engine = create_engine(normalize_url(url))
    assert set(inspect(engine).get_table_names()) == before  # nothing created
    engine.dispose()
    code, out, _ = cli(capsys, "init", "--check", "--database-url", url)
    assert code == 2 and "legacy_ipk: missing" in out


def test_unknown_not_null_column_stops_the_run(django_sis_url: str, tmp_path, capsys) -> None:
    url = django_sis_url
    assert cli(capsys, "init", "--database-url", url)[0] == 0
    assert cli(capsys, "demo-data", "--students", "40", "--database-url", url)[0] == 0
    execute(url, "ALTER TABLE people_person ADD COLUMN nickname text NOT NULL")
    code, _out, err = cli(capsys, "migrate", "--database-url", url, "--reports-dir",
                          str(tmp_path), "--quiet")  # fmt: skip
    assert code == 2
    assert "people_person.nickname" in err and len(err.strip().splitlines()) == 1
    assert rows_of(url, "people_person") == [] and rows_of(url, "student_sync_run") == []


def test_constraint_violation_is_one_line_without_personal_data(
    django_sis_url: str, tmp_path, capsys
) -> None:
    url = django_sis_url
    assert cli(capsys, "init", "--database-url", url)[0] == 0
    assert cli(capsys, "demo-data", "--students", "40", "--database-url", url)[0] == 0
    execute(
        url,
        "ALTER TABLE people_person ADD CONSTRAINT born_in_the_future "
        "CHECK (date_of_birth IS NULL OR date_of_birth > '2100-01-01')",
    )
    code, _out, err = cli(capsys, "migrate", "--database-url", url, "--reports-dir",
                          str(tmp_path), "--quiet")  # fmt: skip
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "born_in_the_future" in lines[0] and "Traceback" not in err
    engine = create_engine(normalize_url(url))
    with engine.connect() as conn:
        people = conn.execute(text("SELECT name, email, birth_date FROM legacy_students")).all()
        ledger = conn.execute(select(schema.run_ledger.c.error)).scalars().all()
    engine.dispose()
    assert ledger and "born_in_the_future" in ledger[-1]
    outputs = [err, *ledger, *(p.read_text() for p in tmp_path.rglob("*.json"))]
    for name, email, _birth in people:
        family = (name or "").split()[0].strip("<>$") if name else ""
        for value in (family, email):
            if value and len(value) > 3:
                assert all(value not in out for out in outputs), value
    for output in outputs:
        assert "Failing row" not in output and "DETAIL" not in output
        assert "COPY" not in output
