"""Every table the sync reads or writes, declared once with SQLAlchemy Core.

Three families live here:

* the SIS tables, in the shape the school's Django app gives them (``people_*`` and
  ``scholarships_*``); the sync writes them but never alters them when they already exist;
* ``legacy_students``, the staging table loaded from the SQL Server export (every column text);
* the sync's own tables (``student_sync_*``): per-student sync state, stored rejections and the
  run ledger. They are versioned with Alembic (``engine/alembic``, see ``engine.migrations``);
  ``SYNC_SCHEMA_VERSION`` is the number of the head revision.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)

SYNC_SCHEMA_VERSION = 5  # == the head Alembic revision (engine/alembic/versions)

sis_metadata = MetaData()
sync_metadata = MetaData()
legacy_metadata = MetaData()


def _id_column() -> Column:
    """Django's BigAutoField (INTEGER on SQLite so it autoincrements)."""
    return Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )


def _audit_columns() -> list[Column]:
    """Django's audit columns, repeated on every SIS table."""
    return [
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
        Column("is_deleted", Boolean, nullable=False, default=False),
        Column("deleted_at", DateTime(timezone=True), nullable=True),
    ]


# --------------------------------------------------------------------------- SIS (Django)
person = Table(
    "people_person",
    sis_metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("unique_id", Uuid, nullable=False, unique=True),
    Column("family_name", String(255), nullable=False),
    Column("personal_name", String(255), nullable=False),
    Column("full_name", String(255), nullable=False),
    Column("khmer_name", String(255), nullable=False, default=""),
    Column("preferred_gender", String(1), nullable=False),
    Column("school_email", String(254), nullable=True, unique=True),
    Column("personal_email", String(254), nullable=True),
    Column("date_of_birth", Date, nullable=True),
    Column("birth_province", String(50), nullable=True),
    Column("citizenship", String(2), nullable=False, default="KH"),
    *_audit_columns(),
)

student_profile = Table(
    "people_studentprofile",
    sis_metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("person_id", ForeignKey("people_person.id"), nullable=False, unique=True),
    Column("student_id", Integer, nullable=False, unique=True),
    Column("legacy_ipk", BigInteger, nullable=True, index=True),
    Column("is_monk", Boolean, nullable=False, default=False),
    Column("is_transfer_student", Boolean, nullable=False, default=False),
    Column("current_status", String(20), nullable=False),
    Column("last_enrollment_date", Date, nullable=True),
    *_audit_columns(),
)

emergency_contact = Table(
    "people_emergencycontact",
    sis_metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("person_id", ForeignKey("people_person.id"), nullable=False, index=True),
    Column("name", String(255), nullable=False),
    Column("relationship", String(20), nullable=False),
    Column("primary_phone", String(20), nullable=False, default=""),
    Column("secondary_phone", String(20), nullable=False, default=""),
    Column("email", String(254), nullable=False, default=""),
    Column("address", Text, nullable=False, default=""),
    Column("is_primary", Boolean, nullable=False, default=False),
    *_audit_columns(),
)

sponsor = Table(
    "scholarships_sponsor",
    sis_metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("code", String(10), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("mou_start_date", Date, nullable=True),
    Column("mou_end_date", Date, nullable=True),
    Column("is_active", Boolean, nullable=False, default=True),
    *_audit_columns(),
)

sponsored_student = Table(
    "scholarships_sponsoredstudent",
    sis_metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("sponsor_id", ForeignKey("scholarships_sponsor.id"), nullable=False, index=True),
    Column("student_id", ForeignKey("people_studentprofile.id"), nullable=False, index=True),
    Column("sponsorship_type", String(20), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=True),
    Column("notes", Text, nullable=False, default=""),
    *_audit_columns(),
    UniqueConstraint("sponsor_id", "student_id", "start_date", name="uniq_sponsor_student_start"),
)

SIS_TABLES = (person, student_profile, emergency_contact, sponsor, sponsored_student)

# Columns the sync writes on each SIS table: `init` checks an existing Django schema has them.
SIS_WRITTEN_COLUMNS: dict[str, tuple[str, ...]] = {
    t.name: tuple(c.name for c in t.columns) for t in SIS_TABLES
}

KNOWN_SPONSORS: tuple[tuple[str, str], ...] = (
    ("CRST", "Cambodian Rural Students Trust"),
    ("PLF", "Ponheary Ly Foundation"),
    ("PEPY", "People Empowering Youth"),
    ("BFOK", "The Hearts Company"),
    ("JWOC", "Journeys Within Our Community"),
    ("LOC", "Lotus Outreach Cambodia"),
    ("ANJALI", "Anjali House"),
)

# --------------------------------------------------------------------------- legacy staging
# Columns the sync reads, in the order they enter the raw digest. Everything else in the
# staging table (about 80 more columns of the export) is ignored.
LEGACY_COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "kname",
    "kname2",
    "birth_date",
    "birth_place",
    "gender",
    "nationality",
    "email",
    "school_email",
    "transfer",
    "lastenroll",
    "emg_contact_person",
    "contact_person_phone",
    "relationship",
    "contact_person_address",
    "ipk",
    "modified_date",
    "created_date",
    "deleted",
    "status",
)
LEGACY_REQUIRED_COLUMNS: tuple[str, ...] = ("id", "name", "ipk")
LEGACY_TABLE_NAME = "legacy_students"


