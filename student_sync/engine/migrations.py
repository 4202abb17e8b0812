"""Versioning of the sync's own tables (state, rejections, run ledger, meta) with Alembic.

The scripts live in ``engine/alembic`` and are driven by a programmatic Config (no
alembic.ini). The version table is ``student_sync_alembic_version``. Only ``student_sync_*``
tables are ever created or altered here; the SIS tables belong to the school's Django app.

``upgrade_sync_schema`` is what ``student-sync init`` runs:

* a new database gets every revision (``upgrade head``);
* a database whose sync tables were made by the pre-Alembic ``create_all`` (tables present,
  no version table) is stamped at ``0001``, then upgraded; if only some of them are there,
  revision 0001 creates just the missing ones;
* a database already at head is left alone.

On PostgreSQL the whole upgrade runs in one transaction under a transaction-level advisory
lock, so two ``init`` commands at once serialize instead of racing.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, func, inspect, select

from student_sync.engine import schema

SCRIPT_LOCATION = Path(__file__).with_name("alembic")
VERSION_TABLE = "student_sync_alembic_version"
BASELINE_REVISION = "0001"
# Serializes concurrent `init`s on PostgreSQL (distinct from the run lock's key).
MIGRATION_LOCK_KEY = 0x5374_7564_4D69_6772 - (1 << 63)


def alembic_config(connection: Connection | None = None) -> Config:
    """A Config pointing at the packaged scripts; ``connection`` is handed to env.py."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no sync-table revisions found"
    return head


def current_revision(conn: Connection) -> str | None:
    """The sync tables' revision, or None (no version table: new or pre-Alembic database)."""
    context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def upgrade_sync_schema(engine: Engine) -> list[str]:
    """Bring the sync tables to the head revision; returns the names of tables created."""
    names = [t.name for t in schema.SYNC_TABLES]
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
        before = set(inspect(conn).get_table_names())
        if current_revision(conn) is None and before >= set(names):
            # Made by the pre-Alembic create_all: that schema *is* revision 0001.
            command.stamp(alembic_config(conn), BASELINE_REVISION)
        command.upgrade(alembic_config(conn), "head")
    return [n for n in names if n not in before]


def check_sync_schema(conn: Connection) -> str | None:
    """None when the sync tables are at head, else a sentence saying to run ``init``."""
    current, head = current_revision(conn), head_revision()
    if current == head:
        return None
    found = f"revision {current}" if current else "an unversioned (pre-Alembic) schema"
    return (
        f"the sync tables are at {found} but this version of student_sync needs revision "
        f"{head}: run `student-sync init` to upgrade them (rows are kept)"
    )
