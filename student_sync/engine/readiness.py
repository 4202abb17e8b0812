"""What a database lacks before the sync can run there, found by reflection.

The command line refuses to run on an error (``initialize.check_ready``); the Django app shows
every gap in `python manage.py check` (``student_sync.django_app.checks``). Errors stop a
run; warnings are things a run would refuse or miss until someone acts (sync tables not
initialised, known sponsors absent, no legacy table yet).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Connection, inspect, select

from student_sync.engine import schema
from student_sync.engine.errors import ConfigurationError
from student_sync.engine.sis import LEGACY_IPK_FIX, inspect_sis

Severity = Literal["error", "warning"]

LEGACY_IPK_COLUMN = f"{schema.student_profile.name}.legacy_ipk"
LEGACY_IPK_MIGRATION = "0014_add_legacy_ipk_to_student_profile"


@dataclass(frozen=True)
class Gap:
    """One thing the sync needs and does not find; ``code`` is stable (Django check ids)."""

    code: str
    severity: Severity
    message: str
    hint: str


def sis_gaps(conn: Connection) -> list[Gap]:
    """Errors: SIS tables, a contact table, columns the sync writes, NOT NULL columns it
    cannot fill: the problems of the run's own reflection (``sis.inspect_sis``), coded."""
    found = inspect_sis(conn)
    gaps: list[Gap] = []
    contact_missing = found.contact_table is None
    absent = [name for name in found.missing_tables if not name.startswith("people_contact")]
    if absent:
        gaps.append(
            Gap(
                "sis_tables",
                "error",
                f"the SIS tables {', '.join(absent)} do not exist in this database",
                "run Django's `python manage.py migrate` (apps people and scholarships), or "
                "`student-sync init` on an empty database",
            )
        )
    if contact_missing:
        names = " or ".join(t.name for t in schema.CONTACT_TABLES)
        gaps.append(
            Gap(
                "contact_table",
                "error",
                f"no contact table: the sync writes the primary emergency contact into {names}, "
                "and neither exists",
                "migrate the people app (`python manage.py migrate people`)",
            )
        )
    if LEGACY_IPK_COLUMN in found.missing_columns:
        gaps.append(
            Gap(
                "legacy_ipk",
                "error",
                f"{LEGACY_IPK_COLUMN} is missing (the legacy IPK the sync stores on each profile)",
                f"apply the migration that adds legacy_ipk ({LEGACY_IPK_MIGRATION}): "
                f"{LEGACY_IPK_FIX}",
            )
        )
    others = [c for c in found.missing_columns if c != LEGACY_IPK_COLUMN]
    if others:
        gaps.append(
            Gap(
                "sis_columns",
                "error",
                f"the SIS tables lack columns the sync writes: {', '.join(others)}",
                "migrate the Django app to a version that has them (`python manage.py migrate`)",
            )
        )
    # Columns that are there but cannot take the sync's values: the sentence says what to do.
    for problem in found.unwritable:
        gaps.append(Gap("sis_columns", "error", problem, "the message says what to do"))
    return gaps


@dataclass(frozen=True)
class SyncSide:
    """The sync's side of a database: its own tables and the known sponsors."""

    tables: dict[str, bool]  # student_sync_* table -> present
    outdated: str | None  # None at head, else the sentence saying to run `init`
    sponsors_missing: list[str]


def sync_side(conn: Connection) -> SyncSide:
    """What `student-sync init` would add here (read-only)."""
    from student_sync.engine.migrations import check_sync_schema

    present = set(inspect(conn).get_table_names())
    tables = {t.name: t.name in present for t in schema.SYNC_TABLES}
    outdated = check_sync_schema(conn) if all(tables.values()) else None
    missing: list[str] = []
    if schema.sponsor.name in present:
        have = {code.upper() for code in conn.scalars(select(schema.sponsor.c.code))}
        missing = [code for code, _ in schema.KNOWN_SPONSORS if code not in have]
    return SyncSide(tables, outdated, missing)


def sync_gaps(conn: Connection) -> list[Gap]:
    """Warnings: the sync's own tables and the known sponsors (`student-sync init` adds both)."""
    side = sync_side(conn)
    gaps: list[Gap] = []
    init_hint = (
        "run `student-sync init` against this database (it creates only the student_sync_* "
        "tables there and adds the known sponsors)"
    )
    absent = [name for name, there in side.tables.items() if not there]
    if absent:
        gaps.append(
            Gap(
                "sync_tables",
                "warning",
                f"the sync tables are not initialised ({', '.join(absent)} missing)",
                init_hint,
            )
        )
    elif side.outdated:
        gaps.append(Gap("sync_tables", "warning", side.outdated, init_hint))
    if side.sponsors_missing:
        gaps.append(
            Gap(
                "sponsors",
                "warning",
                f"known sponsors missing from {schema.sponsor.name}: "
                f"{', '.join(side.sponsors_missing)} "
                "(their <CODE> markers would be warnings, not sponsorships)",
                init_hint,
            )
        )
    return gaps


def legacy_gaps(conn: Connection) -> list[Gap]:
    """Warning: no usable legacy table where the sync would read it."""
    from student_sync.engine.extract import LegacySource

    try:
        LegacySource.reflect(conn)
    except ConfigurationError as exc:
        return [Gap("legacy_table", "warning", str(exc), "load the export before the first run")]
    return []


def find_gaps(sis: Connection, legacy: Connection | None = None) -> list[Gap]:
    """Every gap, errors first; ``legacy`` is where legacy_students is read (default: ``sis``)."""
    gaps = sis_gaps(sis) + sync_gaps(sis) + legacy_gaps(legacy if legacy is not None else sis)
    return sorted(gaps, key=lambda gap: gap.severity != "error")