def legacy_students_table(
    metadata: MetaData | None = None,
    extra_columns: tuple[str, ...] = (),
    name: str = LEGACY_TABLE_NAME,
) -> Table:
    """The staging table: every column TEXT and nullable (the sync, not the loader, judges rows)."""
    md = metadata if metadata is not None else MetaData()
    names = list(LEGACY_COLUMNS) + [c for c in extra_columns if c not in LEGACY_COLUMNS]
    return Table(name, md, *(Column(c, Text, nullable=True) for c in names))


legacy_students = legacy_students_table(legacy_metadata)

# --------------------------------------------------------------------------- sync's own tables
sync_state = Table(
    "student_sync_state",
    sync_metadata,
    Column("student_id", Integer, primary_key=True, autoincrement=False),
    # The legacy id with spaces and leading zeros removed: joins the legacy table without casts.
    Column("legacy_key", String(64), nullable=False, unique=True),
    Column("legacy_ipk", BigInteger, nullable=True),
    Column("raw_digest", String(32), nullable=True),
    Column("fingerprint", String(64), nullable=False),
    Column("mapping_version", String(64), nullable=False),
    Column("person_id", BigInteger, nullable=True),
    Column("profile_id", BigInteger, nullable=True),
    Column("contact_id", BigInteger, nullable=True),
    Column("is_deleted", Boolean, nullable=False, default=False),
    Column("last_run_id", String(36), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

rejection = Table(
    "student_sync_rejection",
    sync_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("legacy_id", String(255), nullable=False),
    Column("ipk", String(64), nullable=False, default=""),
    Column("reason", String(64), nullable=False),
    Column("detail", Text, nullable=False, default=""),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("last_run_id", String(36), nullable=True),
    Column("resolved_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("legacy_id", "ipk", name="uniq_rejection_row"),
)

run_ledger = Table(
    "student_sync_run",
    sync_metadata,
    Column("run_id", String(36), primary_key=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("status", String(16), nullable=False),  # running, completed, failed, abandoned, refused
    Column("mode", String(16), nullable=False),
    Column("force_update", Boolean, nullable=False, default=False),
    Column("parameters", Text, nullable=False, default="{}"),
    Column("counts", Text, nullable=False, default="{}"),
    Column("success_rate", String(16), nullable=True),
    Column("error", Text, nullable=True),
    Column("database", String(255), nullable=False, default=""),
    Column("pid", Integer, nullable=True),
    Column("host", String(255), nullable=True),
    Column("report_path", Text, nullable=True),  # revision 0002
)

sync_meta = Table(
    "student_sync_meta",
    sync_metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# --------------------------------------------------------------------------- change log (0005)
# One row per SIS row the sync wrote, per run: ``changes`` is compact JSON
# ``{column: [old, new]}`` of the columns whose value changed (creates: old is null).
change_log = Table(
    "student_sync_change_log",
    sync_metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("run_id", String(36), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("student_id", Integer, nullable=False),
    Column("table_name", String(64), nullable=False),
    # create, update, restore, delete, vanish; contacts: create, update, delete;
    # sponsorships: open, end, reopen
    Column("action", String(16), nullable=False),
    Column("changes", Text, nullable=False),
)

# What the sync last wrote to each column it owns, as short digests (``changelog.digests``):
# a column whose SIS value no longer matches was edited in the SIS (a registrar edit). Kept
# apart from ``student_sync_state`` so the no-change rerun, which joins that table, reads no
# more than before.
last_written = Table(
    "student_sync_written",
    sync_metadata,
    Column("student_id", Integer, primary_key=True, autoincrement=False),
    Column("person", String(255), nullable=True),
    Column("profile", String(255), nullable=True),
    Column("contact", String(255), nullable=True),
)

# Registrar edits the legacy value disagrees with, one row per student and column: reported
# once (``reported_digest`` remembers which pair of values was reported), open until the
# values agree again or ``legacy-wins`` overwrites.
conflict = Table(
    "student_sync_conflict",
    sync_metadata,
    Column("student_id", Integer, primary_key=True, autoincrement=False),
    Column("table_name", String(64), primary_key=True),
    Column("column_name", String(64), primary_key=True),
    Column("sis_value", Text, nullable=True),  # JSON scalars
    Column("legacy_value", Text, nullable=True),
    Column("reported_digest", String(32), nullable=False),
    Column("resolution", String(16), nullable=False),  # kept-sis, legacy-wins, agreed
    Column("first_run_id", String(36), nullable=False),
    Column("detected_at", DateTime(timezone=True), nullable=False),
    Column("last_run_id", String(36), nullable=False),
    Column("resolved_at", DateTime(timezone=True), nullable=True),
)

Index("ix_student_sync_rejection_open", rejection.c.resolved_at)
Index("ix_student_sync_run_status", run_ledger.c.status)
Index("ix_student_sync_rejection_reason", rejection.c.reason)  # revision 0002
Index("ix_student_sync_change_log_student", change_log.c.student_id)  # revision 0005
Index("ix_student_sync_change_log_changed_at", change_log.c.changed_at)  # revision 0005
Index("ix_student_sync_conflict_open", conflict.c.resolved_at)  # revision 0005

SYNC_TABLES = (sync_state, rejection, run_ledger, sync_meta, change_log, last_written, conflict)
