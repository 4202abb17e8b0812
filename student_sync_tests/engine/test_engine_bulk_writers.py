"""The bulk writers of ``engine/bulk.py`` on SQLite and PostgreSQL, on scratch tables.

Each writer is called through its signature (connection, table, rows, ...) and judged by what
the table holds afterwards; which path it took (COPY or statements) is checked separately.
Sizes straddle ``STAGE_MIN_ROWS``, where PostgreSQL switches from pipelined statements to COPY
into a staging table. Text values carry what COPY must escape: tabs, newlines, backslashes, a
literal ``\\N``, the empty string next to NULL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
)

from student_sync.engine import bulk
from student_sync.engine.db import make_engine, normalize_url

TEXTS = ["plain", "tab\there", "line\nbreak", "back\\slash", "\\N", "", None, "សុខ ស្រី", "q'\","]
STAGED = bulk.STAGE_MIN_ROWS
SIZES = [1, 3, STAGED - 1, STAGED]


def probe_table() -> Table:
    return Table(
        "bulk_probe",
        MetaData(),
        Column(
            "id",
            BigInteger().with_variant(Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        Column("code", String(40), nullable=False, unique=True),
        Column("name", Text, nullable=True),
        Column("amount", Integer, nullable=True),
        Column("born", Date, nullable=True),
        Column("active", Boolean, nullable=False),
    )


def text_table() -> Table:
    """All TEXT, no id: the shape of the legacy staging table ``insert_tuples`` writes."""
    return Table(
        "bulk_text_probe",
        MetaData(),
        Column("code", Text, nullable=True),
        Column("name", Text, nullable=True),
        Column("note", Text, nullable=True),
    )


def probe_rows(count: int, *, start: int = 0, version: int = 0) -> list[dict[str, Any]]:
    """Rows keyed by ``code``; ``version`` changes every other value."""
    return [
        {
            "code": f"C{number:05d}",
            "name": TEXTS[(number + version) % len(TEXTS)],
            "amount": None if number % 7 == 3 else number * 10 + version,
            "born": date(2000 + version, 1 + number % 12, 1 + number % 28),
            "active": (number + version) % 2 == 0,
        }
        for number in range(start, start + count)
    ]


@pytest.fixture
def probe(db_url):
    engine = make_engine(normalize_url(db_url))
    table = probe_table()
    with engine.begin() as conn:
        table.create(conn)
        text_table().create(conn)
    yield engine, table
    engine.dispose()


def stored(engine: Engine, table: Table) -> dict[str, dict[str, Any]]:
    """The table by code, without ids."""
    with engine.connect() as conn:
        rows = conn.execute(select(table)).mappings().all()
    return {row["code"]: {k: v for k, v in row.items() if k != "id"} for row in rows}


def ids_by_code(engine: Engine, table: Table) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(select(table.c.code, table.c.id)).all())


def is_pg(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


@pytest.mark.parametrize("size", [0, *SIZES])
def test_insert_returning_ids_in_row_order(probe, size) -> None:
    engine, table = probe
    rows = probe_rows(size)
    with engine.begin() as conn:
        ids = bulk.insert_returning_ids(conn, table, rows, key="code")
    assert len(ids) == size and len(set(ids)) == size
    by_code = ids_by_code(engine, table)
    assert ids == [by_code[row["code"]] for row in rows]
    assert stored(engine, table) == {row["code"]: row for row in rows}
    # Another writer (the SIS application) inserting afterwards gets a fresh id.
    with engine.begin() as conn:
        extra = probe_rows(1, start=size + 1)[0]
        new_id = conn.execute(insert(table).values(extra).returning(table.c.id)).scalar_one()
    assert new_id not in ids


@pytest.mark.parametrize("size", [0, *SIZES])
def test_insert_rows_writes_every_row(probe, size) -> None:
    engine, table = probe
    rows = probe_rows(size)
    with engine.begin() as conn:
        bulk.insert_rows(conn, table, rows)
    assert stored(engine, table) == {row["code"]: row for row in rows}


@pytest.mark.parametrize("size", [0, *SIZES])
def test_insert_positional_writes_every_row(probe, size) -> None:
    engine, table = probe
    rows = probe_rows(size)
    columns = list(rows[0]) if rows else []
    with engine.begin() as conn:
        bulk.insert_positional(conn, table, columns, [tuple(r.values()) for r in rows])
    assert stored(engine, table) == {row["code"]: row for row in rows}


@pytest.mark.parametrize("size", [0, 2, 40])
def test_execute_many_inserts_and_returns(probe, size) -> None:
    engine, table = probe
    rows = probe_rows(size)
    with engine.begin() as conn:
        assert bulk.execute_many(conn, insert(table), rows) == []
    assert stored(engine, table) == {row["code"]: row for row in rows}
    more = probe_rows(size, start=size)
    with engine.begin() as conn:
        returned = bulk.execute_many(
            conn, insert(table).returning(table.c.id, table.c.code), more, returning=True
        )
    by_code = ids_by_code(engine, table)
    assert sorted(returned) == sorted((by_code[row["code"]], row["code"]) for row in more)


UPSERT_CASES = [
    # keep_on_update, add_on_update: what an existing key's amount becomes
    pytest.param((), (), "new", id="overwrite"),
    pytest.param(("amount",), (), "old", id="keep"),
    pytest.param((), ("amount",), "sum", id="add"),
]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("keep", "add", "amount"), UPSERT_CASES)
def test_upsert_inserts_new_keys_and_updates_existing(probe, size, keep, add, amount) -> None:
    engine, table = probe
    existing = [{**row, "amount": row["amount"] or 1} for row in probe_rows(size // 2 + 1)]
    with engine.begin() as conn:
        bulk.execute_many(conn, insert(table), existing)
    before_ids = ids_by_code(engine, table)
    wanted = [{**row, "amount": row["amount"] or 2} for row in probe_rows(size, version=1)]
    with engine.begin() as conn:
        bulk.upsert(conn, table, wanted, ["code"], keep_on_update=keep, add_on_update=add)
    old = {row["code"]: row for row in existing}

    def merged(row: dict[str, Any]) -> dict[str, Any]:
        if row["code"] not in old:
            return row
        before = old[row["code"]]["amount"]
        value = {"new": row["amount"], "old": before, "sum": before + row["amount"]}[amount]
        return {**row, "amount": value}

    expected = {row["code"]: merged(row) for row in wanted}
    expected.update({code: row for code, row in old.items() if code not in expected})
    assert stored(engine, table) == expected
    after_ids = ids_by_code(engine, table)
    assert all(after_ids[code] == number for code, number in before_ids.items())  # same rows


@pytest.mark.parametrize("size", SIZES)
def test_insert_new_writes_rows_that_are_new(probe, size) -> None:
    engine, table = probe
    rows = probe_rows(size)
    with engine.begin() as conn:
        assert bulk.insert_new(conn, table, rows, ["code"]) is False  # no fallback needed
    assert stored(engine, table) == {row["code"]: row for row in rows}


@pytest.mark.parametrize("size", SIZES)
def test_insert_new_upserts_when_a_key_exists_after_all(probe, size) -> None:
    """A row of the same key left behind (an operator cleared one table, not the other): the
    same rows as ``upsert`` would leave, and the caller's transaction goes on."""
    engine, table = probe
    left_behind = probe_rows(1, start=size - 1)  # the batch's last key already stored
    with engine.begin() as conn:
        bulk.execute_many(conn, insert(table), left_behind)
    wanted = probe_rows(size, version=1)
    after = probe_rows(1, start=size + 5)
    with engine.begin() as conn:
        fell_back = bulk.insert_new(conn, table, wanted, ["code"])
        bulk.insert_rows(conn, table, after)  # the same transaction, still usable
    # Only the COPY path can fail on the key; below its threshold the upsert ran at once.
    assert fell_back == (is_pg(engine) and size >= STAGED)
    assert stored(engine, table) == {row["code"]: row for row in [*wanted, *after]}


