"""Revisions of the sync tables; the SIS (Django) tables are never touched here."""
