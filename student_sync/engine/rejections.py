"""Stored rejections for the people who fix them: `student-sync rejections` and Dagster.

Every run stores its rejected rows in ``student_sync_rejection`` (one row per legacy id + IPK,
first and last seen, how many runs saw it) and resolves them when the row goes through. This
module reads them back: the open ones (or, ``resolved``, what got fixed), filtered by reason,
by when they were last seen and by student-id range; a CSV for the registrar who corrects the
rows in the legacy system, with the legacy columns that caused each rejection (never the
legacy login or password columns, which the loader drops anyway); and a small overview
(top reasons, oldest open rejections) for the Dagster report asset. Statements are built
from ``schema``'s tables; the CLI and the assets only format what comes back.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Select, func, select

from student_sync.engine import schema
from student_sync.engine.apply import storable
from student_sync.engine.db import DatabaseUrls, make_engine
from student_sync.engine.errors import ConfigurationError
from student_sync.engine.extract import LegacySource, byte_order, ids_in_ranges
from student_sync.engine.migrations import check_sync_schema
from student_sync.engine.options import DEFAULT_TIMEZONE, IdRange, school_zone
from student_sync.engine.target import chunked, member_of

# The legacy columns behind each reason; the CSV always adds ``id`` and ``name`` so the row can
# be found. A reason not listed (a newer one) gets just those two.
REASON_COLUMNS: dict[str, tuple[str, ...]] = {
    "MISSING_ID": ("id",),
    "INVALID_ID": ("id",),
    "DUPLICATE_ID": ("id",),
    "INVALID_IPK": ("ipk",),
    "MISSING_NAME": ("name",),
    "INVALID_NAME": ("name",),
    "EXISTS": ("id",),
    "NOT_FOUND": ("id",),
    "DUPLICATE_SCHOOL_EMAIL": ("school_email",),
}
IDENTIFYING_COLUMNS: tuple[str, ...] = ("id", "name")
CSV_LEGACY_COLUMNS: tuple[str, ...] = ("id", "name", "ipk", "school_email")
CSV_HEADER: tuple[str, ...] = (
    "reason",
    "student_id",
    "ipk",
    "detail",
    "first_seen",
    "last_seen",
    "runs_seen",
    "resolved",
    "cause_columns",
    *(f"legacy_{c}" for c in CSV_LEGACY_COLUMNS),
)


@dataclass(frozen=True)
class RejectionQuery:
    """Which stored rejections to read. ``since`` is an aware moment: open rejections last
    seen at or after it, or (``resolved``) rejections resolved at or after it."""

    reasons: tuple[str, ...] = ()
    since: datetime | None = None
    id_ranges: tuple[IdRange, ...] = ()
    resolved: bool = False


@dataclass(frozen=True)
class StoredRejection:
    reason: str
    student_id: str  # exactly as in the legacy row
    ipk: str
    detail: str
    first_seen_at: datetime
    last_seen_at: datetime
    runs_seen: int
    resolved_at: datetime | None


@dataclass(frozen=True)
class RejectionOverview:
    """Open rejections at a glance: how many, the top reasons, the oldest ones."""

    open_total: int
    top_reasons: list[tuple[str, int]]
    oldest: list[StoredRejection]


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back the stored UTC moment without its zone."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _from_row(row: Any) -> StoredRejection:
    return StoredRejection(
        reason=row.reason,
        student_id=row.legacy_id,
        ipk=row.ipk,
        detail=row.detail,
        first_seen_at=_aware(row.first_seen_at),  # type: ignore[arg-type]
        last_seen_at=_aware(row.last_seen_at),  # type: ignore[arg-type]
        runs_seen=row.seen_count,
        resolved_at=_aware(row.resolved_at),
    )


def rejections_statement(query: RejectionQuery, dialect: str) -> Select:
    """Open rejections by reason then student id; resolved ones most recently fixed first."""
    t = schema.rejection
    stmt = select(t)
    if query.resolved:
        stmt = stmt.where(t.c.resolved_at.is_not(None))
        when = t.c.resolved_at
    else:
        stmt = stmt.where(t.c.resolved_at.is_(None))
        when = t.c.last_seen_at
    if query.reasons:
        stmt = stmt.where(t.c.reason.in_(query.reasons))
    if query.since is not None:
        stmt = stmt.where(when >= query.since.astimezone(UTC))
    if query.id_ranges:
        stmt = stmt.where(ids_in_ranges(t.c.legacy_id, query.id_ranges, dialect))
    by_id = (func.length(t.c.legacy_id), byte_order(t.c.legacy_id, dialect))
    if query.resolved:
        return stmt.order_by(t.c.resolved_at.desc(), t.c.reason, *by_id)
    return stmt.order_by(t.c.reason, *by_id)


@contextmanager
def _sync_connection(url: str) -> Iterator[Connection]:
    """A connection to the SIS database whose sync tables are at head (else exit-2 advice)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            outdated = check_sync_schema(conn)
            if outdated:
                raise ConfigurationError(outdated)
            yield conn
    finally:
        engine.dispose()


