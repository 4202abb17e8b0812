"""Write one planned batch: every table and the sync state in a single transaction.

Statements are set-based, never one round trip per student: on PostgreSQL new rows go in by
COPY, updates and the sync state are COPYed into a temporary staging table and applied by one
UPDATE ... FROM or INSERT ... ON CONFLICT per table; elsewhere executemany. The sync state
is written in the same transaction as the rows it describes, so a crash leaves whole batches
or nothing.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from psycopg import sql as pgsql
from sqlalchemy import Connection, Table, TableClause, bindparam, func, insert, select, update
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.dialects import postgresql, sqlite

from student_sync.engine import changelog, schema
from student_sync.engine.model import PlanBatch, PlannedStudent, SponsorshipAction, StateRow
from student_sync.engine.sis import SisSchema, reflect_sis
from student_sync.engine.target import member_of


def execute_many(
    conn: Connection, stmt: Any, rows: Sequence[dict[str, Any]], *, returning: bool = False
) -> list[tuple[Any, ...]]:
    """Run one statement for many rows; on PostgreSQL via psycopg's pipelined executemany.

    SQLAlchemy renders INSERT executemany as multi-VALUES text that psycopg must re-parse for
    every page; one prepared statement sent in pipeline mode is several times faster.
    """
    if not rows:
        return []
    if conn.dialect.name != "postgresql":
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

    if _bulk(conn, rows):
        stage = _stage(conn, table, rows)
        stmt = postgresql.insert(table).from_select(columns, select(*(stage.c[c] for c in columns)))
        conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=set_(stmt)))
        return
    stmt = (postgresql.insert if _is_postgres(conn) else sqlite.insert)(table)
    execute_many(conn, stmt.on_conflict_do_update(index_elements=list(keys), set_=set_(stmt)), rows)


def _update_by_id(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """UPDATE ... WHERE id = row id, with the same columns on every row.

    PostgreSQL: the rows are staged by COPY and applied by one UPDATE ... FROM; elsewhere an
    executemany UPDATE.
    """
    if not rows:
        return
    columns = [c for c in rows[0] if c != "id"]
    if _bulk(conn, rows):
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


# Below this many rows a statement per row, pipelined, beats creating and filling a staging
# table (measured: batch size 100 ran 30% slower staged; 5,000 ran 2-4x faster staged).
STAGE_MIN_ROWS = 500


def _bulk(conn: Connection, rows: Sequence[Any]) -> bool:
    """Whether these rows take the COPY path (PostgreSQL, STAGE_MIN_ROWS rows or more)."""
    return _is_postgres(conn) and len(rows) >= STAGE_MIN_ROWS


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
    _copy(conn, name, columns, (tuple(r.values()) for r in rows))
    return sql_table(name, *(sql_column(c) for c in columns))


_stage_numbers = itertools.count(1)


def _copy(
    conn: Connection,
    table_name: str,
    columns: Sequence[str],
    values: Iterable[tuple[Any, ...]],
) -> None:
    """COPY tuples into ``table_name`` (PostgreSQL)."""
    statement = pgsql.SQL("COPY {} ({}) FROM STDIN").format(
        pgsql.Identifier(table_name), pgsql.SQL(", ").join(map(pgsql.Identifier, columns))
    )
    cursor = conn.connection.driver_connection.cursor()
    try:
        with cursor.copy(statement) as copy:
            for row in values:
                copy.write_row(row)
    finally:
        cursor.close()


def _insert_returning_ids(
    conn: Connection, table: Table, rows: list[dict[str, Any]], key: str
) -> list[int]:
    """Insert rows and return their generated ids, in row order.

    PostgreSQL: ids are drawn from the table's own sequence in one statement and the rows go
    in by COPY (the bulk path, tens of times faster than row inserts). Elsewhere, or when the
    id has no sequence: INSERT ... RETURNING id matched back to the rows by a unique ``key``
    column (asking SQLAlchemy to keep parameter order needs a sentinel column).
    """
    if not rows:
        return []
    if conn.dialect.name == "postgresql":
        ids = _copy_with_sequence_ids(conn, table, rows)
        if ids is not None:
            return ids
    stmt = insert(table).returning(table.c.id, table.c[key])
    returned = execute_many(conn, stmt, rows, returning=True)
    by_key = {k: i for i, k in returned}
    return [by_key[r[key]] for r in rows]


def _is_postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


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


def _insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows whose generated ids nobody needs back (COPY for a bulk batch)."""
    if not rows:
        return
    if _bulk(conn, rows):
        _copy(conn, table.name, list(rows[0]), (tuple(r.values()) for r in rows))
    else:
        execute_many(conn, insert(table), rows)


