"""The Django-built SIS the tests use really is what the school's `migrate` makes."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect

from student_sync.engine.db import normalize_url

pytestmark = pytest.mark.postgres


def test_migrate_builds_tables_without_column_defaults(django_sis_url, request):
    schema = request.node.callspec.params["django_sis_url"]
    engine = create_engine(normalize_url(django_sis_url))
    try:
        inspector = inspect(engine)
        tables = set(inspector.get_table_names())
        contact_table = "people_contact" if schema == "contact" else "people_emergencycontact"
        other = "people_emergencycontact" if schema == "contact" else "people_contact"
        assert {"people_person", "people_studentprofile", contact_table} <= tables
        assert {"scholarships_sponsor", "scholarships_sponsoredstudent"} <= tables
        assert other not in tables
        person = {c["name"]: c for c in inspector.get_columns("people_person")}
        # Django's defaults live in Python: NOT NULL columns with no database default.
        for name in ("khmer_name_source", "khmer_name_confidence", "alternate_gender"):
            assert person[name]["nullable"] is False
            assert person[name]["default"] is None
        profile = {c["name"] for c in inspector.get_columns("people_studentprofile")}
        assert "legacy_ipk" in profile
        assert "study_time_preference" in profile
    finally:
        engine.dispose()
