"""Django's rules on the tables `init` creates (SQLite and PostgreSQL): values that fit,
IPKs beyond the integer column, zero-length sponsorships, registrar-made contacts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from student_sync.cli import run_exit_code
from student_sync.engine import schema
from student_sync.engine.db import make_engine, normalize_url
from student_sync_tests.helpers import (
    FIXED_NOW,
    contacts_of,
    init_db,
    person_of,
    profile_of,
    rows,
    run,
    update_legacy,
    write_legacy,
)
from student_sync_tests.helpers import legacy_row as row


@pytest.fixture
def db(db_url: str) -> str:
    init_db(db_url)
    return db_url


def test_long_values_are_cut_with_a_warning_not_a_failed_batch(db: str, tmp_path) -> None:
    long_personal = "Dara" + "a" * 300
    write_legacy(
        db,
        [
            row(1, name=f"SOKHA {long_personal}", emg_contact_person="Vanna " + "b" * 150),
            row(2),
        ],
    )
    first = run(db, tmp_path)
    assert first.counters.rejected == 0 and first.counters.classes["create"] == 2
    assert first.counters.warnings["VALUE_TRUNCATED"] >= 2
    person = person_of(db, 1)
    assert len(person["full_name"]) <= 255
    assert person["full_name"] == f"{person['family_name']} {person['personal_name']}"
    assert person["personal_name"].startswith("DARA")
    (contact,) = contacts_of(db, 1)
    assert len(contact["name"]) == 100
    again = run(db, tmp_path, now=FIXED_NOW + timedelta(hours=1))
    assert again.counters.classes["unchanged"] == 2


def test_an_ipk_beyond_the_integer_column_keeps_the_student(db: str, tmp_path) -> None:
    big = 3_000_000_000  # above Django's PositiveIntegerField (2,147,483,647)
    write_legacy(db, [row(1, ipk=str(big)), row(2)])
    first = run(db, tmp_path)
    assert first.counters.classes["create"] == 2 and first.counters.rejected == 0
    assert first.counters.warnings["IPK_TOO_LARGE"] == 1
    assert profile_of(db, 1)["legacy_ipk"] is None
    (state,) = rows(db, schema.sync_state, schema.sync_state.c.student_id == 1)
    assert state["legacy_ipk"] == big  # change detection keeps the full IPK
    assert run(db, tmp_path, now=FIXED_NOW + timedelta(hours=1)).counters.classes["unchanged"] == 2
    update_legacy(db, "00001", name="KEO Dara")
    edited = run(db, tmp_path, now=FIXED_NOW + timedelta(hours=2))
    assert edited.counters.classes["update"] == 1
    assert person_of(db, 1)["family_name"] == "KEO"


def _sponsorship(db: str, student_id: int) -> dict:
    prof = profile_of(db, student_id)
    found = rows(db, schema.sponsored_student, schema.sponsored_student.c.student_id == prof["id"])
    assert len(found) == 1
    return found[0]


def test_a_sponsorship_opened_and_ended_the_same_day_is_soft_deleted(db: str, tmp_path) -> None:
    write_legacy(db, [row(1, name="SOKHA Dara <CRST>")])
    run(db, tmp_path)
    opened = _sponsorship(db, 1)
    update_legacy(db, "00001", name="SOKHA Dara")
    ended = run(db, tmp_path, now=FIXED_NOW + timedelta(hours=2))  # the same school day
    assert ended.counters.sponsorships["ended"] == 1
    gone = _sponsorship(db, 1)
    # end_date > start_date as Django's clean() wants, hidden by Django's manager, not deleted
    assert gone["is_deleted"] and gone["deleted_at"] is not None
    assert gone["end_date"] == opened["start_date"] + timedelta(days=1)
    update_legacy(db, "00001", name="SOKHA Dara <CRST>")
    run(db, tmp_path, now=FIXED_NOW + timedelta(hours=3))
    back = _sponsorship(db, 1)  # the same period reopened
    assert (back["id"], back["end_date"], back["is_deleted"]) == (opened["id"], None, False)
    update_legacy(db, "00001", name="SOKHA Dara")
    run(db, tmp_path, now=FIXED_NOW + timedelta(days=1))
    later = _sponsorship(db, 1)
    assert later["end_date"] == opened["start_date"] + timedelta(days=1)
    assert later["is_deleted"] is False and later["end_date"] > later["start_date"]


def test_contacts_the_registrar_added_survive(db: str, tmp_path) -> None:
    write_legacy(db, [row(1, emg_contact_person=None, contact_person_phone=None)])
    run(db, tmp_path)
    person = person_of(db, 1)
    assert contacts_of(db, 1) == []
    # the registrar adds the primary emergency contact by hand
    now = datetime.now(UTC)
    engine = make_engine(normalize_url(db))
    with engine.begin() as conn:
        conn.execute(
            schema.emergency_contact.insert().values(
                person_id=person["id"],
                name="Registrar Contact",
                relationship="MOTHER",
                primary_phone="012 000 000",
                secondary_phone="",
                email="",
                address="",
                is_primary=True,
                created_at=now,
                updated_at=now,
                is_deleted=False,
            )  # fmt: skip
        )
    engine.dispose()
    # the legacy contact appears: the sync adds its own (not primary: one is taken) ...
    update_legacy(db, "00001", emg_contact_person="SOKHA Vanna", contact_person_phone="012 345 678")
    added = run(db, tmp_path, now=FIXED_NOW + timedelta(hours=1))
    assert added.counters.emergency_contacts["created"] == 1 and run_exit_code(added.summary) == 0
    by_name = {c["name"]: c for c in contacts_of(db, 1)}
    assert by_name["Registrar Contact"]["is_primary"] is True
    assert by_name["SOKHA Vanna"]["is_primary"] is False
    # ... and removes only its own when the legacy contact goes away
    update_legacy(db, "00001", emg_contact_person=None, contact_person_phone=None)
    removed = run(db, tmp_path, now=FIXED_NOW + timedelta(hours=2))
    assert removed.counters.emergency_contacts["deleted"] == 1
    assert [c["name"] for c in contacts_of(db, 1)] == ["Registrar Contact"]


def test_init_on_an_empty_database_creates_django_shaped_tables(db: str) -> None:
    engine = make_engine(normalize_url(db))
    with engine.connect() as conn:
        (sponsor,) = conn.execute(
            select(schema.sponsor).where(schema.sponsor.c.code == "CRST")
        ).mappings()
    engine.dispose()
    assert sponsor["mou_start_date"] is not None and sponsor["payment_terms_days"] == 30
    assert sponsor["contact_name"] == "" and sponsor["billing_cycle"] == "TERM"


def test_a_student_id_the_registrar_already_used_is_rejected_not_a_failed_batch(
    db: str, tmp_path
) -> None:
    now = datetime.now(UTC)
    engine = make_engine(normalize_url(db))
    with engine.begin() as conn:
        person_id = conn.execute(
            schema.person.insert().values(
                {
                    **schema.DJANGO_DEFAULTS["people_person"],
                    "unique_id": uuid.uuid4(),
                    "family_name": "MADE",
                    "personal_name": "IN SIS",
                    "full_name": "MADE IN SIS",
                    "created_at": now,
                    "updated_at": now,
                }
            )  # fmt: skip
        ).inserted_primary_key[0]
        conn.execute(
            schema.student_profile.insert().values(
                {
                    **schema.DJANGO_DEFAULTS["people_studentprofile"],
                    "person_id": person_id,
                    "student_id": 2,
                    "created_at": now,
                    "updated_at": now,
                }
            )  # fmt: skip
        )
    engine.dispose()
    write_legacy(db, [row(1), row(2), row(3)])
    result = run(db, tmp_path)
    assert result.counters.classes["create"] == 2
    assert result.counters.rejections == {"EXISTS_IN_SIS": 1}
    assert person_of(db, 2)["family_name"] == "MADE"  # the registrar's row, untouched


def test_init_check_changes_nothing(sqlite_url: str, capsys) -> None:
    from student_sync.cli import main

    assert main(["init", "--check", "--database-url", sqlite_url]) == 2
    out = capsys.readouterr().out
    assert "no SIS tables" in out and "Not ready" in out
    engine = make_engine(normalize_url(sqlite_url))
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT name FROM sqlite_master").all() == []
    engine.dispose()
    assert main(["init", "--database-url", sqlite_url]) == 0
    capsys.readouterr()
    assert main(["init", "--check", "--database-url", sqlite_url]) == 0
    out = capsys.readouterr().out
    assert "contact table: people_emergencycontact" in out and "Ready" in out
