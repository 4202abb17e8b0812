"""Stored rejections count the runs that saw them (``student-sync rejections``).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

``student_sync_rejection.seen_count`` (integer, NOT NULL): each run that rejects the row again
adds one. Rows stored before this revision were seen at least once; they start at 1.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("student_sync_rejection") as batch:
        batch.add_column(
            sa.Column("seen_count", sa.Integer, nullable=False, server_default=sa.text("1"))
        )


def downgrade() -> None:
    with op.batch_alter_table("student_sync_rejection") as batch:
        batch.drop_column("seen_count")
