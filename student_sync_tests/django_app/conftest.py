"""Fixtures of the Django-side tests (marker ``django``: `make test-django`, Python 3.13).

``sis_url`` / ``twin_sis_url``: a PostgreSQL SIS database ready for the sync, one per fixture,
built identically so a Django-command run and a CLI run can be compared. Until the sync can
write into a database built by Django's own `migrate` (issue 11), they are `student-sync init`
on an empty database (the sync's DDL); the Django settings just point at them (the command
does not use the ORM models). To run these tests on Django-built databases instead, change
``ready_sis_database`` to build with Django first (the commented line): nothing else changes.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from student_sync_tests.conftest import fresh_postgres_url
from student_sync_tests.helpers import init_db


def ready_sis_database() -> Iterator[str]:
    for url in fresh_postgres_url():
        # build_django_sis(url)  # once issue 11 lands: the school's tables, by Django
        init_db(url)
        yield url


@pytest.fixture
def sis_url() -> Iterator[str]:
    yield from ready_sis_database()


@pytest.fixture
def twin_sis_url() -> Iterator[str]:
    yield from ready_sis_database()
