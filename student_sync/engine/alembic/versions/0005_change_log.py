"""The change log, what the sync last wrote per column, and registrar-edit conflicts.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

``student_sync_change_log``: one row per SIS row written per run, with the changed columns'
old and new values (``student-sync history``). ``student_sync_written``: digests of the
values the sync last wrote per student (conflict detection). ``student_sync_conflict``:
registrar edits the legacy value disagrees with. Existing rows are untouched; students synced
before this revision get their digests on their next write (until then an SIS edit of theirs
cannot be told from a sync write, as before).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "student_sync_change_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("student_id", sa.Integer, nullable=False),
        sa.Column("table_name", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("changes", sa.Text, nullable=False),
    )
    op.create_index("ix_student_sync_change_log_student", "student_sync_change_log", ["student_id"])
    op.create_index(
        "ix_student_sync_change_log_changed_at", "student_sync_change_log", ["changed_at"]
    )
    op.create_table(
        "student_sync_written",
        sa.Column("student_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("person", sa.String(255), nullable=True),
        sa.Column("profile", sa.String(255), nullable=True),
        sa.Column("contact", sa.String(255), nullable=True),
    )
    op.create_table(
        "student_sync_conflict",
        sa.Column("student_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("table_name", sa.String(64), primary_key=True),
        sa.Column("column_name", sa.String(64), primary_key=True),
        sa.Column("sis_value", sa.Text, nullable=True),
        sa.Column("legacy_value", sa.Text, nullable=True),
        sa.Column("reported_digest", sa.String(32), nullable=False),
        sa.Column("resolution", sa.String(16), nullable=False),
        sa.Column("first_run_id", sa.String(36), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_run_id", sa.String(36), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_student_sync_conflict_open", "student_sync_conflict", ["resolved_at"])


def downgrade() -> None:
    op.drop_index("ix_student_sync_conflict_open", table_name="student_sync_conflict")
    op.drop_table("student_sync_conflict")
    op.drop_table("student_sync_written")
    op.drop_index("ix_student_sync_change_log_changed_at", table_name="student_sync_change_log")
    op.drop_index("ix_student_sync_change_log_student", table_name="student_sync_change_log")
    op.drop_table("student_sync_change_log")
