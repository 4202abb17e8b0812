"""One student's story (``student-sync history``): what the sync did to them, newest first.

Read from the sync's own tables and the SIS: the change log (joined to the run ledger for
the run's status), conflicts, stored rejections of that id, and sponsorship periods. The CLI
only formats what ``student_history`` returns.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from student_sync.engine import schema
from student_sync.engine.changelog import plain
from student_sync.engine.transform import legacy_key


@dataclass
class StudentHistory:
    student_id: int
    current: dict[str, Any] | None = None  # sync state: ids, deleted flag, last run
    changes: list[dict[str, Any]] = field(default_factory=list)  # newest first
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    rejections: list[dict[str, Any]] = field(default_factory=list)
    sponsorships: list[dict[str, Any]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.current or self.changes or self.conflicts or self.rejections)

    def as_dict(self) -> dict[str, Any]:
        def jsonable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [{k: plain(v) for k, v in r.items()} for r in rows]

        return {
            "student_id": self.student_id,
            "current": {k: plain(v) for k, v in self.current.items()} if self.current else None,
            "changes": jsonable(self.changes),
            "conflicts": jsonable(self.conflicts),
            "rejections": jsonable(self.rejections),
            "sponsorships": jsonable(self.sponsorships),
        }


# The stored rejection's columns a history shows.
REJECTION_COLUMNS: tuple[str, ...] = (
    "legacy_id",
    "ipk",
    "reason",
    "detail",
    "first_seen_at",
    "last_seen_at",
    "resolved_at",
)


def student_history(conn: Connection, student_id: int) -> StudentHistory:
    """Everything the sync's tables know about one student id."""
    return StudentHistory(
        student_id,
        current=_sync_state(conn, student_id),
        changes=_changes(conn, student_id),
        conflicts=_conflicts(conn, student_id),
        rejections=_rejections(conn, student_id),
        sponsorships=_sponsorships(conn, student_id),
    )


def _sync_state(conn: Connection, student_id: int) -> dict[str, Any] | None:
    """The sync state row: IPK, deleted flag, last run; None when the sync never wrote it."""
    st = schema.sync_state
    state = (
        conn.execute(
            select(st.c.legacy_ipk, st.c.is_deleted, st.c.last_run_id, st.c.updated_at).where(
                st.c.student_id == student_id
            )
        )
        .mappings()
        .first()
    )
    return dict(state) if state else None


def _changes(conn: Connection, student_id: int) -> list[dict[str, Any]]:
    """The change log's rows, newest first, with the run's mode from the ledger."""
    log, ledger = schema.change_log, schema.run_ledger
    stmt = (
        select(
            log.c.run_id,
            log.c.changed_at,
            log.c.table_name,
            log.c.action,
            log.c.changes,
            ledger.c.mode,
            ledger.c.force_update,
        )
        .select_from(log.outerjoin(ledger, ledger.c.run_id == log.c.run_id))
        .where(log.c.student_id == student_id)
        .order_by(log.c.id.desc())
    )
    return [{**row, "changes": json.loads(row["changes"])} for row in conn.execute(stmt).mappings()]


def _conflict_entry(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored conflict as the history shows it (values decoded from their JSON)."""
    return {
        "table": row["table_name"],
        "column": row["column_name"],
        "sis_value": json.loads(row["sis_value"]) if row["sis_value"] else None,
        "legacy_value": json.loads(row["legacy_value"]) if row["legacy_value"] else None,
        "resolution": row["resolution"],
        "open": row["resolved_at"] is None,
        "detected_at": row["detected_at"],
        "first_run_id": row["first_run_id"],
        "resolved_at": row["resolved_at"],
    }


def _conflicts(conn: Connection, student_id: int) -> list[dict[str, Any]]:
    """The student's conflicts, open and resolved, newest first."""
    c = schema.conflict
    stmt = select(c).where(c.c.student_id == student_id).order_by(c.c.detected_at.desc())
    return [_conflict_entry(row) for row in conn.execute(stmt).mappings()]


def _rejections(conn: Connection, student_id: int) -> list[dict[str, Any]]:
    """Stored rejections of this id, newest first.

    They are stored under the legacy id as written (``00029``): narrow by the digits in SQL,
    then keep the ids whose key is this student's.
    """
    r = schema.rejection
    stmt = (
        select(r)
        .where(r.c.legacy_id.contains(str(student_id), autoescape=True))
        .order_by(r.c.last_seen_at.desc())
    )
    return [
        {k: row[k] for k in REJECTION_COLUMNS}
        for row in conn.execute(stmt).mappings()
        if legacy_key(row["legacy_id"]) == str(student_id)
    ]


def _sponsorships(conn: Connection, student_id: int) -> list[dict[str, Any]]:
    """The student's sponsorship periods in the SIS, latest start first."""
    ss, sp, prof = schema.sponsored_student, schema.sponsor, schema.student_profile
    stmt = (
        select(sp.c.code, ss.c.start_date, ss.c.end_date, ss.c.sponsorship_type)
        .select_from(
            ss.join(sp, sp.c.id == ss.c.sponsor_id).join(prof, prof.c.id == ss.c.student_id)
        )
        .where(prof.c.student_id == student_id)
        .order_by(ss.c.start_date.desc(), sp.c.code)
    )
    return [dict(row) for row in conn.execute(stmt).mappings()]
