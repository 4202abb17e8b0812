"""`student-sync init`: create or check the target tables and load the known sponsors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, inspect, select

from student_sync.engine import schema
from student_sync.engine.db import ConfigurationError


@dataclass
class InitResult:
    created_sis_tables: list[str] = field(default_factory=list)
    existing_sis_tables: list[str] = field(default_factory=list)
    created_sync_tables: list[str] = field(default_factory=list)
    sponsors_added: list[str] = field(default_factory=list)
    schema_version: int = schema.SYNC_SCHEMA_VERSION


class SchemaMismatch(ConfigurationError):
    """An existing SIS table lacks a column the sync writes."""


def missing_sis_columns(conn: Connection) -> dict[str, list[str]]:
    """Columns the sync writes that an existing (Django-made) SIS table does not have."""
    inspector = inspect(conn)
    missing: dict[str, list[str]] = {}
    for table in schema.SIS_TABLES:
        if not inspector.has_table(table.name):
            continue
        present = {c["name"] for c in inspector.get_columns(table.name)}
        gaps = [c for c in schema.SIS_WRITTEN_COLUMNS[table.name] if c not in present]
        if gaps:
            missing[table.name] = gaps
    return missing


def initialize(engine: Engine) -> InitResult:
    """Idempotent: creates what is missing, never alters an SIS table that exists."""
    from student_sync.engine.migrations import upgrade_sync_schema

    result = InitResult()
    with engine.begin() as conn:
        inspector = inspect(conn)
        for table in schema.SIS_TABLES:
            (
                result.existing_sis_tables
                if inspector.has_table(table.name)
                else result.created_sis_tables
            ).append(table.name)
        missing = missing_sis_columns(conn)
        if missing:
            listing = "; ".join(f"{t}: {', '.join(cols)}" for t, cols in missing.items())
            raise SchemaMismatch(f"existing SIS tables lack columns the sync writes: {listing}")
        schema.sis_metadata.create_all(conn, checkfirst=True)
    result.created_sync_tables = upgrade_sync_schema(engine)
    with engine.begin() as conn:
        result.sponsors_added = load_known_sponsors(conn)
    return result


def load_known_sponsors(conn: Connection) -> list[str]:
    """Insert the seven known sponsors that are not there yet; existing rows are left alone."""
    existing = set(conn.scalars(select(schema.sponsor.c.code)))
    now = datetime.now(UTC)
    rows = [
        {
            "code": code,
            "name": name,
            "is_active": True,
            "created_at": now,
            "updated_at": now,
            "is_deleted": False,
        }
        for code, name in schema.KNOWN_SPONSORS
        if code not in existing
    ]
    if rows:
        conn.execute(schema.sponsor.insert(), rows)
    return [r["code"] for r in rows]


def check_ready(conn: Connection) -> None:
    """Refuse to run against a database `init` has not prepared, naming what is missing."""
    from student_sync.engine.migrations import check_sync_schema, current_revision

    inspector = inspect(conn)
    absent = [
        t.name for t in (*schema.SIS_TABLES, *schema.SYNC_TABLES) if not inspector.has_table(t.name)
    ]
    # An older sync schema lacks the tables later revisions add: say "outdated, run init".
    sis_names = {t.name for t in schema.SIS_TABLES}
    if not sis_names & set(absent) and (
        current_revision(conn) is not None or inspector.has_table(schema.sync_state.name)
    ):
        outdated = check_sync_schema(conn)
        if outdated:
            raise ConfigurationError(outdated)
    if absent:
        raise ConfigurationError(
            f"target tables missing ({', '.join(absent)}): run `student-sync init` first"
        )
