"""Write one planned batch: every table and the sync state in a single transaction.

``apply_batch`` reads as the plan does: new students, rewritten students, soft deletes, their
children (the sync's contact, the sponsorship periods), the sync state, rejections and the
change log. How the rows reach each database (COPY, staging tables, executemany) is
``bulk.py``'s business. The sync state is written in the same transaction as the rows it
describes, so a crash leaves whole batches or nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Any, Literal

from sqlalchemy import Connection, select, update

from student_sync.engine import changelog, schema
from student_sync.engine.bulk import (
    insert_new,
    insert_positional,
    insert_returning_ids,
    insert_rows,
    is_postgres,
    new_uuids,
    update_by_id,
    upsert,
)
from student_sync.engine.model import PlanBatch, PlannedStudent, SponsorshipAction, StateRow
from student_sync.engine.sis import SisSchema, reflect_sis
from student_sync.engine.target import member_of

_NOTHING: Mapping[str, Any] = MappingProxyType({})  # no registrar edits kept


@dataclass(frozen=True, slots=True)
class StateStamp:
    """What every sync-state row of one batch carries: the run, its clock, the mapping."""

    run_id: str
    now: datetime
    mapping_version: str


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
    creates, updates, deletes, unchanged = (
        [p for p in batch.students if p.row_class == row_class]
        for row_class in ("create", "update", "delete", "unchanged")
    )
    # Students: new ones inserted, changed (and restored) ones rewritten, deleted ones hidden.
    person_ids, profile_ids = _insert_students(conn, sis, creates, now)
    _rewrite_students(conn, updates, now)
    _soft_delete(conn, [p.state for p in deletes if p.state] + list(batch.vanished), now)

    # Children: the sync's emergency contact, then the sponsorship periods (by profile).
    contact_ids = _write_contacts(conn, sis, zip(creates, person_ids, strict=True), updates, now)
    profiles = [*profile_ids, *(_known(p).profile_id or 0 for p in updates)]
    _write_sponsorships(conn, sis, zip([*creates, *updates], profiles, strict=True), today, now)

    # Sync state: students written, deleted, found gone, or whose raw row alone changed.
    # Students the sync never knew (a first load's) get new rows, inserted rather than
    # merged (half the server's work); the rest are upserted, built in one expression.
    stamp = StateStamp(run_id=run_id, now=now, mapping_version=mapping_version)
    unknown: list[dict[str, Any]] = []
    known_without_person: list[dict[str, Any]] = []
    for p, i, j in zip(creates, person_ids, profile_ids, strict=True):
        row = _new_state_row(p, stamp, contact_ids, person_id=i, profile_id=j)
        (unknown if p.state is None else known_without_person).append(row)
    insert_new(conn, schema.sync_state, unknown, ["student_id"])
    del unknown  # written: no name keeps the rows alive past their statement
    upsert(
        conn,
        schema.sync_state,
        [
            *known_without_person,
            *(_known_state_row(p, stamp, contact_ids, is_deleted=False) for p in updates),
            *(_known_state_row(p, stamp, contact_ids, is_deleted=True) for p in deletes),
            *(_vanished_state_row(s, stamp) for s in batch.vanished),
            *(
                _known_state_row(p, stamp, contact_ids, is_deleted=p.state.is_deleted)
                for p in unchanged
                if p.state_only and p.state
            ),
        ],
        ["student_id"],
    )
    _record_rejections(conn, batch, run_id, now)
    _record_changes(conn, batch, sis, run_id=run_id, now=now, today=today)


# --------------------------------------------------------------------------- students
def _live_row(
    p: PlannedStudent,
    part: Literal["person", "profile"],
    now: datetime,
    *,
    defaults: Mapping[str, Any] = _NOTHING,
    creation: Mapping[str, Any] = _NOTHING,
) -> dict[str, Any]:
    """The person's or the profile's columns as the sync writes them, live, with the
    registrar's edits kept (on-conflict keep-sis). A new row's Django ``defaults`` (as
    ``SisTable.for_insert`` puts them first) and its ``creation`` columns (last) go into the
    same dict: an initial load builds millions, and every dict in between is work."""
    assert p.record is not None
    return {
        **defaults,
        **(p.record.person if part == "person" else p.record.profile),
        **p.kept.get(part, _NOTHING),
        "updated_at": now,
        "is_deleted": False,
        "deleted_at": None,
        **creation,
    }


def _insert_students(
    conn: Connection, sis: SisSchema, creates: list[PlannedStudent], now: datetime
) -> tuple[list[int], list[int]]:
    """Insert the person, then the profile, of each new student; their ids, in order."""
    unique_ids = new_uuids(len(creates), as_text=is_postgres(conn))
    defaults = sis.person.insert_defaults
    people = [  # one builder's rows at a time (people freed once written)
        _live_row(p, "person", now, defaults=defaults, creation={"unique_id": u, "created_at": now})
        for p, u in zip(creates, unique_ids, strict=True)
    ]
    person_ids = insert_returning_ids(conn, schema.person, people, key="unique_id")
    del people, unique_ids  # written: the profiles' rows need not wait beside them
    defaults = sis.profile.insert_defaults
    profiles = [
        _live_row(
            p, "profile", now, defaults=defaults, creation={"person_id": i, "created_at": now}
        )
        for p, i in zip(creates, person_ids, strict=True)
    ]
    return person_ids, insert_returning_ids(conn, schema.student_profile, profiles, key="person_id")


def _rewrite_students(conn: Connection, updates: list[PlannedStudent], now: datetime) -> None:
    """Rewrite the person and profile of changed students (a soft-deleted one is restored)."""
    people, profiles = [], []
    for p in updates:
        if p.state and p.record:
            person, profile = _live_row(p, "person", now), _live_row(p, "profile", now)
            person["id"], profile["id"] = p.state.person_id, p.state.profile_id
            people.append(person)
            profiles.append(profile)
    update_by_id(conn, schema.person, people)
    update_by_id(conn, schema.student_profile, profiles)


def _known(p: PlannedStudent) -> StateRow:
    """The sync state of a student the plan found one for (updates, deletes)."""
    assert p.state is not None
    return p.state


def _soft_delete(conn: Connection, gone: list[StateRow], now: datetime) -> None:
    """Hide the person and profile of students deleted in (or gone from) the legacy table:
    Django's manager skips them; the rows stay, so a student who comes back is restored."""
    flags = {"updated_at": now, "is_deleted": True, "deleted_at": now}
    update_by_id(conn, schema.person, [{"id": s.person_id, **flags} for s in gone if s.person_id])
    update_by_id(
        conn, schema.student_profile, [{"id": s.profile_id, **flags} for s in gone if s.profile_id]
    )