@pytest.mark.parametrize("size", SIZES)
def test_update_by_id_changes_only_the_given_rows(probe, size) -> None:
    engine, table = probe
    rows = probe_rows(size + 5)
    with engine.begin() as conn:
        bulk.execute_many(conn, insert(table), rows)
    by_code = ids_by_code(engine, table)
    changed = {row["code"]: row for row in probe_rows(size, version=2)}
    updates = [
        {"id": by_code[code], "name": row["name"], "amount": row["amount"], "born": row["born"]}
        for code, row in changed.items()
    ]
    with engine.begin() as conn:
        bulk.update_by_id(conn, table, updates)
    expected = {row["code"]: row for row in rows}
    for code, row in changed.items():
        expected[code] = {**expected[code], **{k: row[k] for k in ("name", "amount", "born")}}
    assert stored(engine, table) == expected


INSERT_TUPLES_CASES = [
    # columns (the table's order or another), rows, chunk size
    pytest.param(("code", "name", "note"), 0, 10, id="empty"),
    pytest.param(("code", "name", "note"), 7, 3, id="table-order-chunks"),
    pytest.param(("note", "code", "name"), 7, 3, id="other-order-chunks"),
    pytest.param(("name", "code"), 25, 10_000, id="some-columns"),
]


@pytest.mark.parametrize(("columns", "count", "chunk_size"), INSERT_TUPLES_CASES)
def test_insert_tuples_writes_positional_rows(probe, columns, count, chunk_size) -> None:
    """The legacy loader's writer: tuples aligned with ``columns``, streamed in chunks."""
    engine, _ = probe
    table = text_table()
    values = {
        "code": [f"{n:05d}" for n in range(count)],
        "name": [TEXTS[n % len(TEXTS)] for n in range(count)],
        "note": [TEXTS[(n + 3) % len(TEXTS)] for n in range(count)],
    }
    rows = [tuple(values[c][n] for c in columns) for n in range(count)]
    with engine.begin() as conn:
        written = bulk.insert_tuples(conn, table, columns, iter(rows), chunk_size=chunk_size)
    assert written == count
    expected = {
        values["code"][n]: {c: values[c][n] if c in columns else None for c in values}
        for n in range(count)
    }
    assert stored(engine, table) == expected


