"""The bulk writers of ``engine/apply.py`` on SQLite and PostgreSQL, on a scratch table.

Each writer is called through its signature (connection, table, rows, ...) and judged only by
what the table holds afterwards, so the cases stay valid if the writers move to another
module (change the one import below). Sizes straddle ``STAGE_MIN_ROWS``, where PostgreSQL
switches from pipelined statements to COPY into a staging table. Text values carry what COPY
must escape: tabs, newlines, backslashes, a literal ``\\N``, the empty string next to NULL.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
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

from student_sync.engine import apply as bulk
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


@pytest.mark.parametrize("size", [0, *SIZES])
def test_insert_returning_ids_in_row_order(probe, size) -> None:
    engine, table = probe
    rows = probe_rows(size)
    with engine.begin() as conn:
        ids = bulk._insert_returning_ids(conn, table, rows, key="code")
    assert len(ids) == size and len(set(ids)) == size
    by_code = ids_by_code(engine, table)
    assert ids == [by_code[row["code"]] for row in rows]
    assert stored(engine, table) == {row["code"]: row for row in rows}
    # Another writer (the SIS application) inserting afterwards gets a fresh id.
    with engine.begin() as conn:
        extra = probe_rows(1, start=size + 1)[0]
        new_id = conn.execute(insert(table).values(extra).returning(table.c.id)).scalar_one()
    assert new_id not in ids


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


@pytest.mark.parametrize("size", SIZES)
def test_upsert_inserts_new_keys_and_updates_existing(probe, size) -> None:
    engine, table = probe
    existing = probe_rows(size // 2 + 1)
    with engine.begin() as conn:
        bulk.execute_many(conn, insert(table), existing)
    before_ids = ids_by_code(engine, table)
    wanted = probe_rows(size, version=1)
    with engine.begin() as conn:
        bulk.upsert(conn, table, wanted, ["code"], keep_on_update=["amount"])
    after = stored(engine, table)
    old = {row["code"]: row for row in existing}
    expected = {
        row["code"]: {**row, "amount": old[row["code"]]["amount"]} if row["code"] in old else row
        for row in wanted
    }
    expected.update({code: row for code, row in old.items() if code not in expected})
    assert after == expected
    after_ids = ids_by_code(engine, table)
    assert all(after_ids[code] == number for code, number in before_ids.items())  # same rows


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
        bulk._update_by_id(conn, table, updates)
    expected = {row["code"]: row for row in rows}
    for code, row in changed.items():
        expected[code] = {**expected[code], **{k: row[k] for k in ("name", "amount", "born")}}
    assert stored(engine, table) == expected
