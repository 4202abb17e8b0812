"""The sync tables as the pre-Alembic ``create_all`` made them (SYNC_SCHEMA_VERSION 1).

Revision ID: 0001
Revises:
Create Date: 2026-03-10

Frozen copy: later changes go in new revisions, never here. A database whose sync tables were
made by the old ``create_all`` (all present, no version table) is stamped at this revision by
``engine.migrations`` instead of running it; when only some are present, this creates the rest.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    present = set(sa.inspect(op.get_bind()).get_table_names())
    if "student_sync_state" not in present:
        _state()
    if "student_sync_rejection" not in present:
        _rejection()
    if "student_sync_run" not in present:
        _run()
    if "student_sync_meta" not in present:
        op.create_table(
            "student_sync_meta",
            sa.Column("key", sa.String(64), primary_key=True),
            sa.Column("value", sa.Text, nullable=False),
        )


def _state() -> None:
    op.create_table(
        "student_sync_state",
        sa.Column("student_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("legacy_key", sa.String(64), nullable=False, unique=True),
        sa.Column("legacy_ipk", sa.BigInteger, nullable=True),
        sa.Column("raw_digest", sa.String(32), nullable=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("mapping_version", sa.String(64), nullable=False),
        sa.Column("person_id", sa.BigInteger, nullable=True),
        sa.Column("profile_id", sa.BigInteger, nullable=True),
        sa.Column("contact_id", sa.BigInteger, nullable=True),
        sa.Column("is_deleted", sa.Boolean, nullable=False),
        sa.Column("last_run_id", sa.String(36), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def _rejection() -> None:
    op.create_table(
        "student_sync_rejection",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("legacy_id", sa.String(255), nullable=False),
        sa.Column("ipk", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_run_id", sa.String(36), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("legacy_id", "ipk", name="uniq_rejection_row"),
    )
    op.create_index("ix_student_sync_rejection_open", "student_sync_rejection", ["resolved_at"])


def _run() -> None:
    op.create_table(
        "student_sync_run",
        sa.Column("run_id", sa.String(36), primary_key=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("force_update", sa.Boolean, nullable=False),
        sa.Column("parameters", sa.Text, nullable=False),
        sa.Column("counts", sa.Text, nullable=False),
        sa.Column("success_rate", sa.String(16), nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("database", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=True),
        sa.Column("host", sa.String(255), nullable=True),
    )
    op.create_index("ix_student_sync_run_status", "student_sync_run", ["status"])


def downgrade() -> None:
    op.drop_table("student_sync_meta")
    op.drop_index("ix_student_sync_run_status", table_name="student_sync_run")
    op.drop_table("student_sync_run")
    op.drop_index("ix_student_sync_rejection_open", table_name="student_sync_rejection")
    op.drop_table("student_sync_rejection")
    op.drop_table("student_sync_state")
