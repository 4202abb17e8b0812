"""Write demo rows to a ``legacy_students`` staging table (COPY on PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, islice
from operator import itemgetter

from sqlalchemy import Connection, Engine, inspect

from student_sync.demo.generator import LegacyRow
from student_sync.engine.bulk import insert_tuples
from student_sync.engine.db import reflect_table
from student_sync.engine.legacy_load import add_text_columns, begin, legacy_table
from student_sync.engine.schema import LEGACY_COLUMNS, LEGACY_TABLE_NAME


def write_legacy_table(
    conn_or_engine: Engine | Connection,
    rows: Iterable[LegacyRow],
    *,
    replace: bool = True,
    table_name: str = LEGACY_TABLE_NAME,
    chunk_size: int = 10_000,
) -> int:
    """Write rows to the staging table (all TEXT); returns the number of rows written.

    Columns come from the first ``chunk_size`` rows (LEGACY_COLUMNS first); a later row with
    a column not seen there is an error. ``replace`` drops and recreates the table; otherwise
    rows are appended (missing columns added). On an Engine this is one transaction; on a
    Connection, the caller's open transaction (or one begun and committed here). PostgreSQL
    (psycopg) gets COPY; SQLite a compiled Core INSERT fed to the driver's executemany.
    """
    iterator = iter(rows)
    first = list(islice(iterator, chunk_size))
    seen: dict[str, None] = {}
    for row in first:
        seen.update(dict.fromkeys(row))
    extra = [column for column in seen if column not in LEGACY_COLUMNS]
    columns = tuple(LEGACY_COLUMNS) + tuple(extra)
    with begin(conn_or_engine) as conn:
        table = legacy_table(table_name, extra)
        if replace:
            table.drop(conn, checkfirst=True)
            table.create(conn)
        elif inspect(conn).has_table(table_name):
            table = add_text_columns(conn, reflect_table(conn, table_name), columns)
        else:
            table.create(conn)
        return insert_tuples(
            conn, table, columns, _tuples(chain(first, iterator), columns), chunk_size=chunk_size
        )


def _tuples(rows: Iterable[LegacyRow], columns: Sequence[str]) -> Iterator[tuple[str | None, ...]]:
    """Rows as tuples in column order; missing keys are None, unknown keys an error."""
    getter = itemgetter(*columns)
    width = len(columns)
    known = frozenset(columns)
    for row in rows:
        if len(row) == width:
            try:
                yield getter(row)
                continue
            except KeyError:
                pass
        unknown = [key for key in row if key not in known]
        if unknown:
            raise ValueError(f"row {row.get('id')!r} has columns not in the table: {unknown}")
        yield tuple(row.get(column) for column in columns)
