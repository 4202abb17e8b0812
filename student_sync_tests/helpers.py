"""Small builders the engine tests share: legacy rows, runs, table snapshots."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, Table, create_engine, select

from student_sync.engine import schema
from student_sync.engine.db import DatabaseUrls, make_engine, normalize_url
from student_sync.engine.initialize import initialize
from student_sync.engine.options import SyncOptions
from student_sync.engine.run import RunResult, sync

FIXED_NOW = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)  # 10:00 in Phnom Penh


def letters(n: int) -> str:
    """A number spelled in letters, so synthetic names stay valid name words."""
    return "".join("abcdefghij"[int(d)] for d in str(n))


def legacy_row(student_id: int | str, **values: Any) -> dict[str, Any]:
    """A clean legacy row; override any column."""
    sid = student_id if isinstance(student_id, str) else f"{student_id:05d}"
    n = int(sid) if str(sid).strip().isdigit() else 0
    row: dict[str, Any] = {c: None for c in schema.LEGACY_COLUMNS}
    row.update(
        {
            "id": sid,
            "name": f"SOKHA Dara{letters(n)}",
            "kname": "NULL",
            "birth_date": "Jan 15 2001 12:00AM",
            "birth_place": "Phnom Penh",
            "gender": "M",
            "nationality": "Cambodian",
            "email": f"dara{letters(n)}@example.org",
            "school_email": None,
            "transfer": "No",
            "lastenroll": "2024-01-10 00:00:00.000",
            "emg_contact_person": f"SOKHA Vanna{letters(n)}",
            "contact_person_phone": "012 345 678",
            "relationship": "Father",
            "contact_person_address": "Phnom Penh",
            "ipk": str(100000 + n),
            "modified_date": "2026-01-05 10:00:00.000",
            "created_date": "2025-09-01 08:00:00.000",
            "deleted": "0",
            "status": "Active",
        }
    )
    row.update(values)
    return row


def write_legacy(url: str, rows: Iterable[dict[str, Any]]) -> None:
    engine = make_engine(normalize_url(url))
    table = schema.legacy_students_table(MetaData())
    with engine.begin() as conn:
        table.drop(conn, checkfirst=True)
        table.create(conn)
        rows = list(rows)
        if rows:
            conn.execute(table.insert(), rows)
    engine.dispose()


def update_legacy(url: str, student_id: str, **values: Any) -> None:
    engine = make_engine(normalize_url(url))
    with engine.begin() as conn:
        table = Table(schema.LEGACY_TABLE_NAME, MetaData(), autoload_with=conn)
        conn.execute(table.update().where(table.c.id == student_id).values(**values))
    engine.dispose()


# The SIS tables the sync writes, children first: the order to empty them in.
SIS_WRITTEN = (
    schema.sponsored_student,
    schema.emergency_contact,
    schema.student_profile,
    schema.person,
)


def empty_tables(url: str, *tables: Table) -> None:
    """Delete every row of ``tables``, in the order given (children before parents)."""
    engine = create_engine(normalize_url(url))
    with engine.begin() as conn:
        for table in tables:
            conn.execute(table.delete())
    engine.dispose()


def init_db(url: str) -> None:
    engine = make_engine(normalize_url(url))
    initialize(engine)
    engine.dispose()


def run(url: str, tmp_path: Path, *, now: datetime = FIXED_NOW, **options: Any) -> RunResult:
    options.setdefault("reports_dir", tmp_path / "reports")
    urls = DatabaseUrls(normalize_url(url), normalize_url(url))
    return sync(urls, SyncOptions(**options), now=now)


SNAPSHOT_TABLES = (*schema.SIS_TABLES, schema.sync_state, schema.rejection)


def snapshot(url: str, tables: Iterable[Table] = SNAPSHOT_TABLES) -> dict[str, str]:
    """A checksum of every row of every table, ordered by primary key."""
    engine = create_engine(normalize_url(url))
    out: dict[str, str] = {}
    with engine.connect() as conn:
        for t in tables:
            digest = hashlib.sha256()
            n = 0
            for row in conn.execute(select(t).order_by(*t.primary_key.columns)):
                digest.update(repr(tuple(row)).encode())
                n += 1
            out[t.name] = f"{n}:{digest.hexdigest()[:16]}"
    engine.dispose()
    return out


def rows(url: str, table: Table, *where: Any) -> list[dict[str, Any]]:
    engine = create_engine(normalize_url(url))
    with engine.connect() as conn:
        result = [dict(r) for r in conn.execute(select(table).where(*where)).mappings()]
    engine.dispose()
    return result


def profile_of(url: str, student_id: int) -> dict[str, Any] | None:
    found = rows(url, schema.student_profile, schema.student_profile.c.student_id == student_id)
    return found[0] if found else None


def person_of(url: str, student_id: int) -> dict[str, Any] | None:
    prof = profile_of(url, student_id)
    if prof is None:
        return None
    return rows(url, schema.person, schema.person.c.id == prof["person_id"])[0]


def sponsorships_of(url: str, student_id: int) -> list[dict[str, Any]]:
    prof = profile_of(url, student_id)
    assert prof is not None
    ss, sp = schema.sponsored_student, schema.sponsor
    engine = create_engine(normalize_url(url))
    with engine.connect() as conn:
        result = [
            dict(r)
            for r in conn.execute(
                select(sp.c.code, ss.c.start_date, ss.c.end_date)
                .select_from(ss.join(sp, sp.c.id == ss.c.sponsor_id))
                .where(ss.c.student_id == prof["id"])
                .order_by(ss.c.id)
            ).mappings()
        ]
    engine.dispose()
    return result


def contacts_of(url: str, student_id: int) -> list[dict[str, Any]]:
    person = person_of(url, student_id)
    assert person is not None
    return rows(url, schema.emergency_contact, schema.emergency_contact.c.person_id == person["id"])


_VOLATILE = {
    "id",
    "unique_id",
    "created_at",
    "updated_at",
    "deleted_at",
    "person_id",
    "student_id",
    "sponsor_id",
}


def content(url: str) -> dict[int, dict[str, Any]]:
    """The SIS state keyed by student number, free of generated ids and timestamps."""
    p, sp = schema.person, schema.student_profile
    c, ss, spon = schema.emergency_contact, schema.sponsored_student, schema.sponsor
    engine = create_engine(normalize_url(url))
    out: dict[int, dict[str, Any]] = {}

    def clean(row: Any) -> dict[str, Any]:
        return {k: v for k, v in dict(row).items() if k not in _VOLATILE}

    with engine.connect() as conn:
        for prof in conn.execute(select(sp)).mappings():
            person = conn.execute(select(p).where(p.c.id == prof["person_id"])).mappings().one()
            contacts = sorted(
                (
                    tuple(sorted(clean(r).items()))
                    for r in conn.execute(
                        select(c).where(c.c.person_id == prof["person_id"])
                    ).mappings()
                ),
                key=repr,
            )
            sponsorships = sorted(
                (r["code"], str(r["start_date"]), str(r["end_date"]))
                for r in conn.execute(
                    select(spon.c.code, ss.c.start_date, ss.c.end_date)
                    .select_from(ss.join(spon, spon.c.id == ss.c.sponsor_id))
                    .where(ss.c.student_id == prof["id"])
                ).mappings()
            )
            out[prof["student_id"]] = {
                "person": clean(person),
                "profile": clean(prof),
                "contacts": contacts,
                "sponsorships": sponsorships,
            }
    engine.dispose()
    return out


LEGACY_PG_URL = os.environ.get(
    "STUDENT_SYNC_TEST_LEGACY_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def legacy_postgres_engine() -> Any:
    """The local test server's ``test`` database (tests use unique table names in it)."""
    from student_sync_tests.conftest import require_postgres

    require_postgres()
    return create_engine(LEGACY_PG_URL, connect_args={"connect_timeout": 3})
