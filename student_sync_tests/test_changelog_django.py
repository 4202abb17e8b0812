"""Registrar edits made through Django's ORM, on the database Django's own `migrate` built
(both contact schemas: ``people_contact`` and the older ``people_emergencycontact``)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from student_sync.engine import schema
from student_sync_tests.djangosis import django_manage
from student_sync_tests.helpers import (
    FIXED_NOW,
    init_db,
    person_of,
    rows,
    run,
    update_legacy,
    write_legacy,
)
from student_sync_tests.helpers import legacy_row as row

pytestmark = pytest.mark.postgres

FIXED_KHMER = "សុខា ដារា"
FIXED_PHONE = "099 111 222"


def registrar_edits(url: str, contact_schema: str, student_id: int) -> None:
    """As a registrar would, through the ORM: fix the Khmer name and the contact's phone."""
    code = (
        "import people.models as m\n"
        f"p = m.Person.objects.get(student_profile__student_id={student_id})\n"
        f"p.khmer_name = {FIXED_KHMER!r}\n"
        "p.save()\n"
        "model = getattr(m, 'Contact', None) or m.EmergencyContact\n"
        "c = model.objects.get(person=p)\n"
        f"c.primary_phone = {FIXED_PHONE!r}\n"
        "c.save()\n"
    )
    django_manage(url, "shell", "-c", code, contact_schema=contact_schema)


def test_orm_edit_survives_is_reported_once_and_yields_only_to_legacy_wins(
    django_sis_url: str, request, tmp_path
) -> None:
    contact_schema = request.node.callspec.params["django_sis_url"]
    contact = schema.contact if contact_schema == "contact" else schema.emergency_contact
    url = django_sis_url
    init_db(url)
    write_legacy(url, [row(1), row(2)])
    run(url, tmp_path)
    log = schema.change_log
    # The contact is logged under the contact table this SIS has.
    assert {r["table_name"] for r in rows(url, log, log.c.student_id == 1)} == {
        "people_person",
        "people_studentprofile",
        contact.name,
    }
    registrar_edits(url, contact_schema, 1)

    update_legacy(url, "00001", email="new.address@example.org")  # another column
    day = FIXED_NOW + timedelta(days=1)
    first = run(url, tmp_path, now=day)
    person = person_of(url, 1)
    assert person is not None and person["khmer_name"] == FIXED_KHMER
    assert person["personal_email"] == "new.address@example.org"
    assert {(c.table, c.column, c.sis_value) for c in first.summary.conflicts} == {
        ("people_person", "khmer_name", FIXED_KHMER),
        (contact.name, "primary_phone", FIXED_PHONE),
    }
    assert len(first.summary.conflicts) == 2
    phones = lambda: [r["primary_phone"] for r in rows(url, contact)]  # noqa: E731
    assert FIXED_PHONE in phones()

    forced = run(url, tmp_path, now=day + timedelta(days=1), force_update=True)
    assert person_of(url, 1)["khmer_name"] == FIXED_KHMER  # type: ignore[index]
    assert FIXED_PHONE in phones()
    assert forced.counters.conflicts == 0 and forced.counters.open_conflicts == 2

    wins = run(
        url, tmp_path, now=day + timedelta(days=2), force_update=True, on_conflict="legacy-wins"
    )
    assert wins.counters.conflicts == 2 and wins.counters.open_conflicts == 0
    assert person_of(url, 1)["khmer_name"] == ""  # type: ignore[index]
    assert FIXED_PHONE not in phones()
    logged = {
        r["table_name"]: json.loads(r["changes"])
        for r in rows(url, log, log.c.run_id == wins.summary.run_id, log.c.student_id == 1)
    }
    assert logged["people_person"]["khmer_name"] == [FIXED_KHMER, ""]
    assert logged[contact.name]["primary_phone"][0] == FIXED_PHONE
