"""`python manage.py check` with the app: what the sync needs and does not find, on databases
built by Django's own `migrate`."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from student_sync.engine.db import make_engine, normalize_url
from student_sync_tests.conftest import fresh_postgres_url
from student_sync_tests.django_app.support import manage
from student_sync_tests.djangosis import django_manage
from student_sync_tests.helpers import init_db, legacy_row, write_legacy

pytestmark = [pytest.mark.django, pytest.mark.postgres]

NO_ISSUES = "System check identified no issues (0 silenced)."


def test_check_warns_until_the_database_is_ready_then_passes(django_sis_url, request) -> None:
    contact_schema = request.node.callspec.params["django_sis_url"]
    before = manage(django_sis_url, "check", contact_schema=contact_schema)
    assert before.returncode == 0, before.stderr  # warnings only: nothing blocks Django
    for check_id in ("student_sync.W005", "student_sync.W006", "student_sync.W007"):
        assert check_id in before.stderr
    assert "student-sync init" in before.stderr and "legacy_students" in before.stderr
    assert "student_sync.E" not in before.stderr

    init_db(django_sis_url)  # the sync's own tables and the known sponsors (Django's defaults)
    write_legacy(django_sis_url, [legacy_row(1)])

    after = manage(django_sis_url, "check", contact_schema=contact_schema)
    assert after.returncode == 0 and NO_ISSUES in after.stdout, after.stderr


@pytest.mark.parametrize("django_sis_url", ["contact"], indirect=True)
def test_missing_legacy_ipk_is_an_error_with_the_guides_fix(django_sis_url) -> None:
    engine = make_engine(normalize_url(django_sis_url))
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE people_studentprofile DROP COLUMN legacy_ipk"))
    engine.dispose()
    result = manage(django_sis_url, "check")
    assert result.returncode == 1  # Django: a system check error
    error = next(line for line in result.stderr.splitlines() if "student_sync.E003" in line)
    assert "people_studentprofile.legacy_ipk is missing" in error
    assert "HINT: apply the migration that adds legacy_ipk" in result.stderr
    assert "0014_add_legacy_ipk_to_student_profile" in result.stderr
    assert "ALTER TABLE people_studentprofile ADD COLUMN legacy_ipk" in result.stderr


def test_while_migrations_are_pending_the_gap_does_not_block_migrate() -> None:
    """Before `migrate`, the missing column is a warning: `migrate` (which runs the checks) must
    be able to apply the migration that adds it."""
    for url in fresh_postgres_url():
        django_manage(url, "migrate", "people", "0001", "-v0")  # legacy_ipk not there yet
        before = manage(url, "check")
        assert before.returncode == 0, before.stderr
        assert "student_sync.W003" in before.stderr and "not applied yet" in before.stderr
        migrated = manage(url, "migrate", "-v0")
        assert migrated.returncode == 0, migrated.stderr
        after = manage(url, "check")
        assert "legacy_ipk" not in after.stderr and "student_sync.E" not in after.stderr
