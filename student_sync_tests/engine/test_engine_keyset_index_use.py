"""The keyset index serves the statements the engine really sends on SQLite (the embedded default).

SQLite matches a query's expression to an expression index only when the two are the same
text, and compares a bare TEXT column with an expression only through the index's first
column. Either slip leaves the vanished-students check scanning the whole legacy table once
per student: a no-change rerun of 10,000 demo students took 43 s instead of 1.3 s. These tests
capture the statements the engine sends and ask SQLite's planner what it does with them.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event

from student_sync.engine import extract, schema, target
from student_sync.engine.extract import KEYSET_INDEX_NAME, LegacySource, SkipUnchanged
from student_sync.engine.options import SyncOptions
from student_sync_tests.engine.support import legacy_engine, legacy_row

NOW = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)


@pytest.fixture
def sqlite_engine(tmp_path) -> Engine:
    rows = [legacy_row(f"{n:05d}", str(n)) for n in range(1, 41)]
    engine = legacy_engine(f"sqlite:///{tmp_path / 'index.sqlite'}", rows)
    with engine.connect() as conn:
        source = LegacySource.reflect(conn)
    assert extract.ensure_keyset_index(engine, source)
    schema.sync_state.create(engine)
    states = [
        {
            "student_id": n,
            "legacy_key": str(n),
            "fingerprint": "f",
            "mapping_version": "v",
            "person_id": n,
            "is_deleted": False,
            "updated_at": NOW,
        }
        for n in (*range(1, 41), 77)  # 77: no legacy row holds it any more
    ]
    with engine.begin() as conn:
        conn.execute(schema.sync_state.insert(), states)
    yield engine
    engine.dispose()


def _sent(engine: Engine, run: Any) -> tuple[Any, list[tuple[str, Any]]]:
    """``run()``'s result and every (statement, parameters) the engine sent meanwhile."""
    sent: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        return run(), sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _plan(engine: Engine, statement: str, parameters: Any) -> list[str]:
    with engine.connect() as conn:
        return [r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]


def test_the_vanished_check_probes_the_index_on_length_and_key(sqlite_engine) -> None:
    def vanished() -> list:
        with sqlite_engine.connect() as conn:
            source = LegacySource.reflect(conn)
            return target.vanished_states(conn, (), lambda key: extract.holds_key(source, key))

    found, sent = _sent(sqlite_engine, vanished)
    assert [s.legacy_key for s in found] == ["77"]
    (statement, parameters), *_ = [(s, p) for s, p in sent if "EXISTS" in s]
    plan = _plan(sqlite_engine, statement, parameters)
    assert any(KEYSET_INDEX_NAME in step and "<expr>=? AND <expr>=?" in step for step in plan), plan


def test_a_keyset_page_reads_the_index_in_order(sqlite_engine) -> None:
    def walk() -> list:
        with sqlite_engine.connect() as conn:
            source = LegacySource.reflect(conn)
            return list(extract.iter_legacy_pages(conn, source, SyncOptions(page_size=7)))

    walked, sent = _sent(sqlite_engine, walk)
    assert sum(len(page) for page in walked) == 40
    page_statements = [(s, p) for s, p in sent if "ORDER BY" in s and "LIMIT" in s]
    assert page_statements
    for statement, parameters in page_statements:
        plan = _plan(sqlite_engine, statement, parameters)
        assert any(KEYSET_INDEX_NAME in step for step in plan), plan
        assert not any("TEMP B-TREE" in step for step in plan), plan  # no sort per page


# --------------------------------------------------------------------------- PostgreSQL
_AS_A_SYNC = SkipUnchanged("v")  # unchanged rows left in the database, as a sync walks


