"""Legacy tables for the engine's unit tests: a few hand-written rows, written as given."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, MetaData, Table

from student_sync.engine import schema
from student_sync.engine.db import make_engine, normalize_url
from student_sync.engine.extract import LegacySource, iter_legacy_pages
from student_sync.engine.options import SyncOptions


def legacy_row(student_id: str | None, ipk: str | None = "1", **values: Any) -> dict[str, Any]:
    """A legacy row with only what the extract reads by default; override any column."""
    row: dict[str, Any] = dict.fromkeys(schema.LEGACY_COLUMNS)
    row.update(id=student_id, ipk=ipk, name="SOK Dara", deleted="0")
    row.update(values)
    return row


def legacy_engine(url: str, rows: Iterable[dict[str, Any]], table: Table | None = None) -> Engine:
    """An engine on ``url`` whose legacy table (TEXT columns unless ``table`` says otherwise)
    holds exactly ``rows``."""
    engine = make_engine(normalize_url(url))
    table = table if table is not None else schema.legacy_students_table(MetaData())
    rows = list(rows)
    with engine.begin() as conn:
        table.drop(conn, checkfirst=True)
        table.create(conn)
        if rows:
            conn.execute(table.insert(), rows)
    return engine


def pages(engine: Engine, options: SyncOptions) -> list[list[dict[str, Any]]]:
    """Every page the keyset walk yields for ``options``."""
    with engine.connect() as conn:
        source = LegacySource.reflect(conn)
        return list(iter_legacy_pages(conn, source, options))
