"""The keyset index serves the statements the engine really sends on SQLite (the embedded default).

SQLite matches a query's expression to an expression index only when the two are the same
text, and compares a bare TEXT column with an expression only through the index's first
column. Either slip leaves the vanished-students check scanning the whole legacy table once
per student: a no-change rerun of 10,000 demo students took 43 s instead of 1.3 s. These tests
capture the statements the engine sends and ask SQLite's planner what it does with them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event

from student_sync.engine import extract, schema, target
from student_sync.engine.extract import KEYSET_INDEX_NAME, LegacySource
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
