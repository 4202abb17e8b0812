"""Fixtures of the Django-side tests (marker ``django``: `make test-django`, Python 3.13).

``sis_url`` / ``twin_sis_url``: a PostgreSQL SIS database ready for the sync, one per fixture,
built identically so a Django-command run and a CLI run can be compared. Until the sync can
write into a database built by Django's own `migrate` (issue 11), they are `student-sync init`
on an empty database (the sync's DDL); the Django settings just point at them (the command
does not use the ORM models). To run these tests on Django-built databases instead, set
``BUILD_WITH_DJANGO = True``: nothing else changes.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from student_sync_tests.conftest import fresh_postgres_url
from student_sync_tests.djangosis import build_django_sis
from student_sync_tests.helpers import init_db

# True once issue 11 lands: the SIS tables made by Django's `migrate`, then `student-sync init`.
BUILD_WITH_DJANGO = False


def ready_sis_database() -> Iterator[str]:
    for url in fresh_postgres_url():
        if BUILD_WITH_DJANGO:
            build_django_sis(url)
        init_db(url)
        yield url


@pytest.fixture
def sis_url() -> Iterator[str]:
    yield from ready_sis_database()


@pytest.fixture
def twin_sis_url() -> Iterator[str]:
    yield from ready_sis_database()