# --------------------------------------------------------------------------- contacts
def _write_contacts(
    conn: Connection,
    sis: SisSchema,
    created: Iterable[tuple[PlannedStudent, int]],
    updates: list[PlannedStudent],
    now: datetime,
) -> dict[int, int | None]:
    """Insert the contacts of new students ((student, person id) pairs), then update, delete
    or insert those of existing students.

    Returns the contact id by student number of every student whose contact was inserted or
    deleted (None); the others keep the one their state names.
    """
    new_students = [(p, pid) for p, pid in created if p.contact_action == "create"]
    inserted = _new_contacts(conn, sis, new_students, now, existing_people=False)
    contact_ids: dict[int, int | None] = dict(
        zip((p.student_id for p, _ in new_students), inserted, strict=True)
    )
    changed, deleted, added = [], [], []
    for p in updates:
        state = _known(p)
        if p.contact_action == "update":
            changed.append({"id": state.contact_id, **_contact_row(p, state.person_id or 0, now)})
        elif p.contact_action == "delete":
            deleted.append(state.contact_id)
            contact_ids[p.student_id] = None
        elif p.contact_action == "create":
            added.append((p, state.person_id or 0))
    update_by_id(conn, sis.contact_table, changed)
    if deleted:
        t = sis.contact_table
        conn.execute(t.delete().where(t.c.id.in_(deleted)))
    inserted = _new_contacts(conn, sis, added, now, existing_people=True)
    contact_ids.update(zip((p.student_id for p, _ in added), inserted, strict=True))
    return contact_ids


