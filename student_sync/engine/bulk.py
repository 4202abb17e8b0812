"""Bulk writing, dialect by dialect: many rows per statement, never one round trip per row.

What to write is decided elsewhere (``apply.py`` for the SIS and the sync state,
``legacy_load.py`` for the legacy staging table); this module only knows how each database
takes many rows fastest. PostgreSQL (psycopg 3): new rows go in by COPY; updates and upserts
of ``STAGE_MIN_ROWS`` rows or more are COPYed into a temporary staging table and applied by one
UPDATE ... FROM or INSERT ... ON CONFLICT (rows believed new: COPYed straight in, with the
upsert as fallback); smaller ones are one prepared statement sent in pipeline mode. SQLite:
executemany. Every writer works inside the caller's transaction.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from itertools import islice
from operator import add, itemgetter
from typing import Any

from psycopg import sql as pgsql
from psycopg.abc import Buffer
from psycopg.adapt import Dumper, PyFormat, Transformer
from psycopg.errors import UniqueViolation
from sqlalchemy import Connection, Table, TableClause, bindparam, func, insert, select, update
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.dialects import postgresql, sqlite

# Below this many rows a statement per row, pipelined, beats creating and filling a staging
# table (measured: batch size 100 ran 30% slower staged; 5,000 ran 2-4x faster staged).
STAGE_MIN_ROWS = 500

IN_CHUNK = 5_000  # values per IN (...) list: well under every driver's parameter limit


def chunked(values: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    """Consecutive slices of at most ``size`` values (IN lists a driver accepts)."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def is_postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def execute_many(
    conn: Connection, stmt: Any, rows: Sequence[dict[str, Any]], *, returning: bool = False
) -> list[tuple[Any, ...]]:
    """Run one statement for many rows; on PostgreSQL via psycopg's pipelined executemany.

    SQLAlchemy renders INSERT executemany as multi-VALUES text that psycopg must re-parse for
    every page; one prepared statement sent in pipeline mode is several times faster.
    """
    if not rows:
        return []
    if not is_postgres(conn):
        result = conn.execute(stmt, list(rows))
        return [tuple(r) for r in result] if returning else []
    sql = str(stmt.compile(dialect=conn.dialect, column_keys=list(rows[0])))
    cursor = conn.connection.driver_connection.cursor()
    out: list[tuple[Any, ...]] = []
    try:
        cursor.executemany(sql, rows, returning=returning)
        while returning:
            out.extend(cursor.fetchall())
            if not cursor.nextset():
                break
    finally:
        cursor.close()
    return out