def _explained_pages(
    engine: Engine, options: SyncOptions, skip: SkipUnchanged | None = _AS_A_SYNC
) -> tuple[int, list[str]]:
    """Rows walked (by default as a sync walks them: unchanged rows left in the database),
    and PostgreSQL's plan of every page statement, asked on the walk's own connection and
    transaction (so under whatever the walk set) just before it runs; each plan ends with
    the line ``enable_sort = on|off`` as the walk had it then."""
    plans: list[str] = []

    def explain(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        if "ORDER BY" in statement and "LIMIT" in statement:
            rows = cursor.connection.execute("EXPLAIN " + statement, parameters).fetchall()
            (sort,) = cursor.connection.execute("SHOW enable_sort").fetchone()
            plans.append("\n".join([*(r[0] for r in rows), f"enable_sort = {sort}"]))

    event.listen(engine, "before_cursor_execute", explain)
    try:
        with engine.connect() as conn:
            source = LegacySource.reflect(conn)
            pages = extract.iter_legacy_pages(conn, source, options, skip)
            walked = sum(len(p) for p in pages)
    finally:
        event.remove(engine, "before_cursor_execute", explain)
    return walked, plans


@pytest.fixture
def small_pg_legacy(pg_url) -> Engine:
    """10,000 wide legacy rows stored out of id order, analyzed before the engine indexed
    them (as a loaded legacy table is): a table a page is a large share of, which PostgreSQL
    would rather sort than read through the index."""
    numbers = random.Random(7).sample(range(1, 10_001), 10_000)
    address = "Phum Trapeang Chhuk, Sangkat Tuek Thla, Khan Saen Sok, Phnom Penh " * 3
    rows = (legacy_row(str(n), str(n), contact_person_address=address) for n in numbers)
    engine = legacy_engine(pg_url, rows)
    with engine.connect() as conn:  # analyzed once loaded; the engine adds its index later
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
        source = LegacySource.reflect(conn)
    assert extract.ensure_keyset_index(engine, source)
    schema.sync_state.create(engine)  # empty: a first load
    yield engine
    engine.dispose()


@pytest.mark.postgres
def test_a_whole_table_walk_on_postgresql_reads_the_index_not_a_sort(small_pg_legacy) -> None:
    # Left to itself, PostgreSQL sorts every row still ahead for each page of a small table
    # (0.7 s a page of a 50,000-row first load, against 0.12 s through the index).
    walked, plans = _explained_pages(small_pg_legacy, SyncOptions(page_size=2500))
    assert walked == 10_000
    assert len(plans) >= 4
    for plan in plans:
        assert KEYSET_INDEX_NAME in plan, plan
        assert "Sort" not in plan, plan
        assert plan.endswith("enable_sort = off"), plan


@pytest.mark.postgres
def test_a_walk_over_an_id_range_or_a_date_window_leaves_the_plan_to_postgresql(
    small_pg_legacy, sqlite_engine
) -> None:
    # There the filter keeps a few rows of a large table: sorting them beats walking the
    # whole index up to the range.
    from student_sync.engine.options import DateWindow, IdRange

    ranged = SyncOptions(id_ranges=(IdRange(100, 199),), page_size=2500)
    windowed = SyncOptions(window=DateWindow(since=datetime(2026, 3, 9)), page_size=2500)
    with small_pg_legacy.connect() as conn:
        assert extract.walks_whole_table(conn, SyncOptions())
        assert not extract.walks_whole_table(conn, ranged)
        assert not extract.walks_whole_table(conn, windowed)
    with sqlite_engine.connect() as conn:
        assert not extract.walks_whole_table(conn, SyncOptions())
    walked, plans = _explained_pages(small_pg_legacy, ranged)
    assert walked == 100
    assert plans


@pytest.mark.postgres
def test_without_the_keyset_index_sorting_stays_on_and_no_page_is_jit_compiled(pg_url) -> None:
    # A dry run walks before any index exists, and a read-only legacy database never gets
    # one. Sorting switched off there cannot avoid the sort: it only gave every page the
    # disabled sort's cost, over PostgreSQL's JIT threshold, so each page statement was
    # compiled (a 40-row table walked 7 rows a page took seconds).
    engine = legacy_engine(pg_url, [legacy_row(f"{n:05d}", str(n)) for n in range(1, 41)])
    try:
        with engine.connect() as conn:
            assert extract.walks_whole_table(conn, SyncOptions())
        options = SyncOptions(page_size=7, batch_size=1)
        walked, plans = _explained_pages(engine, options, skip=None)
    finally:
        engine.dispose()
    assert walked == 40
    assert len(plans) == 6
    for plan in plans:
        assert plan.endswith("enable_sort = on"), plan
        assert "JIT" not in plan, plan