def _copy_with_sequence_ids(
    conn: Connection, table: Table, rows: list[dict[str, Any]]
) -> list[int] | None:
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
    _copy(
        conn,
        table.name,
        ["id", *rows[0]],
        ((row_id, *row.values()) for row_id, row in zip(ids, rows, strict=True)),
    )
    return ids


def _contact_row(p: PlannedStudent, person_id: int, now: datetime) -> dict[str, Any]:
    """The contact's values (an update leaves the purpose flags as the SIS has them)."""
    assert p.record is not None and p.record.contact is not None
    return {
        "person_id": person_id,
        **p.record.contact.__dict__,
        **p.kept.get("contact", {}),  # registrar edits kept (on-conflict keep-sis)
        "updated_at": now,
    }


def _new_contacts(
    conn: Connection,
    sis: SisSchema,
    planned: list[tuple[PlannedStudent, int]],
    now: datetime,
    *,
    existing_people: bool,
) -> list[int]:
    """Insert the sync's emergency contacts of (student, person id) pairs; returns their ids.

    On ``people_emergencycontact`` one primary per person is a unique index: a person who
    already has a primary contact (one the registrar made) gets the sync's as non-primary.
    """
    flags = sis.contact_flags
    taken: set[int] = set()
    if existing_people and "is_primary" in flags and planned:
        t = sis.contact_table
        person_ids = [pid for _, pid in planned]
        taken = set(
            conn.scalars(
                select(t.c.person_id).where(
                    member_of(conn, t.c.person_id, person_ids), t.c.is_primary.is_(True)
                )
            )
        )
    rows = [
        sis.contact.for_insert(
            {
                **_contact_row(p, pid, now),
                **flags,
                **({"is_primary": False} if pid in taken else {}),
                "created_at": now,
                "is_deleted": False,
                "deleted_at": None,
            }
        )
        for p, pid in planned
    ]
    return _insert_returning_ids(conn, sis.contact_table, rows, key="person_id")


def _state_row(
    p: PlannedStudent,
    person_id: int | None,
    profile_id: int | None,
    contact_id: int | None,
    is_deleted: bool,
    run_id: str,
    now: datetime,
    mapping_version: str,
) -> dict[str, Any]:
    record, state = p.record, p.state
    return {
        "student_id": p.student_id,
        "legacy_key": p.legacy_key,
        "legacy_ipk": record.ipk if record else (state.legacy_ipk if state else None),
        "raw_digest": p.raw_digest,
        "fingerprint": record.fingerprint if record else (state.fingerprint if state else ""),
        "mapping_version": mapping_version,
        "person_id": person_id,
        "profile_id": profile_id,
        "contact_id": contact_id,
        "is_deleted": is_deleted,
        "last_run_id": run_id,
        "updated_at": now,
    }


