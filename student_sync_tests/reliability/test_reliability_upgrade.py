"""Upgrade safety: the sync's own tables are versioned with Alembic; SIS tables are never altered.

On SQLite and PostgreSQL: ``student-sync init`` brings a database at revision 0001 (or one made
by the pre-Alembic ``create_all``, which has no version table) to head without losing a row;
head matches ``schema.py`` exactly; a run refuses to start on an outdated schema and says to
run init; an existing Django ``people_person`` with an extra column and data is left as it was.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    inspect,
    select,
    text,
)

from student_sync.cli import main
from student_sync.engine import schema
from student_sync.engine.db import make_engine, normalize_url
from student_sync.engine.errors import SisNotReady
from student_sync.engine.initialize import initialize
from student_sync.engine.migrations import (
    VERSION_TABLE,
    alembic_config,
    current_revision,
    head_revision,
)
from student_sync_tests.helpers import init_db, write_legacy
from student_sync_tests.helpers import legacy_row as row
from student_sync_tests.reliability.support import ledger, migrate_args

NOW = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
SEED: dict[str, list[dict[str, Any]]] = {
    "student_sync_state": [
        {
            "student_id": 42,
            "legacy_key": "42",
            "legacy_ipk": 100042,
            "raw_digest": "d" * 32,
            "fingerprint": "f" * 64,
            "mapping_version": "rules-0",
            "person_id": None,  # inert for the run below (not a live student to vanish)
            "profile_id": None,
            "contact_id": None,
            "is_deleted": False,
            "last_run_id": "r-1",
            "updated_at": NOW,
        }
    ],
    "student_sync_rejection": [
        {
            "legacy_id": "A0123",
            "ipk": "",
            "reason": "INVALID_ID",
            "detail": "student id 'A0123' is not numeric",
            "first_seen_at": NOW,
            "last_seen_at": NOW,
            "last_run_id": "r-1",
            "resolved_at": None,
        }
    ],
    "student_sync_run": [
        {
            "run_id": "r-1",
            "started_at": NOW,
            "finished_at": NOW,
            "status": "completed",
            "mode": "upsert",
            "force_update": False,
            "parameters": "{}",
            "counts": '{"records_processed": 2}',
            "success_rate": "50.00",
            "error": None,
            "database": "postgresql://sync:***@db/school",
            "pid": 4242,
            "host": "nightly",
        }
    ],
    "student_sync_meta": [{"key": "installed_by", "value": "student_sync 0.1 (pre-Alembic)"}],
}


def _engine(url: str):  # noqa: ANN202
    return create_engine(normalize_url(url))


def _create_sis_tables(url: str) -> None:
    engine = make_engine(normalize_url(url))
    schema.sis_metadata.create_all(engine)
    engine.dispose()


def _at_revision_0001(url: str, *, versioned: bool) -> None:
    """SIS tables plus the sync tables at 0001, seeded; without the version table when
    ``versioned`` is False (what the pre-Alembic ``create_all`` left behind)."""
    _create_sis_tables(url)
    engine = _engine(url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0001")
        if not versioned:
            conn.execute(text(f"DROP TABLE {VERSION_TABLE}"))
        md = MetaData()
        for name, rows in SEED.items():
            conn.execute(Table(name, md, autoload_with=conn).insert(), rows)
    engine.dispose()


def _rows(url: str, name: str) -> list[dict[str, Any]]:
    engine = _engine(url)
    with engine.connect() as conn:
        table = Table(name, MetaData(), autoload_with=conn)
        result = [dict(r) for r in conn.execute(select(table)).mappings()]
    engine.dispose()
    return result


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, datetime) and isinstance(b, datetime):
        return a.replace(tzinfo=a.tzinfo or UTC) == b.replace(tzinfo=b.tzinfo or UTC)
    return a == b or (isinstance(a, bool | int) and isinstance(b, bool | int) and a == b)


KEYS = {
    "student_sync_state": "student_id",
    "student_sync_rejection": "legacy_id",
    "student_sync_run": "run_id",
    "student_sync_meta": "key",
}


def _assert_seed_intact(url: str) -> None:
    """Every seeded row is still there with every value (later runs may add rows)."""
    for name, seeded in SEED.items():
        found = {r[KEYS[name]]: r for r in _rows(url, name)}
        for want in seeded:
            got = found[want[KEYS[name]]]
            for column, value in want.items():
                assert _same(value, got[column]), (name, column, value, got[column])


@pytest.mark.parametrize("versioned", [True, False], ids=["at-0001", "pre-alembic"])
def test_init_upgrades_without_losing_rows(db_url: str, tmp_path, capsys, versioned) -> None:
    _at_revision_0001(db_url, versioned=versioned)
    with _engine(db_url).connect() as conn:
        assert current_revision(conn) == ("0001" if versioned else None)

    # An outdated schema: a run refuses before touching anything and says what to do.
    write_legacy(db_url, [row(1), row(2)])
    assert main(migrate_args(db_url, tmp_path)) == 2
    err = capsys.readouterr().err
    assert "student-sync init" in err and head_revision() in err

    assert main(["init", "--database-url", db_url]) == 0
    out = capsys.readouterr().out
    assert f"sync schema version: {schema.SYNC_SCHEMA_VERSION}" in out
    with _engine(db_url).connect() as conn:
        assert current_revision(conn) == head_revision()
        inspector = inspect(conn)
        assert "report_path" in {c["name"] for c in inspector.get_columns("student_sync_run")}
        indexes = {i["name"] for i in inspector.get_indexes("student_sync_rejection")}
        assert "ix_student_sync_rejection_reason" in indexes
    _assert_seed_intact(db_url)
    assert _rows(db_url, "student_sync_run")[0]["report_path"] is None
    # 0003: a rejection stored before the run counter existed was seen at least once.
    assert [r["seen_count"] for r in _rows(db_url, "student_sync_rejection")] == [1]

    # The upgraded database works: a run goes through and links its report in the ledger.
    assert main(migrate_args(db_url, tmp_path)) == 0
    latest = [r for r in ledger(db_url) if r["run_id"] != "r-1"]
    assert latest[0]["status"] == "completed" and latest[0]["report_path"].endswith(".json")
    _assert_seed_intact(db_url)  # the new run's state rows are added, the old ones kept
    assert main(["init", "--database-url", db_url]) == 0  # idempotent at head


def _sync_schema_diffs(conn: Any) -> list[Any]:
    """Alembic's autogenerate diff between the database's sync tables and schema.py."""
    names = {t.name for t in schema.SYNC_TABLES}
    context = MigrationContext.configure(
        conn,
        opts={
            "include_object": lambda obj, name, type_, *_: (
                name in names if type_ == "table" else obj.table.name in names
            ),
            "compare_type": True,
        },
    )
    return compare_metadata(context, schema.sync_metadata)


def test_head_matches_schema_py_exactly(db_url: str) -> None:
    init_db(db_url)
    with _engine(db_url).connect() as conn:
        diffs = _sync_schema_diffs(conn)
    assert diffs == []
    assert int(head_revision()) == schema.SYNC_SCHEMA_VERSION


def test_existing_django_table_is_never_altered(db_url: str, capsys) -> None:
    md = MetaData()
    schema.person.to_metadata(md)
    django_person = Table(
        "people_person",
        md,
        Column("middle_name", String(100), nullable=True),  # a column only Django knows
        Column("notes", Text, nullable=True),
        extend_existing=True,
    )
    Table("django_migrations", md, Column("id", Integer, primary_key=True), Column("app", Text))
    engine = make_engine(normalize_url(db_url))
    md.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            django_person.insert(),
            [
                {
                    **schema.DJANGO_DEFAULTS["people_person"],
                    "unique_id": __import__("uuid").UUID(int=1),
                    "family_name": "DJANGO",
                    "personal_name": "ONLY",
                    "full_name": "DJANGO ONLY",
                    "khmer_name": "",
                    "preferred_gender": "F",
                    "citizenship": "KH",
                    "created_at": NOW,
                    "updated_at": NOW,
                    "is_deleted": False,
                    "middle_name": "Kept",
                    "notes": "entered in the SIS by a registrar",
                }
            ],
        )
    engine.dispose()

    def shape() -> tuple[Any, ...]:
        with _engine(db_url).connect() as conn:
            inspector = inspect(conn)
            return (
                [
                    (c["name"], str(c["type"]), c["nullable"])
                    for c in inspector.get_columns("people_person")
                ],
                sorted(i["name"] or "" for i in inspector.get_indexes("people_person")),
                sorted(
                    str(u["column_names"])
                    for u in inspector.get_unique_constraints("people_person")
                ),
            )

    before_shape, before_rows = shape(), _rows(db_url, "people_person")
    with _engine(db_url).connect() as conn:
        tables_before = set(inspect(conn).get_table_names())
    # Only some SIS tables: the rest belong to the school's Django migrations, not to `init`.
    assert main(["init", "--database-url", db_url]) == 2
    err = capsys.readouterr().err
    assert "people_studentprofile" in err and "manage.py migrate" in err
    assert shape() == before_shape
    assert _rows(db_url, "people_person") == before_rows
    engine = make_engine(normalize_url(db_url))
    with pytest.raises(SisNotReady):
        initialize(engine)  # and again, through the engine entry point
    engine.dispose()
    assert shape() == before_shape and _rows(db_url, "people_person") == before_rows
    with _engine(db_url).connect() as conn:
        assert set(inspect(conn).get_table_names()) == tables_before  # nothing created


def test_revision_0001_is_the_pre_alembic_schema(sqlite_url: str) -> None:
    """0001 differs from today's schema.py by exactly what 0002, 0003, 0004 and 0005 add."""
    engine = _engine(sqlite_url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0001")
        diffs = _sync_schema_diffs(conn)
    engine.dispose()
    summary = sorted(
        (d[0], d[3].name) if d[0] == "add_column" else (d[0], d[1].name) for d in diffs
    )
    assert summary == [
        ("add_column", "report_path"),  # 0002
        ("add_column", "seen_count"),  # 0003
        ("add_index", "ix_student_sync_change_log_changed_at"),  # 0005
        ("add_index", "ix_student_sync_change_log_student"),  # 0005
        ("add_index", "ix_student_sync_change_set_scope"),  # 0004
        ("add_index", "ix_student_sync_conflict_open"),  # 0005
        ("add_index", "ix_student_sync_rejection_reason"),  # 0002
        ("add_table", "student_sync_change_log"),  # 0005
        ("add_table", "student_sync_change_set"),  # 0004
        ("add_table", "student_sync_change_set_batch"),  # 0004
        ("add_table", "student_sync_conflict"),  # 0005
        ("add_table", "student_sync_written"),  # 0005
    ]


def test_partial_pre_alembic_schema_is_completed(sqlite_url: str) -> None:
    """Only some sync tables (e.g. one dropped by hand): init creates the rest, keeps rows."""
    _at_revision_0001(sqlite_url, versioned=False)
    engine = _engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE student_sync_meta"))
        conn.execute(text("DROP TABLE student_sync_run"))
    engine.dispose()
    init_db(sqlite_url)
    with _engine(sqlite_url).connect() as conn:
        assert current_revision(conn) == head_revision()
        assert {t.name for t in schema.SYNC_TABLES} <= set(inspect(conn).get_table_names())
    assert _rows(sqlite_url, "student_sync_state")[0]["student_id"] == 42
    assert _rows(sqlite_url, "student_sync_rejection")[0]["legacy_id"] == "A0123"