def _insert_rows(conn: Connection, table: Table, size: int) -> None:
    bulk.insert_rows(conn, table, probe_rows(size))


def _insert_returning_ids(conn: Connection, table: Table, size: int) -> None:
    bulk.insert_returning_ids(conn, table, probe_rows(size), key="code")


def _upsert(conn: Connection, table: Table, size: int) -> None:
    bulk.upsert(conn, table, probe_rows(size), ["code"])


def _insert_positional(conn: Connection, table: Table, size: int) -> None:
    rows = probe_rows(size)
    bulk.insert_positional(conn, table, list(rows[0]), [tuple(r.values()) for r in rows])


def _insert_new(conn: Connection, table: Table, size: int) -> None:
    bulk.insert_new(conn, table, probe_rows(size), ["code"])


def _update_by_id(conn: Connection, table: Table, size: int) -> None:
    bulk.execute_many(conn, insert(table), probe_rows(size))
    ids = conn.execute(select(table.c.id)).scalars().all()
    bulk.update_by_id(conn, table, [{"id": i, "amount": 5} for i in ids])


def _insert_tuples(conn: Connection, table: Table, size: int) -> None:
    rows = [(row["code"], row["name"]) for row in probe_rows(size)]
    bulk.insert_tuples(conn, text_table(), ("code", "name"), rows)


# writer, the smallest batch PostgreSQL COPYs (None: never, on either database)
PATH_CASES = [
    pytest.param(_insert_rows, STAGED, id="insert_rows"),
    pytest.param(_insert_positional, STAGED, id="insert_positional"),
    pytest.param(_upsert, STAGED, id="upsert"),
    pytest.param(_insert_new, STAGED, id="insert_new"),
    pytest.param(_update_by_id, STAGED, id="update_by_id"),
    pytest.param(_insert_returning_ids, 1, id="insert_returning_ids"),  # ids from the sequence
    pytest.param(_insert_tuples, 1, id="insert_tuples"),
]


@pytest.mark.parametrize(("write", "copy_from"), PATH_CASES)
def test_copy_only_on_postgres_and_from_its_threshold(
    probe, monkeypatch, write: Callable[[Connection, Table, int], None], copy_from: int
) -> None:
    engine, table = probe
    copied: list[int] = []
    real_copy = bulk.copy_rows

    def counting_copy(conn, target, columns, rows) -> int:  # noqa: ANN001
        written = real_copy(conn, target, columns, rows)
        copied.append(written)
        return written

    monkeypatch.setattr(bulk, "copy_rows", counting_copy)
    for size in sorted({1, copy_from - 1, copy_from} - {0}):
        copied.clear()
        with engine.begin() as conn:
            conn.execute(table.delete())
            write(conn, table, size)
        expect_copy = is_pg(engine) and size >= copy_from
        assert copied == ([size] if expect_copy else []), size


@pytest.mark.parametrize(
    ("values", "size", "chunks"),
    [
        ([], 3, []),
        ([1, 2], 3, [[1, 2]]),
        ([1, 2, 3], 3, [[1, 2, 3]]),
        ([1, 2, 3, 4, 5, 6, 7], 3, [[1, 2, 3], [4, 5, 6], [7]]),
    ],
)
def test_chunked_slices_in_order(values, size, chunks) -> None:
    assert [list(part) for part in bulk.chunked(values, size)] == chunks


@pytest.mark.postgres
def test_copy_stores_datetimes_as_psycopg_does_and_adds_no_dumper_class_per_copy(
    pg_url,
) -> None:
    """psycopg keeps every dumper class it is given for the process's lifetime: a COPY must
    not bring a new one (a class per COPY grew a first load at batch 100 by ~90 MB)."""
    from datetime import UTC, datetime, timedelta, timezone

    from psycopg.adapt import AdaptersMap
    from sqlalchemy import DateTime, text

    table = Table(
        "copy_clock",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("at", DateTime(timezone=True)),
    )
    engine = make_engine(normalize_url(pg_url))
    aware = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
    other = datetime(2026, 3, 10, 11, 0, tzinfo=timezone(timedelta(hours=7)))  # 04:00 UTC
    try:
        with engine.begin() as conn:
            table.create(conn)
            bulk.copy_rows(conn, table, ["id", "at"], [(1, aware), (2, aware), (3, other)])
            classes = len(AdaptersMap._optimised)
            for start in range(4, 40, 3):
                bulk.copy_rows(conn, table, ["id", "at"], [(start, aware), (start + 1, other)])
            assert len(AdaptersMap._optimised) == classes
            stored_at = dict(conn.execute(text("SELECT id, at FROM copy_clock")).all())
        expected = {1: aware, 2: aware, 3: other}
        for start in range(4, 40, 3):
            expected |= {start: aware, start + 1: other}
        assert stored_at == expected  # each value its own text, the last one reused
        assert stored_at[3] - stored_at[1] == timedelta(hours=1)
    finally:
        engine.dispose()
