"""The run ledger remembers where each run's JSON report went; rejections by reason.

Revision ID: 0002
Revises: 0001
Create Date: 2026-03-10

``student_sync_run.report_path`` (nullable text) lets an operator go from a ledger row to its
report; the index on ``student_sync_rejection(reason)`` serves "open rejections by reason".
Existing rows keep everything they had; their report_path stays NULL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("student_sync_run") as batch:
        batch.add_column(sa.Column("report_path", sa.Text, nullable=True))
    op.create_index("ix_student_sync_rejection_reason", "student_sync_rejection", ["reason"])


def downgrade() -> None:
    op.drop_index("ix_student_sync_rejection_reason", table_name="student_sync_rejection")
    with op.batch_alter_table("student_sync_run") as batch:
        batch.drop_column("report_path")
