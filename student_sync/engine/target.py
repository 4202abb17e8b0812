"""Reads of the target database the planner needs, one set-based query per page."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, and_, func, select

from student_sync.engine import schema
from student_sync.engine.model import ContactValues, StateRow
from student_sync.engine.options import IdRange

IN_CHUNK = 5_000  # values per IN (...) list: well under every driver's parameter limit


def chunked(values: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _state_from_row(row: Any) -> StateRow:
    return StateRow(**{k: row[k] for k in StateRow.__dataclass_fields__})


def load_states(conn: Connection, keys: Iterable[str]) -> dict[str, StateRow]:
    """Sync state by legacy key for one page of legacy rows."""
    wanted = sorted(set(keys))
    found: dict[str, StateRow] = {}
    t = schema.sync_state
    for part in chunked(wanted):
        stmt = select(*(t.c[f] for f in StateRow.__dataclass_fields__)).where(
            t.c.legacy_key.in_(part)
        )
        for row in conn.execute(stmt).mappings():
            found[row["legacy_key"]] = _state_from_row(row)
    return found


def load_state_by_student(conn: Connection, student_ids: Iterable[int]) -> dict[int, StateRow]:
    wanted = sorted(set(student_ids))
    t = schema.sync_state
    found: dict[int, StateRow] = {}
    for part in chunked(wanted):
        stmt = select(*(t.c[f] for f in StateRow.__dataclass_fields__)).where(
            t.c.student_id.in_(part)
        )
        for row in conn.execute(stmt).mappings():
            found[row["student_id"]] = _state_from_row(row)
    return found


def active_states_in_ranges(conn: Connection, ranges: tuple[IdRange, ...]) -> list[StateRow]:
    """Live students the sync created, in the ranges (all when no range)."""
    t = schema.sync_state
    stmt = select(*(t.c[f] for f in StateRow.__dataclass_fields__)).where(
        t.c.person_id.is_not(None), t.c.is_deleted.is_(False)
    )
    if ranges:
        from sqlalchemy import or_

        stmt = stmt.where(or_(*(t.c.student_id.between(r.start, r.end) for r in ranges)))
    return [_state_from_row(r) for r in conn.execute(stmt).mappings()]


def school_email_owners(conn: Connection, emails: Iterable[str]) -> dict[str, str]:
    """Who holds each school email now: ``s<student_id>`` or ``p<person_id>`` (no profile)."""
    wanted = sorted({e for e in emails if e})
    p, sp = schema.person, schema.student_profile
    owners: dict[str, str] = {}
    for part in chunked(wanted):
        stmt = (
            select(p.c.school_email, p.c.id, sp.c.student_id)
            .select_from(p.outerjoin(sp, sp.c.person_id == p.c.id))
            .where(p.c.school_email.in_(part))
        )
        for email, person_id, student_id in conn.execute(stmt):
            owners[email] = f"s{student_id}" if student_id is not None else f"p{person_id}"
    return owners


def load_contacts(conn: Connection, contact_ids: Iterable[int]) -> dict[int, ContactValues]:
    wanted = sorted({c for c in contact_ids if c is not None})
    c = schema.emergency_contact
    fields = list(ContactValues.__dataclass_fields__)
    found: dict[int, ContactValues] = {}
    for part in chunked(wanted):
        stmt = select(c.c.id, *(c.c[f] for f in fields)).where(c.c.id.in_(part))
        for row in conn.execute(stmt).mappings():
            found[row["id"]] = ContactValues(**{f: row[f] or "" for f in fields})
    return found


def load_sponsorships(
    conn: Connection, profile_ids: Iterable[int], today: date
) -> tuple[dict[int, dict[str, int]], dict[int, dict[str, int]]]:
    """Open sponsorships (code -> row id) and those started today (reopen candidates)."""
    wanted = sorted({p for p in profile_ids if p is not None})
    ss, sp = schema.sponsored_student, schema.sponsor
    open_rows: dict[int, dict[str, int]] = defaultdict(dict)
    started_today: dict[int, dict[str, int]] = defaultdict(dict)
    for part in chunked(wanted):
        stmt = (
            select(ss.c.id, ss.c.student_id, ss.c.end_date, ss.c.start_date, sp.c.code)
            .select_from(ss.join(sp, sp.c.id == ss.c.sponsor_id))
            .where(
                ss.c.student_id.in_(part), (ss.c.end_date.is_(None)) | (ss.c.start_date == today)
            )
        )
        for row in conn.execute(stmt).mappings():
            if row["end_date"] is None:
                open_rows[row["student_id"]][row["code"]] = row["id"]
            elif row["start_date"] == today:
                started_today[row["student_id"]][row["code"]] = row["id"]
    return open_rows, started_today


def sponsor_ids(conn: Connection) -> dict[str, int]:
    """Active sponsors by code: the codes a legacy name may carry."""
    sp = schema.sponsor
    stmt = select(sp.c.code, sp.c.id).where(
        and_(sp.c.is_active.is_(True), sp.c.is_deleted.is_(False))
    )
    return {code.upper(): sid for code, sid in conn.execute(stmt)}


def table_counts(conn: Connection) -> dict[str, int]:
    """Row counts of every SIS and sync table (tests and reports compare these)."""
    return {
        t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
        for t in (*schema.SIS_TABLES, schema.sync_state, schema.rejection)
    }