def list_rejections(urls: DatabaseUrls, query: RejectionQuery) -> list[StoredRejection]:
    with _sync_connection(urls.sis) as conn:
        return read_rejections(conn, query)


def read_rejections(conn: Connection, query: RejectionQuery) -> list[StoredRejection]:
    stmt = rejections_statement(query, conn.dialect.name)
    return [_from_row(row) for row in conn.execute(stmt)]


def rejection_overview(conn: Connection, *, top: int = 5, oldest: int = 5) -> RejectionOverview:
    t = schema.rejection
    is_open = t.c.resolved_at.is_(None)
    count = func.count().label("n")
    reasons = conn.execute(
        select(t.c.reason, count)
        .where(is_open)
        .group_by(t.c.reason)
        .order_by(count.desc(), t.c.reason)
    ).all()
    first = conn.execute(
        select(t)
        .where(is_open)
        .order_by(t.c.first_seen_at, t.c.reason, t.c.legacy_id)
        .limit(oldest)
    )
    return RejectionOverview(
        open_total=sum(n for _, n in reasons),
        top_reasons=[(reason, n) for reason, n in reasons[:top]],
        oldest=[_from_row(row) for row in first],
    )


def overview_markdown(overview: RejectionOverview, *, timezone: str = DEFAULT_TIMEZONE) -> str:
    """The overview as two small Markdown tables (Dagster shows Markdown metadata)."""
    if overview.open_total == 0:
        return "No open rejections."
    lines = [
        f"**{overview.open_total:,} open rejection(s)**",
        "",
        "| reason | open |",
        "|---|---:|",
        *(f"| {reason} | {n:,} |" for reason, n in overview.top_reasons),
        "",
        "Oldest open:",
        "",
        "| student id | reason | first seen | runs |",
        "|---|---|---|---:|",
    ]
    for r in overview.oldest:
        shown = r.student_id.replace("|", "\\|") or "(empty)"
        lines.append(
            f"| `{shown}` | {r.reason} | {local_time(r.first_seen_at, timezone)} | {r.runs_seen} |"
        )
    return "\n".join(lines)


def open_rejections_markdown(urls: DatabaseUrls, *, timezone: str = DEFAULT_TIMEZONE) -> str:
    with _sync_connection(urls.sis) as conn:
        return overview_markdown(rejection_overview(conn), timezone=timezone)


def local_time(moment: datetime | None, timezone: str = DEFAULT_TIMEZONE) -> str:
    """A stored moment in the school's time zone, to the minute."""
    if moment is None:
        return ""
    return moment.astimezone(school_zone(timezone)).strftime("%Y-%m-%d %H:%M")


# --------------------------------------------------------------------------- CSV
LegacyValues = dict[tuple[str, str], dict[str, str | None]]


def legacy_values(conn: Connection, rejections: Iterable[StoredRejection]) -> LegacyValues:
    """The legacy rows behind the rejections, keyed as the rejection stores them (id, IPK)."""
    source = LegacySource.reflect(conn)
    raw_id = func.coalesce(source.text_of("id"), "")
    wanted = sorted({r.student_id for r in rejections})
    found: LegacyValues = {}
    for part in chunked(wanted):
        stmt = select(*(source.text_of(c).label(c) for c in CSV_LEGACY_COLUMNS)).where(
            member_of(conn, raw_id, part)
        )
        for row in conn.execute(stmt).mappings():
            key = (storable(row["id"] or "", 255), storable((row["ipk"] or "").strip(), 64))
            found.setdefault(key, dict(row))
    return found


def csv_rows(
    rejections: Iterable[StoredRejection],
    legacy: LegacyValues,
    *,
    timezone: str = DEFAULT_TIMEZONE,
) -> Iterator[tuple[str, ...]]:
    """One CSV record per rejection: the stored facts, then the legacy columns that matter
    (id and name to find the row, plus the column that caused it; blank when the row is gone)."""
    for r in rejections:
        causes = REASON_COLUMNS.get(r.reason, ())
        row = legacy.get((r.student_id, r.ipk), {})
        shown = (*IDENTIFYING_COLUMNS, *causes)
        yield (
            r.reason,
            r.student_id,
            r.ipk,
            r.detail,
            local_time(r.first_seen_at, timezone),
            local_time(r.last_seen_at, timezone),
            str(r.runs_seen),
            local_time(r.resolved_at, timezone),
            " ".join(causes),
            *((row.get(c) or "") if c in shown else "" for c in CSV_LEGACY_COLUMNS),
        )


def export_rejections_csv(
    urls: DatabaseUrls,
    query: RejectionQuery,
    path: Path,
    *,
    timezone: str = DEFAULT_TIMEZONE,
) -> list[StoredRejection]:
    """Write the CSV (UTF-8 with BOM, so spreadsheet programs show Khmer text) and return the
    rejections written. The legacy table may live in another database (``urls.legacy``)."""
    found = list_rejections(urls, query)
    engine: Engine = make_engine(urls.legacy)
    try:
        with engine.connect() as conn:
            legacy = legacy_values(conn, found)
    finally:
        engine.dispose()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_HEADER)
        writer.writerows(csv_rows(found, legacy, timezone=timezone))
    return found
