"""A first load into SIS tables whose statistics say they are empty (VACUUMed after
``migrate``, autovacuum off, as on this project's own PostgreSQL) or that have none (never
analyzed): the run refreshes them once it has created enough rows, or every foreign-key
check, or every page's id and email lookup, would keep scanning the table."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import create_engine

from student_sync.engine import schema, target
from student_sync.engine.db import normalize_url
from student_sync.engine.initialize import initialize
from student_sync_tests.helpers import legacy_row, run, write_legacy

pytestmark = pytest.mark.postgres
# The two starts a first load meets: statistics that say empty (reltuples 0), or none (-1).
EMPTY_OR_MISSING = pytest.mark.parametrize(
    ("vacuumed", "before"), [(True, 0), (False, -1)], ids=["vacuumed-while-empty", "never-analyzed"]
)


def _libpq(url: str) -> str:
    return normalize_url(url).replace("postgresql+psycopg://", "postgresql://")


def _statistics(url: str) -> dict[str, float]:
    """pg_class.reltuples of the foreign-key targets (-1: never analyzed)."""
    with psycopg.connect(_libpq(url)) as conn:
        return {
            t.name: conn.execute(
                "SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)", (t.name,)
            ).fetchone()[0]
            for t in target.FOREIGN_KEY_TARGETS
        }


def _initialized(url: str, *, vacuumed: bool) -> None:
    engine = create_engine(normalize_url(url))
    initialize(engine)
    engine.dispose()
    if vacuumed:
        with psycopg.connect(_libpq(url), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")


def test_tables_never_analyzed_or_vacuumed_while_empty_are_found(pg_url: str) -> None:
    _initialized(pg_url, vacuumed=False)
    assert set(_statistics(pg_url).values()) == {-1}  # as migrate leaves them
    names = [schema.person.name, schema.student_profile.name]
    engine = create_engine(normalize_url(pg_url))
    with engine.connect() as conn:
        assert [t.name for t in target.tables_with_small_statistics(conn)] == names
    with psycopg.connect(_libpq(pg_url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    with engine.connect() as conn:
        assert [t.name for t in target.tables_with_small_statistics(conn)] == names
    engine.dispose()


@EMPTY_OR_MISSING
def test_a_first_load_refreshes_statistics_that_say_empty_or_are_missing(
    pg_url: str, tmp_path, monkeypatch, vacuumed: bool, before: int
) -> None:
    _initialized(pg_url, vacuumed=vacuumed)
    assert set(_statistics(pg_url).values()) == {before}
    monkeypatch.setattr(target, "SMALL_STATISTICS", 50)
    write_legacy(pg_url, [legacy_row(i) for i in range(1, 201)])
    dry = run(pg_url, tmp_path, batch_size=20, dry_run=True)
    assert dry.counters.classes["create"] == 200
    assert set(_statistics(pg_url).values()) == {before}  # a dry run writes nothing, not these
    result = run(pg_url, tmp_path, batch_size=20)
    assert result.counters.classes["create"] == 200
    refreshed = _statistics(pg_url)
    # Refreshed once, after the batch that reached 50 creates (60 rows), never again.
    assert all(60 <= rows < 200 for rows in refreshed.values()), refreshed
    engine = create_engine(normalize_url(pg_url))
    with engine.connect() as conn:
        assert target.tables_with_small_statistics(conn) == []  # nothing left to refresh
    engine.dispose()


@EMPTY_OR_MISSING
def test_a_first_load_into_a_django_built_sis_refreshes_its_statistics(
    django_sis_url: str, tmp_path, monkeypatch, vacuumed: bool, before: int
) -> None:
    """The same on the tables Django's own ``migrate`` builds (deferred foreign keys)."""
    if vacuumed:
        with psycopg.connect(_libpq(django_sis_url), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
    engine = create_engine(normalize_url(django_sis_url))
    initialize(engine)
    engine.dispose()
    assert set(_statistics(django_sis_url).values()) == {before}
    monkeypatch.setattr(target, "SMALL_STATISTICS", 50)
    write_legacy(django_sis_url, [legacy_row(i) for i in range(1, 201)])
    result = run(django_sis_url, tmp_path, batch_size=20)
    assert result.summary.status == "completed"
    assert result.counters.classes["create"] == 200
    assert all(60 <= rows < 200 for rows in _statistics(django_sis_url).values())
