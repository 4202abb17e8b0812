"""Admin helpers for the benchmark databases: create, clone from a template, drop, describe."""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DEFAULT_ADMIN_URL = os.environ.get(
    "STUDENT_SYNC_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def sqlalchemy_url(admin_url: str, database: str) -> str:
    """The admin URL pointed at ``database``, driven by psycopg 3."""
    url = make_url(admin_url).set(database=database)
    if url.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """A plain ``postgresql://`` URL (for psycopg.connect and dlt) from a SQLAlchemy one."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _admin(admin_url: str, *statements: str) -> list[Any]:
    engine = create_engine(
        sqlalchemy_url(admin_url, make_url(admin_url).database or "postgres"),
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": 5},
    )
    try:
        out: list[Any] = []
        with engine.connect() as conn:
            for statement in statements:
                result = conn.execute(text(statement))
                out.append(result.fetchall() if result.returns_rows else None)
        return out
    finally:
        engine.dispose()


def reachable(admin_url: str) -> bool:
    try:
        _admin(admin_url, "SELECT 1")
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        return False
    return True


def create_database(admin_url: str, name: str, template: str | None = None) -> str:
    """Create ``name`` (optionally a copy of ``template``); returns its SQLAlchemy URL."""
    clause = f' TEMPLATE "{template}"' if template else ""
    _admin(
        admin_url,
        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
        f'CREATE DATABASE "{name}"{clause}',
    )
    return sqlalchemy_url(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_info(admin_url: str) -> dict[str, str]:
    """Server version and the settings that move write-heavy timings."""
    names = (
        "shared_buffers",
        "synchronous_commit",
        "fsync",
        "wal_level",
        "max_wal_size",
        "work_mem",
        "maintenance_work_mem",
        "effective_io_concurrency",
    )
    rows = _admin(admin_url, "SELECT version()", *(f"SHOW {n}" for n in names))
    info = {"version": rows[0][0][0]}
    info.update({n: r[0][0] for n, r in zip(names, rows[1:], strict=True)})
    return info
