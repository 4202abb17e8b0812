"""One null-marker set: the SQL the engine filters with agrees with ``domain.is_null``.

The window's effective date and the slice profile judge nulls inside the database; the
transform judges them in Python. A value one side calls null and the other does not would
put a row in the wrong window or count. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from student_sync import domain
from student_sync.engine.extract import LegacySource
from student_sync_tests.engine.support import legacy_engine, legacy_row

VALUES = [
    None,
    "",
    "   ",
    "NULL",
    "null",
    " Null ",
    "NA",
    "na",
    "N/A",
    "n/a",
    "0000-00-00",
    "0000-00-00 00:00:00.000",
    "NONE",  # a word, not a null marker (see domain.NULL_MARKERS)
    "none",
    "Active",
    "2026-03-09 08:00:00.000",
]


@pytest.fixture
def marker_table(db_url):
    rows = [legacy_row(f"{n:05d}", str(n), status=value) for n, value in enumerate(VALUES)]
    engine = legacy_engine(db_url, rows)
    yield engine
    engine.dispose()


def test_sql_null_check_agrees_with_the_domain(marker_table) -> None:
    with marker_table.connect() as conn:
        source = LegacySource.reflect(conn)
        stmt = select(source.table.c.id, source.clean("status").is_(None))
        sql_null = {sid: bool(is_null) for sid, is_null in conn.execute(stmt)}
    disagree = {
        VALUES[int(sid)]: is_null
        for sid, is_null in sql_null.items()
        if is_null != domain.is_null(VALUES[int(sid)])
    }
    assert not disagree, f"SQL null check differs from domain.is_null for {disagree}"
    assert sum(sql_null.values()) == 12  # every spelling above except the words and the date


def test_the_null_markers_are_the_documented_ones() -> None:
    assert {"", "null", "na", "n/a"} == domain.NULL_MARKERS
    assert all(domain.is_null(marker.upper()) for marker in domain.NULL_MARKERS)
    assert not domain.is_null("none")