def apply_batch(
    conn: Connection,
    batch: PlanBatch,
    *,
    run_id: str,
    now: datetime,
    today: date,
    mapping_version: str,
    sis: SisSchema | None = None,
) -> None:
    """Apply a batch inside the caller's transaction.

    ``sis``: the SIS as reflected at the run's start (reflected here when not given). Every
    insert carries the Django defaults of the NOT NULL columns the sync does not source.
    """
    if sis is None:
        sis = reflect_sis(conn)
    creates = [p for p in batch.students if p.row_class == "create"]
    updates = [p for p in batch.students if p.row_class == "update"]
    deletes = [p for p in batch.students if p.row_class == "delete"]
    refresh = [p for p in batch.students if p.row_class == "unchanged" and p.state_only]
    states: list[dict[str, Any]] = []

    # ---- creates: person -> profile -> contact -> sponsorships
    new_people = [p for p in creates if p.record]
    person_ids = _insert_returning_ids(
        conn,
        schema.person,
        [
            sis.person.for_insert(
                {
                    **p.record.person,
                    "unique_id": unique_id,
                    "created_at": now,
                    "updated_at": now,
                    "is_deleted": False,
                    "deleted_at": None,
                }
            )
            for p, unique_id in zip(
                new_people, new_uuids(len(new_people), as_text=_is_postgres(conn)), strict=True
            )
        ],
        key="unique_id",
    )
    profile_ids = _insert_returning_ids(
        conn,
        schema.student_profile,
        [
            sis.profile.for_insert(
                {
                    **p.record.profile,
                    "person_id": pid,
                    "created_at": now,
                    "updated_at": now,
                    "is_deleted": False,
                    "deleted_at": None,
                }
            )
            for p, pid in zip(creates, person_ids, strict=True)
            if p.record
        ],
        key="person_id",
    )
    with_contact = [
        (p, pid) for p, pid in zip(creates, person_ids, strict=True) if p.contact_action == "create"
    ]
    contact_ids = dict(
        zip(
            [p.student_id for p, _ in with_contact],
            _new_contacts(conn, sis, with_contact, now, existing_people=False),
            strict=True,
        )
    )
    new_sponsorships: list[dict[str, Any]] = []
    for p, pid, prof in zip(creates, person_ids, profile_ids, strict=True):
        states.append(
            _state_row(
                p, pid, prof, contact_ids.get(p.student_id), False, run_id, now, mapping_version
            )
        )
        new_sponsorships += [
            _sponsorship(sis, a.sponsor_id, prof, today, now)
            for a in p.sponsorships
            if a.action == "create"
        ]

    # ---- updates (restores included)
    _update_by_id(
        conn,
        schema.person,
        [
            {
                "id": p.state.person_id,
                **p.record.person,
                **p.kept.get("person", {}),  # registrar edits kept (on-conflict keep-sis)
                "updated_at": now,
                "is_deleted": False,
                "deleted_at": None,
            }
            for p in updates
            if p.state and p.record
        ],
    )
    _update_by_id(
        conn,
        schema.student_profile,
        [
            {
                "id": p.state.profile_id,
                **p.record.profile,
                **p.kept.get("profile", {}),
                "updated_at": now,
                "is_deleted": False,
                "deleted_at": None,
            }
            for p in updates
            if p.state and p.record
        ],
    )
    contact_updates, contact_deletes, contact_creates = [], [], []
    for p in updates:
        assert p.state is not None
        if p.contact_action == "update":
            contact_updates.append(
                {"id": p.state.contact_id, **_contact_row(p, p.state.person_id or 0, now)}
            )
        elif p.contact_action == "delete":
            contact_deletes.append(p.state.contact_id)
        elif p.contact_action == "create":
            contact_creates.append(p)
    _update_by_id(conn, sis.contact_table, contact_updates)
    if contact_deletes:
        t = sis.contact_table
        conn.execute(t.delete().where(t.c.id.in_(contact_deletes)))
    created_contacts = dict(
        zip(
            [p.student_id for p in contact_creates],
            _new_contacts(
                conn,
                sis,
                [(p, p.state.person_id or 0) for p in contact_creates if p.state],
                now,
                existing_people=True,
            ),
            strict=True,
        )
    )
    ending: list[SponsorshipAction] = []
    reopened = []
    for p in updates:
        assert p.state is not None
        for a in p.sponsorships:
            if a.action == "create":
                new_sponsorships.append(
                    _sponsorship(sis, a.sponsor_id, p.state.profile_id or 0, today, now)
                )
            elif a.action == "end":
                ending.append(a)
            else:
                # Reopening a period ended (soft-deleted, zero-length) earlier today.
                reopened.append(
                    {
                        "id": a.row_id,
                        "end_date": None,
                        "updated_at": now,
                        "is_deleted": False,
                        "deleted_at": None,
                    }
                )
        contact_id = p.state.contact_id
        if p.contact_action == "delete":
            contact_id = None
        elif p.contact_action == "create":
            contact_id = created_contacts[p.student_id]
        states.append(
            _state_row(
                p,
                p.state.person_id,
                p.state.profile_id,
                contact_id,
                False,
                run_id,
                now,
                mapping_version,
            )
        )
    _end_sponsorships(conn, ending, today, now)
    _update_by_id(conn, schema.sponsored_student, reopened)
    _insert(conn, schema.sponsored_student, new_sponsorships)

    # ---- soft deletes: legacy deleted flag, and students gone from the legacy table
    gone: list[StateRow] = [p.state for p in deletes if p.state] + list(batch.vanished)
    _soft_delete(conn, gone, now)
    for p in deletes:
        assert p.state is not None
        states.append(
            _state_row(
                p,
                p.state.person_id,
                p.state.profile_id,
                p.state.contact_id,
                True,
                run_id,
                now,
                mapping_version,
            )
        )
    for s in batch.vanished:
        states.append(
            {
                **s.__dict__,
                "raw_digest": None,
                "is_deleted": True,
                "last_run_id": run_id,
                "updated_at": now,
            }
        )
    for p in refresh:
        s = p.state
        assert s is not None
        states.append(
            _state_row(
                p,
                s.person_id,
                s.profile_id,
                s.contact_id,
                s.is_deleted,
                run_id,
                now,
                mapping_version,
            )
        )

    upsert(conn, schema.sync_state, states, ["student_id"])
    _record_rejections(conn, batch, run_id, now)
    _record_changes(conn, batch, sis, run_id=run_id, now=now, today=today)


