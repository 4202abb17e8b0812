"""`student-sync init`: create or check the target tables and load the known sponsors.

On a database that already has the SIS tables (the school's, made by Django) `init` creates
and upgrades only the sync's own ``student_sync_*`` tables: it never creates, alters or drops
a Django table. Only on an empty database (the embedded demo, a new server) does it create
the SIS tables too, with Django's columns. ``init --check`` changes nothing and says whether
the database is ready.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, inspect, select

from student_sync.engine import schema
from student_sync.engine.errors import ConfigurationError, SisNotReady
from student_sync.engine.options import DEFAULT_TIMEZONE, school_zone
from student_sync.engine.sis import SisInspection, SisSchema, inspect_sis


@dataclass
class InitResult:
    created_sis_tables: list[str] = field(default_factory=list)
    existing_sis_tables: list[str] = field(default_factory=list)
    created_sync_tables: list[str] = field(default_factory=list)
    sponsors_added: list[str] = field(default_factory=list)
    contact_table: str = ""
    schema_version: int = schema.SYNC_SCHEMA_VERSION


def initialize(engine: Engine) -> InitResult:
    """Idempotent: creates what is missing, never alters an SIS table that exists.

    Refuses (``SisNotReady``, nothing written) when existing SIS tables cannot take the
    sync's rows, or when only some of them exist.
    """
    from student_sync.engine.migrations import upgrade_sync_schema

    result = InitResult()
    with engine.connect() as conn:
        found = inspect_sis(conn)
    if found.empty:
        with engine.begin() as conn:
            schema.sis_metadata.create_all(conn, tables=list(schema.SIS_TABLES))
        result.created_sis_tables = [t.name for t in schema.SIS_TABLES]
        with engine.connect() as conn:
            found = inspect_sis(conn)
    else:
        result.existing_sis_tables = [name for name, there in found.tables.items() if there]
    if found.schema is None:
        raise SisNotReady(found.problems)
    result.contact_table = found.schema.contact.name
    result.created_sync_tables = upgrade_sync_schema(engine)
    with engine.begin() as conn:
        result.sponsors_added = load_known_sponsors(conn, found.schema)
    return result


def sponsor_mou_start(today: date | None = None) -> date:
    """The `mou_start_date` of a sponsor `init` adds: the day it was added (school time).

    The column is NOT NULL without a Django default and the MOU dates are not in the legacy
    data: the registrar corrects them in the SIS.
    """
    return today or datetime.now(school_zone(DEFAULT_TIMEZONE)).date()


def load_known_sponsors(conn: Connection, sis: SisSchema, today: date | None = None) -> list[str]:
    """Insert the seven known sponsors that are not there yet; existing rows are left alone.

    Every NOT NULL column gets a value: the Django defaults of the sponsor model, and
    ``sponsor_mou_start`` as the MOU start.
    """
    existing = {c.upper() for c in conn.scalars(select(schema.sponsor.c.code))}
    now = datetime.now(UTC)
    rows = [
        sis.sponsor.for_insert(
            {
                "code": code,
                "name": name,
                "mou_start_date": sponsor_mou_start(today),
                "is_active": True,
                "created_at": now,
                "updated_at": now,
                "is_deleted": False,
                "deleted_at": None,
            }
        )
        for code, name in schema.KNOWN_SPONSORS
        if code not in existing
    ]
    if rows:
        conn.execute(schema.sponsor.insert(), rows)
    return [r["code"] for r in rows]


@dataclass
class ReadinessReport:
    """What `init --check` found: the SIS side, the sync tables, the sponsors."""

    sis: SisInspection
    sync_tables: dict[str, bool]
    sync_schema: str | None  # None when at head, else the sentence saying to run `init`
    sponsors_missing: list[str]
    problems: list[str]

    @property
    def ready(self) -> bool:
        return not self.problems


def check_readiness(engine: Engine) -> ReadinessReport:
    """Everything the sync needs from the database, read-only (``student-sync init --check``)."""
    from student_sync.engine.readiness import sync_side

    with engine.connect() as conn:
        found = inspect_sis(conn)
        side = sync_side(conn)
    problems = list(found.problems)
    if found.empty:
        problems = ["no SIS tables: run `student-sync init` (on an empty database it creates them)"]
    if not all(side.tables.values()):
        absent = [n for n, there in side.tables.items() if not there]
        problems.append(f"sync tables missing ({', '.join(absent)}): run `student-sync init`")
    elif side.outdated:
        problems.append(side.outdated)
    if side.sponsors_missing:
        problems.append(
            f"known sponsors missing ({', '.join(side.sponsors_missing)}): run `student-sync init`"
        )
    return ReadinessReport(found, side.tables, side.outdated, side.sponsors_missing, problems)


def check_ready(conn: Connection) -> SisSchema:
    """Refuse to run against a database `init` has not prepared, naming what is missing;
    else the SIS as reflected (once per run: the planner and every batch use it)."""
    from student_sync.engine.migrations import check_sync_schema

    inspector = inspect(conn)
    # Sync tables made by an older version are outdated (upgrade with `init`), not missing
    # the tables a newer revision adds.
    outdated = check_sync_schema(conn) if inspector.has_table(schema.sync_state.name) else None
    if outdated:
        raise ConfigurationError(outdated)
    absent = [t.name for t in schema.SYNC_TABLES if not inspector.has_table(t.name)]
    found = inspect_sis(conn)
    if found.empty or absent:
        missing = absent if not found.empty else ["the SIS tables", *absent]
        raise ConfigurationError(
            f"target tables missing ({', '.join(missing)}): run `student-sync init` first"
        )
    if found.schema is None:
        raise SisNotReady(found.problems)
    return found.schema
