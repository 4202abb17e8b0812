"""What a database lacks before the sync can run there, found by reflection.

The command line refuses to run on an error (``setup.check_ready``); the Django app shows
every gap in `python manage.py check` (``student_sync.django_app.checks``). Errors stop a
run; warnings are things a run would refuse or miss until someone acts (sync tables not
initialised, known sponsors absent, no legacy table yet).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Connection, inspect, select

from student_sync.engine import schema
from student_sync.engine.db import ConfigurationError
from student_sync.engine.setup import missing_sis_columns

Severity = Literal["error", "warning"]

# The primary emergency contact lives in one of these, depending on the Django app's version.
CONTACT_TABLES = ("people_emergencycontact", "people_contact")
# SIS tables every schema version has (the contact table is checked as one of the above).
CORE_SIS_TABLES = tuple(t.name for t in schema.SIS_TABLES if t.name not in CONTACT_TABLES)

LEGACY_IPK_MIGRATION = "0014_add_legacy_ipk_to_student_profile"


@dataclass(frozen=True)
class Gap:
    """One thing the sync needs and does not find; ``code`` is stable (Django check ids)."""

    code: str
    severity: Severity
    message: str
    hint: str


def sis_gaps(conn: Connection) -> list[Gap]:
    """Errors: SIS tables, columns the sync writes, a contact table."""
    inspector = inspect(conn)
    gaps: list[Gap] = []
    absent = [name for name in CORE_SIS_TABLES if not inspector.has_table(name)]
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
    if not any(inspector.has_table(name) for name in CONTACT_TABLES):
        gaps.append(
            Gap(
                "contact_table",
                "error",
                "no contact table: the sync writes the primary emergency contact into "
                f"{' or '.join(CONTACT_TABLES)}, and neither exists",
                "migrate the people app (`python manage.py migrate people`)",
            )
        )
    for table, columns in missing_sis_columns(conn).items():
        if table == schema.student_profile.name and "legacy_ipk" in columns:
            gaps.append(
                Gap(
                    "legacy_ipk",
                    "error",
                    f"{table} has no legacy_ipk column (the legacy IPK the sync stores on "
                    "each profile)",
                    f"apply the migration that adds legacy_ipk ({LEGACY_IPK_MIGRATION}): "
                    f"`python manage.py migrate people`; or by hand: {schema.LEGACY_IPK_DDL}",
                )
            )
            columns = [c for c in columns if c != "legacy_ipk"]
        if columns:
            gaps.append(
                Gap(
                    "sis_columns",
                    "error",
                    f"{table} lacks columns the sync writes: {', '.join(columns)}",
                    "migrate the Django app to a version that has them "
                    "(`python manage.py migrate`)",
                )
            )
    return gaps


def sync_gaps(conn: Connection) -> list[Gap]:
    """Warnings: the sync's own tables and the known sponsors (`student-sync init` adds both)."""
    from student_sync.engine.migrations import check_sync_schema

    inspector = inspect(conn)
    gaps: list[Gap] = []
    init_hint = (
        "run `student-sync init` against this database (it creates only the student_sync_* "
        "tables there and adds the known sponsors)"
    )
    absent = [t.name for t in schema.SYNC_TABLES if not inspector.has_table(t.name)]
    if absent:
        gaps.append(
            Gap(
                "sync_tables",
                "warning",
                f"the sync tables are not initialised ({', '.join(absent)} missing)",
                init_hint,
            )
        )
    elif outdated := check_sync_schema(conn):
        gaps.append(Gap("sync_tables", "warning", outdated, init_hint))
    if inspector.has_table(schema.sponsor.name):
        present = {code.upper() for code in conn.scalars(select(schema.sponsor.c.code))}
        missing = [code for code, _ in schema.KNOWN_SPONSORS if code not in present]
        if missing:
            gaps.append(
                Gap(
                    "sponsors",
                    "warning",
                    f"known sponsors missing from {schema.sponsor.name}: {', '.join(missing)} "
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
