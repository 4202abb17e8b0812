"""Shared fixtures: a fresh target database per test, on SQLite and on PostgreSQL.

PostgreSQL tests run against the local server (``STUDENT_SYNC_TEST_PG_URL`` overrides the
admin URL). When it does not answer they are skipped, except under ``CI=true``, where a
missing server fails the run instead of silently skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_ADMIN_URL = os.environ.get(
    "STUDENT_SYNC_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
_pg_state: dict[str, bool] = {}


def postgres_available() -> bool:
    if "up" not in _pg_state:
        try:
            engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
            with engine.connect() as conn:
                conn.execute(text("select 1"))
            engine.dispose()
            _pg_state["up"] = True
        except Exception:  # noqa: BLE001 - any failure means "not reachable"
            _pg_state["up"] = False
    return _pg_state["up"]


def require_postgres() -> None:
    if postgres_available():
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is not reachable at {make_url(PG_ADMIN_URL).host} under CI=true")
    pytest.skip("PostgreSQL not reachable (set CI=true to make this a failure)")


def _admin_exec(sql: str) -> None:
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


def fresh_postgres_url() -> Iterator[str]:
    """A new empty database on the local server, dropped afterwards."""
    require_postgres()
    name = f"ss_test_{uuid.uuid4().hex[:12]}"
    _admin_exec(f'CREATE DATABASE "{name}"')
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        _admin_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from fresh_postgres_url()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'sis.sqlite'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> Iterator[str]:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'sis.sqlite'}"
    else:
        yield from fresh_postgres_url()


@pytest.fixture(params=["contact", "emergencycontact"])
def django_sis_url(request) -> Iterator[str]:
    """A fresh PostgreSQL database built by Django's own `migrate` (each contact schema)."""
    from student_sync_tests.djangosis import build_django_sis

    for url in fresh_postgres_url():
        build_django_sis(url, request.param)
        yield url
