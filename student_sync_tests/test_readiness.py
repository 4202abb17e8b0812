"""What a database lacks before the sync can run (the facts behind `manage.py check`)."""

from __future__ import annotations

from sqlalchemy import delete

from student_sync.engine import schema
from student_sync.engine.db import make_engine, normalize_url
from student_sync.engine.readiness import find_gaps
from student_sync_tests.helpers import init_db, legacy_row, write_legacy


def gaps(url: str) -> dict[str, tuple[str, str]]:
    engine = make_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            return {g.code: (g.severity, g.message) for g in find_gaps(conn)}
    finally:
        engine.dispose()


def test_an_empty_database_lacks_everything(sqlite_url: str) -> None:
    found = gaps(sqlite_url)
    assert {code: severity for code, (severity, _) in found.items()} == {
        "sis_tables": "error",
        "contact_table": "error",
        "sync_tables": "warning",
        "legacy_table": "warning",
    }
    assert list(found)[:2] == ["sis_tables", "contact_table"]  # errors first


def test_gaps_close_as_the_database_gets_ready(sqlite_url: str) -> None:
    init_db(sqlite_url)
    assert set(gaps(sqlite_url)) == {"legacy_table"}
    write_legacy(sqlite_url, [legacy_row(1)])
    assert gaps(sqlite_url) == {}

    engine = make_engine(normalize_url(sqlite_url))
    with engine.begin() as conn:
        conn.execute(delete(schema.sponsor).where(schema.sponsor.c.code.in_(["CRST", "LOC"])))
    engine.dispose()
    severity, message = gaps(sqlite_url)["sponsors"]
    assert severity == "warning" and "CRST, LOC" in message