def _record_changes(
    conn: Connection, batch: PlanBatch, sis: SisSchema, *, run_id: str, now: datetime, today: date
) -> None:
    """The change log, last-written digests and conflicts, in the batch's own transaction:
    no write can commit without its change-log rows (``engine/changelog.py``)."""
    changes = changelog.batch_changes(
        batch, run_id=run_id, now=now, today=today, contact_table=sis.contact.name
    )
    _insert(conn, schema.change_log, changes.entries)
    upsert(conn, schema.last_written, changes.written, ["student_id"])
    changelog.close_checked(conn, changes.checked, run_id, now)
    upsert(
        conn,
        schema.conflict,
        changes.conflicts,
        ["student_id", "table_name", "column_name"],
        keep_on_update=["first_run_id", "detected_at"],
    )


def _sponsorship(
    sis: SisSchema, sponsor_id: int, profile_id: int, today: date, now: datetime
) -> dict[str, Any]:
    return sis.sponsorship.for_insert(
        {
            "sponsor_id": sponsor_id,
            "student_id": profile_id,
            "sponsorship_type": "FULL",
            "start_date": today,
            "end_date": None,
            "notes": "opened by student_sync",
            "created_at": now,
            "updated_at": now,
            "is_deleted": False,
            "deleted_at": None,
        }
    )


def _end_sponsorships(
    conn: Connection, ending: list[SponsorshipAction], today: date, now: datetime
) -> None:
    """End periods on ``today``; a period that starts today or later would end on or before
    its start (Django wants end_date > start_date), so it is soft-deleted instead, its end
    set to the day after its start: hidden by Django's manager, kept as history, never
    overlapping a period opened later."""
    ended, zero_length = [], []
    for a in ending:
        if a.start_date is not None and a.start_date >= today:
            zero_length.append(
                {
                    "id": a.row_id,
                    "end_date": a.start_date + timedelta(days=1),
                    "updated_at": now,
                    "is_deleted": True,
                    "deleted_at": now,
                }
            )
        else:
            ended.append({"id": a.row_id, "end_date": today, "updated_at": now})
    _update_by_id(conn, schema.sponsored_student, ended)
    _update_by_id(conn, schema.sponsored_student, zero_length)


def _soft_delete(conn: Connection, gone: list[StateRow], now: datetime) -> None:
    flags = {"updated_at": now, "is_deleted": True, "deleted_at": now}
    _update_by_id(conn, schema.person, [{"id": s.person_id, **flags} for s in gone if s.person_id])
    _update_by_id(
        conn, schema.student_profile, [{"id": s.profile_id, **flags} for s in gone if s.profile_id]
    )


def storable(text: str, limit: int) -> str:
    """Raw legacy text as a rejection row can hold it: NUL, which PostgreSQL text cannot
    store, is shown as U+FFFD (on every database, so both keep the same key)."""
    return text.replace("\x00", "\ufffd")[:limit]


def _record_rejections(conn: Connection, batch: PlanBatch, run_id: str, now: datetime) -> None:
    """Store this batch's rejections and close those of rows that now went through."""
    rows = {(storable(r.legacy_id, 255), storable(r.ipk, 64)): r for r in batch.rejections}
    upsert(
        conn,
        schema.rejection,
        [
            {
                "legacy_id": k[0],
                "ipk": k[1],
                "reason": r.reason,
                "detail": storable(r.detail, 2000),
                "first_seen_at": now,
                "last_seen_at": now,
                "last_run_id": run_id,
                "resolved_at": None,
                "seen_count": 1,  # runs that saw it: added to the stored count
            }
            for k, r in rows.items()
        ],
        ["legacy_id", "ipk"],
        keep_on_update=["first_seen_at"],
        add_on_update=["seen_count"],
    )
    succeeded = [p.record.legacy_id[:255] for p in batch.students if p.record]
    if succeeded:
        t = schema.rejection
        conn.execute(
            update(t)
            .where(member_of(conn, t.c.legacy_id, succeeded), t.c.resolved_at.is_(None))
            .values(resolved_at=now, last_run_id=run_id)
        )
