"""The SIS tables as the database really has them, reflected once per run.

At the school the SIS tables belong to the Django app: its migrations make them, with more
columns than the sync sources and no column DEFAULTs (Django keeps ``default=`` in Python).
``reflect_sis`` reads what is there and answers, before anything is written:

* which contact table the app is on (``people_contact`` or the older
  ``people_emergencycontact``) and how the sync marks its own emergency contact in it;
* what every insert must add: the Django default (``schema.DJANGO_DEFAULTS``) of each NOT NULL
  column the sync does not source;
* how long each text column is and how large ``legacy_ipk`` may be (``FitLimits``);
* what stops the run: a missing table, a column the sync writes that is not there (notably
  ``legacy_ipk``), or a NOT NULL column it knows no value for. Each problem names
  ``table.column`` and what to do.

The result, ``SisSchema``, is a plain object other parts use (the planner's fitting, apply's
inserts, ``init --check``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BigInteger, Connection, Integer, SmallInteger, String, Table, inspect

from student_sync.engine import schema
from student_sync.engine.errors import SisNotReady

INT32_MAX = 2_147_483_647
INT64_MAX = 9_223_372_036_854_775_807
INT16_MAX = 32_767

LEGACY_IPK_FIX = (
    "add it with the school app's migration `0014_add_legacy_ipk_to_student_profile` "
    "(python manage.py migrate people), or in SQL: ALTER TABLE people_studentprofile ADD "
    "COLUMN legacy_ipk integer NULL CHECK (legacy_ipk >= 0); CREATE INDEX "
    "people_studentprofile_legacy_ipk_idx ON people_studentprofile (legacy_ipk)"
)


@dataclass(frozen=True)
class SisColumn:
    """One reflected column: what the sync needs to know to write it."""

    name: str
    nullable: bool
    generated: bool  # the database fills it: a DEFAULT, an identity, or an autoincrement key
    length: int | None  # varchar(n); None for text and non-text columns
    max_int: int | None  # the largest value an integer column holds


@dataclass(frozen=True)
class SisTable:
    """A SIS table as reflected, with the values every insert into it must add."""

    table: Table  # the declaration the sync writes through (engine.schema)
    columns: dict[str, SisColumn]
    insert_defaults: dict[str, Any]  # Django defaults of NOT NULL columns the sync leaves out

    @property
    def name(self) -> str:
        return self.table.name

    def length(self, column: str) -> int | None:
        found = self.columns.get(column)
        return found.length if found else None

    def for_insert(self, row: dict[str, Any]) -> dict[str, Any]:
        """``row`` plus the Django defaults it lacks: what an INSERT must carry."""
        return {**self.insert_defaults, **row}


@dataclass(frozen=True)
class FitLimits:
    """What the planner fits values to (picklable, small): lengths by field and the IPK cap."""

    person: dict[str, int] = field(default_factory=dict)
    profile: dict[str, int] = field(default_factory=dict)
    contact: dict[str, int] = field(default_factory=dict)
    legacy_ipk_max: int = INT32_MAX

    def tag(self) -> str:
        """A short digest: part of the mapping version, so a changed column re-fits rows."""
        text = repr((sorted(self.person.items()), sorted(self.profile.items()),
                     sorted(self.contact.items()), self.legacy_ipk_max))  # fmt: skip
        return hashlib.sha256(text.encode()).hexdigest()[:8]


@dataclass(frozen=True)
class SisSchema:
    """The reflected SIS: the five tables, the contact flavour and the fitting limits."""

    person: SisTable
    profile: SisTable
    contact: SisTable
    sponsor: SisTable
    sponsorship: SisTable

    @property
    def contact_table(self) -> Table:
        return self.contact.table

    @property
    def contact_flavour(self) -> str:
        """``contact`` (people_contact, the app's head) or ``emergencycontact`` (older)."""
        return self.contact.name.removeprefix("people_")

    @property
    def contact_flags(self) -> dict[str, bool]:
        """How the sync's own emergency contact is marked in this contact table."""
        return schema.CONTACT_FLAGS[self.contact.name]

    @property
    def tables(self) -> tuple[SisTable, ...]:
        return (self.person, self.profile, self.contact, self.sponsor, self.sponsorship)

    def limits(self) -> FitLimits:
        def lengths(t: SisTable, names: tuple[str, ...]) -> dict[str, int]:
            found = {n: t.length(n) for n in names}
            return {n: v for n, v in found.items() if v is not None}

        ipk = self.profile.columns["legacy_ipk"].max_int
        return FitLimits(
            person=lengths(self.person, _FITTED_PERSON),
            profile=lengths(self.profile, _FITTED_PROFILE),
            contact=lengths(self.contact, _FITTED_CONTACT),
            legacy_ipk_max=ipk if ipk is not None else INT64_MAX,
        )

    def tag(self) -> str:
        """What of the schema shapes the written values: the contact table and the limits."""
        return f"{self.contact_flavour}-{self.limits().tag()}"


_FITTED_PERSON = (
    "family_name",
    "personal_name",
    "full_name",
    "khmer_name",
    "school_email",
    "personal_email",
    "birth_province",
    "preferred_gender",
    "citizenship",
)
_FITTED_PROFILE = ("current_status",)
_FITTED_CONTACT = ("name", "relationship", "primary_phone", "secondary_phone", "email")


def declared_limits() -> FitLimits:
    """The limits of the declared (Django-shaped) tables, for a planner given no reflection."""

    def lengths(t: Table, names: tuple[str, ...]) -> dict[str, int]:
        return {
            n: t.c[n].type.length
            for n in names
            if isinstance(t.c[n].type, String) and t.c[n].type.length is not None
        }

    return FitLimits(
        person=lengths(schema.person, _FITTED_PERSON),
        profile=lengths(schema.student_profile, _FITTED_PROFILE),
        contact=lengths(schema.emergency_contact, _FITTED_CONTACT),
        legacy_ipk_max=INT32_MAX,
    )


@dataclass
class SisInspection:
    """What ``init --check`` reports: the tables found, the problems, the schema if usable."""

    tables: dict[str, bool] = field(default_factory=dict)  # name -> present
    contact_table: str | None = None
    legacy_ipk: str = "missing"  # "integer", "bigint", ... or "missing"
    problems: list[str] = field(default_factory=list)
    missing_tables: list[str] = field(default_factory=list)  # the contact table as one entry
    missing_columns: list[str] = field(default_factory=list)  # "table.column" the sync writes
    # Columns that are there but cannot take the sync's values (a NOT NULL column with no
    # default the sync knows, a legacy_ipk that is not an integer): their sentences.
    unwritable: list[str] = field(default_factory=list)

    def add_unwritable(self, problem: str) -> None:
        self.unwritable.append(problem)
        self.problems.append(problem)

    schema: SisSchema | None = None

    @property
    def ready(self) -> bool:
        return not self.problems and self.schema is not None

    @property
    def empty(self) -> bool:
        """No SIS table at all: a new database (the demo), where `init` creates them."""
        return not any(self.tables.values())


def _max_int(col_type: Any) -> int | None:
    """The largest value an integer column holds. SQLite's INTEGER holds 64 bits, but the
    sync keeps the declared 32-bit rule there too, so the demo behaves as the school does."""
    if isinstance(col_type, BigInteger):
        return INT64_MAX
    if isinstance(col_type, SmallInteger):
        return INT16_MAX
    if isinstance(col_type, Integer):
        return INT32_MAX
    return None


def _reflect_columns(conn: Connection, name: str) -> dict[str, SisColumn]:
    inspector = inspect(conn)
    pk = set(inspector.get_pk_constraint(name).get("constrained_columns") or ())
    out: dict[str, SisColumn] = {}
    for c in inspector.get_columns(name):
        col_type = c["type"]
        # The key is generated (an identity at the school, SQLite's rowid in the demo).
        generated = c.get("default") is not None or c.get("identity") is not None or c["name"] in pk
        length = getattr(col_type, "length", None) if isinstance(col_type, String) else None
        out[c["name"]] = SisColumn(
            name=c["name"],
            nullable=bool(c["nullable"]),
            generated=generated,
            length=length,
            max_int=_max_int(col_type),
        )
    return out


def _check_table(
    declared: Table, columns: dict[str, SisColumn], sourced: tuple[str, ...], found: SisInspection
) -> dict[str, Any]:
    """The insert defaults of one table; problems recorded for what the sync cannot write."""
    name = declared.name
    problems = found.problems
    for col in sourced:
        if col not in columns:
            found.missing_columns.append(f"{name}.{col}")
            fix = (
                LEGACY_IPK_FIX
                if (name, col) == ("people_studentprofile", "legacy_ipk")
                else "the school's Django migrations should create it: run `manage.py migrate`"
            )
            problems.append(f"{name}.{col} is missing: the sync writes it; {fix}")
    known = schema.DJANGO_DEFAULTS.get(name, {})
    defaults: dict[str, Any] = {}
    for col in columns.values():
        if col.nullable or col.generated or col.name in sourced:
            continue
        if col.name in known:
            defaults[col.name] = known[col.name]
        else:
            found.add_unwritable(
                f"{name}.{col.name} is NOT NULL with no default and unknown to the sync: give "
                f"it a database default (ALTER TABLE {name} ALTER COLUMN {col.name} SET "
                "DEFAULT ...), make it nullable, or add its Django default to "
                "student_sync.engine.schema.DJANGO_DEFAULTS"
            )
    return defaults


def inspect_sis(conn: Connection) -> SisInspection:
    """Reflect the SIS tables and say what is wrong, without raising or writing."""
    inspector = inspect(conn)
    present = set(inspector.get_table_names())
    found = SisInspection()
    for t in (*schema.SIS_TABLES, schema.contact):
        found.tables[t.name] = t.name in present
    contact = next((t for t in schema.CONTACT_TABLES if t.name in present), None)
    found.contact_table = contact.name if contact is not None else None
    missing = [
        t.name
        for t in (schema.person, schema.student_profile, schema.sponsor, schema.sponsored_student)
        if t.name not in present
    ]
    if contact is None:
        missing.append("people_contact (or people_emergencycontact)")
    found.missing_tables = missing
    if missing:
        found.problems.append(
            f"table(s) {', '.join(missing)} missing: the SIS tables belong to the school's "
            "Django app (run its `manage.py migrate`); `student-sync init` creates them only "
            "in an empty database"
        )
    roles = {
        "person": (schema.person, schema.SIS_SOURCED_COLUMNS["people_person"]),
        "profile": (schema.student_profile, schema.SIS_SOURCED_COLUMNS["people_studentprofile"]),
        "contact": (contact, (*schema.SIS_SOURCED_COLUMNS["contact"],
                              *schema.CONTACT_FLAGS[contact.name]) if contact is not None else ()),
        "sponsor": (schema.sponsor, schema.SIS_SOURCED_COLUMNS["scholarships_sponsor"]),
        "sponsorship": (
            schema.sponsored_student,
            schema.SIS_SOURCED_COLUMNS["scholarships_sponsoredstudent"],
        ),
    }  # fmt: skip
    tables: dict[str, SisTable] = {}
    for role, (declared, sourced) in roles.items():
        if declared is None or declared.name not in present:
            continue  # named above; the tables that are there are still checked
        columns = _reflect_columns(conn, declared.name)
        defaults = _check_table(declared, columns, sourced, found)
        tables[role] = SisTable(declared, columns, defaults)
    if "profile" not in tables:
        return found
    ipk = tables["profile"].columns.get("legacy_ipk")
    if ipk is not None:
        found.legacy_ipk = {INT16_MAX: "smallint", INT32_MAX: "integer", INT64_MAX: "bigint"}.get(
            ipk.max_int or 0, "not an integer"
        )
        if ipk.max_int is None:
            found.add_unwritable(
                "people_studentprofile.legacy_ipk is not an integer column: the sync stores "
                f"the legacy IPK there; {LEGACY_IPK_FIX}"
            )
    if found.problems:
        return found
    found.schema = SisSchema(**tables)
    return found


def reflect_sis(conn: Connection) -> SisSchema:
    """The SIS as the database has it; ``SisNotReady`` naming every problem otherwise."""
    found = inspect_sis(conn)
    if found.schema is None:
        raise SisNotReady(found.problems)
    return found.schema
