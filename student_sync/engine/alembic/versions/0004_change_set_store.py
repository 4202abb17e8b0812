"""Planned change sets in the database, so every step of a Dagster run can read them.

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-30

Dagster's plan step stores its change set here and the apply step (possibly another process,
or another machine under a run launcher) reads it back; before, it was a folder on the
webserver's disk. ``student_sync_change_set`` holds one row per change set (its header and,
once applied, what the apply did); ``student_sync_change_set_batch`` one row per planned batch
(gzip JSON). Both start empty; nothing else changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "student_sync_change_set",
        sa.Column("change_set_id", sa.String(32), primary_key=True),
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("header", sa.Text, nullable=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("applied_summary", sa.Text, nullable=True),
    )
    op.create_index(
        "ix_student_sync_change_set_scope", "student_sync_change_set", ["scope", "planned_at"]
    )
    op.create_table(
        "student_sync_change_set_batch",
        sa.Column("change_set_id", sa.String(32), primary_key=True),
        sa.Column("number", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("student_sync_change_set_batch")
    op.drop_index("ix_student_sync_change_set_scope", table_name="student_sync_change_set")
    op.drop_table("student_sync_change_set")
