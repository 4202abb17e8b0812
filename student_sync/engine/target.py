"""Reads of the target database the planner needs, one set-based query per page."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, Engine, Table, and_, any_, bindparam, func, or_, select
from sqlalchemy.dialects.postgresql import ARRAY

from student_sync.engine import schema
from student_sync.engine.bulk import chunked
from student_sync.engine.model import ContactValues, StateRow
from student_sync.engine.options import IdRange


def member_of(conn: Connection, column: Any, values: Sequence[Any]) -> Any:
    """``column IN values``; on PostgreSQL ``column = ANY(:array)``, one bound parameter
    instead of thousands the driver must parse."""
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)


def _state_from_row(row: Any) -> StateRow:
    return StateRow(**{k: row[k] for k in StateRow.__dataclass_fields__})


def load_states(conn: Connection, keys: Iterable[str]) -> dict[str, StateRow]:
    """Sync state by legacy key for one page of legacy rows."""
    # A NULL legacy id has no key; a key with NUL (a SQLite legacy table) is never a valid id
    # and cannot even be sent to PostgreSQL as a parameter.
    wanted = sorted({k for k in keys if k is not None and "\x00" not in k})
    found: dict[str, StateRow] = {}
    t = schema.sync_state
    for part in chunked(wanted):
        stmt = select(*(t.c[f] for f in StateRow.__dataclass_fields__)).where(
            member_of(conn, t.c.legacy_key, part)
        )
        for row in conn.execute(stmt).mappings():
            found[row["legacy_key"]] = _state_from_row(row)
    return found


def has_sync_state(conn: Connection) -> bool:
    """Whether any student has a sync state yet (none before the first load)."""
    t = schema.sync_state
    return conn.execute(select(t.c.student_id).limit(1)).first() is not None


def _active_in_ranges(ranges: tuple[IdRange, ...]) -> Any:
    t = schema.sync_state
    clause = and_(t.c.person_id.is_not(None), t.c.is_deleted.is_(False))
    if ranges:
        clause = and_(clause, or_(*(t.c.student_id.between(r.start, r.end) for r in ranges)))
    return clause


def count_active_in_ranges(conn: Connection, ranges: tuple[IdRange, ...]) -> int:
    """Live students the sync created, in the ranges (all when no range)."""
    stmt = select(func.count()).select_from(schema.sync_state).where(_active_in_ranges(ranges))
    return int(conn.execute(stmt).scalar_one())


def active_states_in_ranges(conn: Connection, ranges: tuple[IdRange, ...]) -> list[StateRow]:
    """The live students themselves (for a legacy table in another database)."""
    t = schema.sync_state
    stmt = select(*(t.c[f] for f in StateRow.__dataclass_fields__)).where(_active_in_ranges(ranges))
    return [_state_from_row(r) for r in conn.execute(stmt).mappings()]


def vanished_states(
    conn: Connection, ranges: tuple[IdRange, ...], legacy_keys: Any
) -> list[StateRow]:
    """Live students whose key no row of the legacy table holds (an anti-join in SQL).

    ``legacy_keys(state_key)`` builds the correlated EXISTS test against the legacy table.
    """
    t = schema.sync_state
    stmt = select(*(t.c[f] for f in StateRow.__dataclass_fields__)).where(
        _active_in_ranges(ranges), ~legacy_keys(t.c.legacy_key)
    )
    return [_state_from_row(r) for r in conn.execute(stmt).mappings()]


def profile_student_ids(conn: Connection, student_ids: Iterable[int]) -> set[int]:
    """Which of these student ids a profile in the SIS already holds."""
    wanted = sorted(set(student_ids))
    sp = schema.student_profile
    found: set[int] = set()
    for part in chunked(wanted):
        found.update(
            conn.scalars(select(sp.c.student_id).where(member_of(conn, sp.c.student_id, part)))
        )
    return found


def school_email_owners(conn: Connection, emails: Iterable[str]) -> dict[str, str]:
    """Who holds each school email now: ``s<student_id>`` or ``p<person_id>`` (no profile)."""
    wanted = sorted({e for e in emails if e})
    p, sp = schema.person, schema.student_profile
    owners: dict[str, str] = {}
    for part in chunked(wanted):
        stmt = (
            select(p.c.school_email, p.c.id, sp.c.student_id)
            .select_from(p.outerjoin(sp, sp.c.person_id == p.c.id))
            .where(member_of(conn, p.c.school_email, part))
        )
        for email, person_id, student_id in conn.execute(stmt):
            owners[email] = f"s{student_id}" if student_id is not None else f"p{person_id}"
    return owners


def load_contacts(
    conn: Connection, contact_ids: Iterable[int], table: Table = schema.emergency_contact
) -> dict[int, tuple[int, ContactValues]]:
    """The sync's contacts by id: (person id, values). ``table`` is the SIS's contact table."""
    wanted = sorted({c for c in contact_ids if c is not None})
    fields = list(ContactValues.__dataclass_fields__)
    found: dict[int, tuple[int, ContactValues]] = {}
    for part in chunked(wanted):
        stmt = select(table.c.id, table.c.person_id, *(table.c[f] for f in fields)).where(
            member_of(conn, table.c.id, part)
        )
        for row in conn.execute(stmt).mappings():
            found[row["id"]] = (
                row["person_id"],
                ContactValues(**{f: row[f] or "" for f in fields}),
            )
    return found


@dataclass
class OpenSponsorships:
    """A page's sponsorships the planner needs, by profile id and sponsor code."""

    open_rows: dict[int, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    started_today: dict[int, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    # Open periods starting on the run's day or later: code -> start date.
    not_started: dict[int, dict[str, date]] = field(default_factory=lambda: defaultdict(dict))


def load_sponsorships(
    conn: Connection, profile_ids: Iterable[int], today: date
) -> OpenSponsorships:
    """Open sponsorships (code -> row id), those started today (reopen candidates), and the
    open ones that start today or later (ending them is a zero-length period)."""
    wanted = sorted({p for p in profile_ids if p is not None})
    ss, sp = schema.sponsored_student, schema.sponsor
    found = OpenSponsorships()
    for part in chunked(wanted):
        stmt = (
            select(ss.c.id, ss.c.student_id, ss.c.end_date, ss.c.start_date, sp.c.code)
            .select_from(ss.join(sp, sp.c.id == ss.c.sponsor_id))
            .where(
                member_of(conn, ss.c.student_id, part),
                (ss.c.end_date.is_(None)) | (ss.c.start_date == today),
            )
        )
        for row in conn.execute(stmt).mappings():
            student, code = row["student_id"], row["code"]
            if row["end_date"] is None:
                found.open_rows[student][code] = row["id"]
                if row["start_date"] >= today:
                    found.not_started[student][code] = row["start_date"]
            elif row["start_date"] == today:
                found.started_today[student][code] = row["id"]
    return found


def sponsor_ids(conn: Connection) -> dict[str, int]:
    """Active sponsors by code: the codes a legacy name may carry."""
    sp = schema.sponsor
    stmt = select(sp.c.code, sp.c.id).where(
        and_(sp.c.is_active.is_(True), sp.c.is_deleted.is_(False))
    )
    return {code.upper(): sid for code, sid in conn.execute(stmt)}


# --------------------------------------------------------------------------- planner statistics
# The SIS tables other tables' foreign keys point at: PostgreSQL checks every inserted profile,
# contact and sponsorship against them with a plan it makes once per connection and keeps.
# Each page also looks its new students' ids and emails up in them.
FOREIGN_KEY_TARGETS = (schema.person, schema.student_profile)
# Statistics describing fewer rows than this (or none) may make those plans sequential scans.
SMALL_STATISTICS = 1_000


def tables_with_small_statistics(conn: Connection) -> list[Table]:
    """The foreign-key targets whose statistics say they are (nearly) empty, or that have
    none (never analyzed, as ``migrate`` leaves them).

    Where autovacuum is off nothing refreshes them while a first load fills the tables:
    - VACUUMed or ANALYZEd while empty (a DBA's housekeeping after ``migrate``): each
      connection plans its foreign-key check as a sequential scan of a table it believes
      empty and keeps that plan, so a first load in small batches turns quadratic (30,000
      students at ``--batch-size 100``: 10 s -> 35 s, 440 million rows scanned);
    - never analyzed: each page's ``= ANY(ids)`` lookups (ids a profile holds, emails a
      person holds) are planned with default selectivities, which make every one a
      sequential scan of the growing table (1,000,000 students: 474 scans reading 96 million
      profile rows, 60 reading 46 million person rows; 19 and 0 once refreshed)."""
    if conn.dialect.name != "postgresql":
        return []
    pg_class = schema.pg_class
    found = []
    for table in FOREIGN_KEY_TARGETS:
        rows = conn.execute(
            select(pg_class.c.reltuples).where(pg_class.c.oid == func.to_regclass(table.name))
        ).scalar()
        if rows is not None and rows < SMALL_STATISTICS:  # -1: never analyzed
            found.append(table)
    return found


def refresh_statistics(engine: Engine, tables: Sequence[Table]) -> None:
    """ANALYZE the tables, outside the run's transactions: the new statistics make every
    connection plan its foreign-key checks and lookups again (by index now). Not the tables'
    owner: PostgreSQL skips them with a warning, and the run goes on as before."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in tables:
            conn.execute(schema.analyze(table))