def copy_rows(
    conn: Connection, table: TableClause, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """COPY ... FROM STDIN of positional rows (aligned with ``columns``) into ``table``
    (PostgreSQL, psycopg 3), inside the connection's transaction; returns the rows written.

    Values go through psycopg's own adaptation, so COPY stores what an INSERT would; the
    identifiers are quoted by psycopg.
    """
    parts = (table.schema, table.name) if table.schema else (table.name,)
    statement = pgsql.SQL("COPY {} ({}) FROM STDIN").format(
        pgsql.Identifier(*parts), pgsql.SQL(", ").join(map(pgsql.Identifier, columns))
    )
    written = 0
    driver = conn.connection.driver_connection
    with driver.cursor() as cursor:
        # Every row of a batch carries the run's clock: its text is dumped once. One class for
        # every COPY: psycopg keeps each dumper class it is given in a map of its own for the
        # process's lifetime (a class made per COPY leaked ~10 KB a batch: 90 MB over a
        # 1,000,000-student first load at --batch-size 100).
        cursor.adapters.register_dumper(datetime, _LastDatetimeDumper)
        with cursor.copy(statement) as copy:
            written = _write_rows(copy.write_row, rows)
    return written


def _write_rows(write_row: Any, rows: Iterable[Sequence[Any]]) -> int:
    written = 0
    for row in rows:
        write_row(row)
        written += 1
    return written


class _LastDatetimeDumper(Dumper):
    """COPY text of a datetime through psycopg's own dumper, the last value's text kept.

    psycopg picks its datetime dumper per value (aware or naive): ~2.5 us a value, and an
    initial load COPYs a datetime or two (the run's ``now``) in each of ~400,000 rows.
    """

    def __init__(self, cls: type, context: Any = None) -> None:
        super().__init__(cls, context)
        # The connection's own dumpers: the cursor's map has this class for datetime.
        self._tx = Transformer(getattr(context, "connection", None))
        self._last: Any = None
        self._text: Buffer = b""

    def dump(self, obj: Any) -> Buffer:
        if obj is not self._last:
            self._text = self._tx.get_dumper(obj, PyFormat.TEXT).dump(obj)
            self._last = obj
        return self._text


def insert_tuples(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    chunk_size: int = 10_000,
) -> int:
    """Insert positional rows (aligned with ``columns``) of plain values, streamed in chunks;
    COPY on psycopg, else executemany. Returns the rows written.

    For text-only tables such as the legacy staging table: on SQLite the values reach the
    driver without SQLAlchemy's type processing.
    """
    if is_postgres(conn) and conn.dialect.driver == "psycopg":
        return copy_rows(conn, table, columns, rows)
    keys = tuple(columns)
    statement = insert(table)
    compiled = statement.compile(dialect=conn.dialect, column_keys=list(keys))
    positional = conn.dialect.paramstyle == "qmark" and compiled.positiontup is not None
    written = 0
    iterator = iter(rows)
    if positional and sorted(compiled.positiontup) == sorted(keys):  # type: ignore[arg-type]
        # The Core statement compiled once, fed tuples straight to the driver's executemany:
        # ~3x faster than per-row dicts through SQLAlchemy's parameter processing (SQLite).
        order = list(compiled.positiontup)  # type: ignore[arg-type]
        reorder = None if order == list(keys) else itemgetter(*(keys.index(k) for k in order))
        sql_text = str(compiled)
        while chunk := list(islice(iterator, chunk_size)):
            params = chunk if reorder is None else [reorder(r) for r in chunk]
            conn.exec_driver_sql(sql_text, params)
            written += len(chunk)
        return written
    while chunk := list(islice(iterator, chunk_size)):
        conn.execute(statement, [dict(zip(keys, row, strict=True)) for row in chunk])
        written += len(chunk)
    return written


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows (same keys on every row) whose generated ids nobody needs back: COPY for
    ``STAGE_MIN_ROWS`` rows or more on PostgreSQL, else executemany."""
    if not rows:
        return
    if _staged(conn, rows):
        copy_rows(conn, table, list(rows[0]), _positional(rows))
    else:
        execute_many(conn, insert(table), rows)


def insert_positional(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """``insert_rows`` of rows already positional (aligned with ``columns``): no dict a row
    on the COPY path, where a first load writes millions."""
    if not rows:
        return
    if _staged(conn, rows):
        copy_rows(conn, table, columns, rows)
    else:
        execute_many(conn, insert(table), [dict(zip(columns, r, strict=True)) for r in rows])


def insert_returning_ids(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], key: str
) -> list[int]:
    """Insert rows and return their generated ids, in row order.

    PostgreSQL: ids are drawn from the table's own sequence in one statement and the rows go
    in by COPY (the bulk path, tens of times faster than row inserts). Elsewhere, or when the
    id has no sequence: INSERT ... RETURNING id matched back to the rows by a unique ``key``
    column (asking SQLAlchemy to keep parameter order needs a sentinel column).
    """
    if not rows:
        return []
    if is_postgres(conn):
        ids = _copy_with_sequence_ids(conn, table, rows)
        if ids is not None:
            return ids
    stmt = insert(table).returning(table.c.id, table.c[key])
    returned = execute_many(conn, stmt, rows, returning=True)
    by_key = {k: i for i, k in returned}
    return [by_key[r[key]] for r in rows]


def _copy_with_sequence_ids(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]]
) -> list[int] | None:
    """COPY rows with ids drawn from the id column's sequence; None when it has none."""
    sequence = conn.execute(select(func.pg_get_serial_sequence(table.name, "id"))).scalar()
    if sequence is None:
        return None
    # One array of fresh ids from the table's own sequence: safe beside other writers (the
    # SIS application inserting people at the same time).
    ids: list[int] = conn.execute(
        select(func.array_agg(func.nextval(sequence))).select_from(
            func.generate_series(1, len(rows))
        )
    ).scalar_one()
    if len(ids) != len(rows):
        raise ValueError(f"{len(ids)} ids drawn for {len(rows)} rows")
    copy_rows(conn, table, ["id", *rows[0]], map(add, zip(ids), _positional(rows)))
    return ids


def _positional(rows: Sequence[dict[str, Any]]) -> Iterator[tuple[Any, ...]]:
    """Each row's values as a tuple, in its keys' order, iterated in C (no frame a row)."""
    return map(tuple, map(dict.values, rows))


def new_uuids(n: int, *, as_text: bool) -> list[uuid.UUID] | list[str]:
    """``n`` random (version 4) UUIDs; as text from one ``os.urandom`` call for COPY, where
    ``uuid.uuid4()`` per row was 5% of an initial load."""
    if not as_text:
        return [uuid.uuid4() for _ in range(n)]
    raw = bytearray(os.urandom(16 * n))
    raw[6::16] = bytes((b & 0x0F) | 0x40 for b in raw[6::16])  # version 4
    raw[8::16] = bytes((b & 0x3F) | 0x80 for b in raw[8::16])  # RFC 4122 variant
    text = raw.hex()
    return [
        f"{text[i : i + 8]}-{text[i + 8 : i + 12]}-{text[i + 12 : i + 16]}-"
        f"{text[i + 16 : i + 20]}-{text[i + 20 : i + 32]}"
        for i in range(0, 32 * n, 32)
    ]


def update_by_id(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """UPDATE ... WHERE id = row id, with the same columns on every row.

    PostgreSQL: the rows are staged by COPY and applied by one UPDATE ... FROM; elsewhere an
    executemany UPDATE.
    """
    if not rows:
        return
    columns = [c for c in rows[0] if c != "id"]
    if _staged(conn, rows):
        stage = _stage(conn, table, rows)
        conn.execute(
            update(table).values({c: stage.c[c] for c in columns}).where(table.c.id == stage.c.id)
        )
        return
    stmt = (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values({c: bindparam(f"b_{c}") for c in columns})
    )
    conn.execute(stmt, [{f"b_{k}": v for k, v in r.items()} | {"b_id": r["id"]} for r in rows])


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    *,
    keep_on_update: Sequence[str] = (),
    add_on_update: Sequence[str] = (),
) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE, on PostgreSQL and SQLite alike.

    ``keep_on_update`` columns keep the stored value; ``add_on_update`` columns become the
    stored value plus the new one (a counter). On PostgreSQL the rows are staged by COPY and
    merged by one INSERT ... SELECT.
    """
    if not rows:
        return
    columns = list(rows[0])
    changed = [c for c in columns if c not in keys and c not in keep_on_update]

    def set_(stmt: Any) -> dict[str, Any]:
        return {
            c: table.c[c] + stmt.excluded[c] if c in add_on_update else stmt.excluded[c]
            for c in changed
        }

    if _staged(conn, rows):
        stage = _stage(conn, table, rows)
        stmt = postgresql.insert(table).from_select(columns, select(*(stage.c[c] for c in columns)))
        conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=set_(stmt)))
        return
    stmt = (postgresql.insert if is_postgres(conn) else sqlite.insert)(table)
    execute_many(conn, stmt.on_conflict_do_update(index_elements=list(keys), set_=set_(stmt)), rows)


def insert_new(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> bool:
    """Rows the caller believes new: COPYed straight into ``table`` on PostgreSQL (no staging
    table, no merge: half the server's work of ``upsert``), under a savepoint. A key that
    exists after all (a bookkeeping row the planner could not see, such as one left behind
    when an operator cleared another table) rolls the savepoint back and the same rows are
    upserted: the result is ``upsert``'s either way. Returns whether the fallback ran.

    Fewer than ``STAGE_MIN_ROWS`` rows, or SQLite: ``upsert`` (a savepoint would cost more
    round trips than it saves).
    """
    if not _staged(conn, rows):
        upsert(conn, table, rows, keys)
        return False
    try:
        with conn.begin_nested():
            copy_rows(conn, table, list(rows[0]), _positional(rows))
    except UniqueViolation:
        upsert(conn, table, rows, keys)
        return True
    return False


def _staged(conn: Connection, rows: Sequence[Any]) -> bool:
    """Whether these rows take the COPY path (PostgreSQL, STAGE_MIN_ROWS rows or more)."""
    return is_postgres(conn) and len(rows) >= STAGE_MIN_ROWS


def _stage(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> TableClause:
    """COPY rows into a new temporary table shaped like ``table``'s columns (PostgreSQL).

    The table is dropped at commit; its columns take their types from ``table``, so COPY
    converts values exactly as an INSERT into ``table`` would.
    """
    columns = list(rows[0])
    name = f"student_sync_stage_{next(_stage_numbers)}"
    create = pgsql.SQL("CREATE TEMPORARY TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA")
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.execute(
            create.format(
                pgsql.Identifier(name),
                pgsql.SQL(", ").join(map(pgsql.Identifier, columns)),
                pgsql.Identifier(table.name),
            )
        )
    finally:
        cursor.close()
    stage = sql_table(name, *(sql_column(c) for c in columns))
    copy_rows(conn, stage, columns, _positional(rows))
    return stage


_stage_numbers = itertools.count(1)
