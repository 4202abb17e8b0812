"""Alembic environment for the sync's own tables.

Run only through ``student_sync.engine.migrations`` (a programmatic Config that hands over an
open connection); there is no alembic.ini. Only ``student_sync_*`` tables are managed: the
SIS tables belong to the school's Django app, and the version table has its own name so it
never collides with another tool's ``alembic_version``.
"""

from __future__ import annotations

from alembic import context

from student_sync.engine import schema
from student_sync.engine.migrations import VERSION_TABLE

SYNC_TABLE_NAMES = frozenset(t.name for t in schema.SYNC_TABLES)


def include_object(obj, name, type_, reflected, compare_to) -> bool:  # noqa: ANN001
    """Autogenerate/compare sees only the sync tables (never the SIS or legacy tables)."""
    if type_ == "table":
        return name in SYNC_TABLE_NAMES
    table = getattr(obj, "table", None)
    return table is None or table.name in SYNC_TABLE_NAMES


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run the sync migrations through student_sync.engine.migrations")
    context.configure(
        connection=connection,
        target_metadata=schema.sync_metadata,
        version_table=VERSION_TABLE,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():  # pragma: no cover - offline SQL generation is not supported
    raise RuntimeError("offline mode is not supported for the sync tables")
run_migrations_online()
