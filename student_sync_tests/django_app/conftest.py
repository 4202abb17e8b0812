"""Fixtures of the Django-side tests (marker ``django``: `make test-django`, Python 3.13).

``sis_url`` / ``twin_sis_url``: a PostgreSQL SIS database built by Django's own `migrate` (the
test project in ``student_sync_tests/django_sis``), then `student-sync init` (the sync's own
tables and the known sponsors), one per fixture, built identically so a Django-command run
and a CLI run can be compared.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from student_sync_tests.conftest import fresh_postgres_url
from student_sync_tests.djangosis import build_django_sis
from student_sync_tests.helpers import init_db


def ready_sis_database() -> Iterator[str]:
    for url in fresh_postgres_url():
        build_django_sis(url)
        init_db(url)
        yield url


@pytest.fixture
def sis_url() -> Iterator[str]:
    yield from ready_sis_database()


@pytest.fixture
def twin_sis_url() -> Iterator[str]:
    yield from ready_sis_database()
