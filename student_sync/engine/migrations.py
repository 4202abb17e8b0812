"""Versioning of the sync's own tables (state, rejections, run ledger)."""

from __future__ import annotations

from sqlalchemy import Engine, inspect

from student_sync.engine import schema


def upgrade_sync_schema(engine: Engine) -> list[str]:
    """Create the sync tables that are missing; returns the names created."""
    with engine.begin() as conn:
        inspector = inspect(conn)
        created = [t.name for t in schema.SYNC_TABLES if not inspector.has_table(t.name)]
        schema.sync_metadata.create_all(conn, checkfirst=True)
    return created
