"""Alembic scripts for the sync's own tables (``student_sync_*``); see ``engine.migrations``."""