def _contact_row(p: PlannedStudent, person_id: int, now: datetime) -> dict[str, Any]:
    """The contact's values (an update leaves the purpose flags as the SIS has them)."""
    assert p.record is not None and p.record.contact is not None
    return {
        "person_id": person_id,
        **p.record.contact.__dict__,
        **p.kept.get("contact", _NOTHING),  # registrar edits kept (on-conflict keep-sis)
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
    defaults = sis.contact.insert_defaults
    rows = [  # ``for_insert`` of the contact row, as one dict (no two in between)
        {
            **defaults,
            **_contact_row(p, pid, now),
            **flags,
            **({"is_primary": False} if pid in taken else _NOTHING),
            "created_at": now,
            "is_deleted": False,
            "deleted_at": None,
        }
        for p, pid in planned
    ]
    return insert_returning_ids(conn, sis.contact_table, rows, key="person_id")


# --------------------------------------------------------------------------- sponsorships
def _write_sponsorships(
    conn: Connection,
    sis: SisSchema,
    students: Iterable[tuple[PlannedStudent, int]],
    today: date,
    now: datetime,
) -> None:
    """End, reopen and open the sponsorship periods of (student, profile id) pairs."""
    opened: list[dict[str, Any]] = []
    ending: list[SponsorshipAction] = []
    reopened: list[dict[str, Any]] = []
    for p, profile_id in students:
        for a in p.sponsorships:
            if a.action == "create":
                opened.append(_sponsorship(sis, a.sponsor_id, profile_id, today, now))
            elif a.action == "end":
                ending.append(a)
            else:  # reopening a period ended (soft-deleted, zero-length) earlier today
                reopened.append(
                    {
                        "id": a.row_id,
                        "end_date": None,
                        "updated_at": now,
                        "is_deleted": False,
                        "deleted_at": None,
                    }
                )
    _end_sponsorships(conn, ending, today, now)
    update_by_id(conn, schema.sponsored_student, reopened)
    insert_rows(conn, schema.sponsored_student, opened)


# --------------------------------------------------------------------------- sync state
def _state_row(
    p: PlannedStudent,
    stamp: StateStamp,
    *,
    person_id: int | None,
    profile_id: int | None,
    contact_id: int | None,
    is_deleted: bool,
) -> dict[str, Any]:
    """The sync state of a student after this batch: the SIS rows it points at and the
    legacy values (IPK, fingerprint) they were written from."""
    record, state = p.record, p.state
    return {
        "student_id": p.student_id,
        "legacy_key": p.legacy_key,
        "legacy_ipk": record.ipk if record else (state.legacy_ipk if state else None),
        "raw_digest": p.raw_digest,
        "fingerprint": record.fingerprint if record else (state.fingerprint if state else ""),
        "mapping_version": stamp.mapping_version,
        "person_id": person_id,
        "profile_id": profile_id,
        "contact_id": contact_id,
        "is_deleted": is_deleted,
        "last_run_id": stamp.run_id,
        "updated_at": stamp.now,
    }


def _new_state_row(
    p: PlannedStudent,
    stamp: StateStamp,
    contact_ids: dict[int, int | None],
    *,
    person_id: int,
    profile_id: int,
) -> dict[str, Any]:
    """The state of a student created in this batch (with its contact, when it has one)."""
    return _state_row(
        p,
        stamp,
        person_id=person_id,
        profile_id=profile_id,
        contact_id=contact_ids.get(p.student_id),
        is_deleted=False,
    )


def _known_state_row(
    p: PlannedStudent, stamp: StateStamp, contact_ids: dict[int, int | None], *, is_deleted: bool
) -> dict[str, Any]:
    """The state of a student the sync already knew: the same person and profile; the
    contact this batch inserted or deleted (``contact_ids``), else the one it had."""
    state = _known(p)
    return _state_row(
        p,
        stamp,
        person_id=state.person_id,
        profile_id=state.profile_id,
        contact_id=contact_ids.get(p.student_id, state.contact_id),
        is_deleted=is_deleted,
    )


def _vanished_state_row(state: StateRow, stamp: StateStamp) -> dict[str, Any]:
    """A student gone from the legacy table: soft-deleted, its raw digest forgotten."""
    return {
        **state.__dict__,
        "raw_digest": None,
        "is_deleted": True,
        "last_run_id": stamp.run_id,
        "updated_at": stamp.now,
    }


# --------------------------------------------------------------------------- logs
def _record_changes(
    conn: Connection, batch: PlanBatch, sis: SisSchema, *, run_id: str, now: datetime, today: date
) -> None:
    """The change log, last-written digests and conflicts, in the batch's own transaction:
    no write can commit without its change-log rows (``engine/changelog.py``).

    Written ``CHANGE_LOG_SLICE`` students at a time, in the batch's order: a created student
    has ~3 change-log rows of JSON and a digest row (~2 KB), so a 20,000-student batch built
    at once held ~43 MB more than its students. The rows are the same, in the same order."""
    for part in _change_log_slices(batch, CHANGE_LOG_SLICE):
        changes = changelog.batch_changes(
            part, run_id=run_id, now=now, today=today, contact_table=sis.contact.name
        )
        insert_positional(conn, schema.change_log, changelog.CHANGE_LOG_COLUMNS, changes.entries)
        insert_new(conn, schema.last_written, changes.written_new, ["student_id"])
        upsert(conn, schema.last_written, changes.written, ["student_id"])
        changelog.close_checked(conn, changes.checked, run_id, now)
        upsert(
            conn,
            schema.conflict,
            changes.conflicts,
            ["student_id", "table_name", "column_name"],
            keep_on_update=["first_run_id", "detected_at"],
        )
        del changes  # written: the next slice's rows replace these, not join them


CHANGE_LOG_SLICE = 2_000  # students whose change-log rows exist at once


def _change_log_slices(batch: PlanBatch, size: int) -> Iterator[PlanBatch]:
    """The batch as consecutive slices of at most ``size`` students (the batch itself when
    it fits); the vanished students, logged after every student, ride with the last."""
    students = batch.students
    if len(students) <= size:
        yield batch
        return
    last = (len(students) - 1) // size * size  # where the last slice starts
    for start in range(0, len(students), size):
        vanished = batch.vanished if start == last else []
        yield PlanBatch(batch.number, students[start : start + size], vanished=vanished)


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
    update_by_id(conn, schema.sponsored_student, ended)
    update_by_id(conn, schema.sponsored_student, zero_length)


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
