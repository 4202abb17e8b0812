"""The run ledger: one row per run that writes, and the reports read back from it.

A run opens its row as ``running`` and closes it ``completed``, ``failed`` or ``refused``;
a row still ``running`` when the next run takes the lock was killed, and is marked
``abandoned``. The report's trends and ``student-sync report`` read the completed rows.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Row, and_, case, func, select, update
from sqlalchemy.exc import DBAPIError, OperationalError

from student_sync.engine import schema
from student_sync.engine.db import make_engine
from student_sync.engine.errors import ReportUnavailable
from student_sync.engine.initialize import check_ready
from student_sync.engine.model import Counters
from student_sync.engine.options import SyncOptions
from student_sync.engine.report import RunSummary, write_report
from student_sync.engine.report_html import TREND_RUNS, TrendPoint, write_html_report


class Ledger:
    """The ledger row of one run: running -> completed / failed / refused.

    ``enabled`` is off for runs that write nothing (dry runs, plans): they leave no row.
    """

    def __init__(self, engine: Engine, run_id: str, enabled: bool = False) -> None:
        self.engine, self.run_id, self.enabled = engine, run_id, enabled

    def start(self, options: SyncOptions, started: datetime, database: str) -> None:
        if not self.enabled:
            return
        t = schema.run_ledger
        with self.engine.begin() as conn:
            # We hold the lock, so any run still marked running was killed.
            conn.execute(
                update(t)
                .where(t.c.status == "running")
                .values(
                    status="abandoned",
                    finished_at=started,
                    error="process ended without finishing (killed or crashed)",
                )
            )
            conn.execute(
                t.insert().values(
                    run_id=self.run_id,
                    started_at=started,
                    status="running",
                    mode=options.mode,
                    force_update=options.force_update,
                    parameters=json.dumps(options.to_dict(), default=str),
                    counts="{}",
                    database=database,
                    pid=os.getpid(),
                    host=socket.gethostname()[:255],
                )
            )

    def finish(self, status: str, counters: Counters, error: str | None = None) -> None:
        if not self.enabled:
            return
        t = schema.run_ledger
        with self.engine.begin() as conn:
            counts = counters.as_dict() | _rejection_counts(conn, self.run_id)
            conn.execute(
                update(t)
                .where(t.c.run_id == self.run_id)
                .values(
                    status=status,
                    finished_at=datetime.now(UTC),
                    counts=json.dumps(counts),
                    error=error,
                    success_rate=f"{counters.success_rate:.2f}",
                )
            )

    def finish_quietly(self, status: str, counters: Counters, error: str) -> None:
        """``finish`` after a failure: the database may be the thing that failed."""
        with contextlib.suppress(Exception):
            self.finish(status, counters, error)


def _rejection_counts(conn: Connection, run_id: str) -> dict[str, int]:
    """Rejections still open after the run and those it resolved, kept in the ledger's counts
    so the report's trends show them run by run (the rejection table keeps only its latest
    state)."""
    r = schema.rejection

    def count(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    still_open, resolved = conn.execute(
        select(
            count(r.c.resolved_at.is_(None)),
            count(and_(r.c.resolved_at.is_not(None), r.c.last_run_id == run_id)),
        )
    ).one()
    return {"rejections_open": int(still_open), "rejections_resolved": int(resolved)}


def recent_runs(
    conn: Connection, *, until: datetime | None = None, limit: int = TREND_RUNS
) -> list[TrendPoint]:
    """The last ``limit`` completed runs started at or before ``until``, oldest first."""
    t = schema.run_ledger
    query = select(t.c.run_id, t.c.started_at, t.c.finished_at, t.c.mode, t.c.counts).where(
        t.c.status == "completed"
    )
    if until is not None:
        query = query.where(t.c.started_at <= until)
    rows = conn.execute(query.order_by(t.c.started_at.desc()).limit(limit)).all()
    return [_trend_point(row) for row in reversed(rows)]


def _aware(moment: datetime) -> datetime:
    """SQLite hands timestamps back without their zone; the ledger writes them in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _trend_point(row: Row) -> TrendPoint:
    try:
        data = json.loads(row.counts or "{}")
    except ValueError:
        data = {}
    counters = Counters.from_dict(data)
    started = _aware(row.started_at)
    return TrendPoint(
        run_id=row.run_id,
        started_at=started,
        mode=row.mode,
        records_processed=counters.records_processed,
        success_rate=counters.success_rate,
        efficiency=counters.efficiency,
        rejected=counters.rejected,
        rejections_open=data.get("rejections_open"),
        rejections_resolved=data.get("rejections_resolved"),
        duration_seconds=(_aware(row.finished_at) - started).total_seconds()
        if row.finished_at
        else None,
    )


def _ledger_row(conn: Connection, run_id: str | None) -> Row:
    """The run ``run_id`` names (the whole id or a unique prefix), else the latest run with a
    report."""
    t = schema.run_ledger
    query = select(t.c.run_id, t.c.started_at, t.c.status, t.c.report_path)
    if run_id is None:
        query = query.where(t.c.report_path.is_not(None)).order_by(t.c.started_at.desc())
        row = conn.execute(query.limit(1)).first()
        if row is None:
            raise ReportUnavailable("the run ledger holds no run with a report yet")
        return row
    prefix = run_id.strip()
    rows = (
        conn.execute(query.where(t.c.run_id.startswith(prefix, autoescape=True)).limit(2)).all()
        if prefix
        else []
    )
    if not rows:
        raise ReportUnavailable(f"no run {run_id!r} in the run ledger")
    if len(rows) > 1:
        raise ReportUnavailable(f"{run_id!r} names more than one run: give more of the run id")
    return rows[0]


def render_run_report(engine: Engine, run_id: str | None = None) -> Path:
    """Write (again) the HTML page of an earlier run from its JSON report and the ledger.

    ``run_id`` None: the latest run with a report. Raises ReportUnavailable naming what is
    missing; dry runs have no ledger row, their page is written beside their JSON when they run.
    """
    with engine.connect() as conn:
        check_ready(conn)
        row = _ledger_row(conn, run_id)
        trends = recent_runs(conn, until=row.started_at)
    if not row.report_path:
        raise ReportUnavailable(
            f"run {row.run_id} ({row.status}) has no report: only finished runs write one"
        )
    path = Path(row.report_path)
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportUnavailable(f"the report of run {row.run_id} is no longer at {path}") from None
    except (OSError, ValueError) as exc:
        raise ReportUnavailable(f"cannot read the report {path}: {exc}") from None
    return write_html_report(path, report, trends)


def write_run_report(url: str, summary: RunSummary, reports_dir: Path, *, link: bool) -> Path:
    """The JSON report and its HTML page, with trends from the ledger; ``link``: record the
    report on the run's ledger row (not for dry runs, which have none). Returns the JSON path.

    Reading trends and linking are best effort: the report is written either way.
    """
    engine = make_engine(url)
    try:
        trends: list[TrendPoint] = []
        with contextlib.suppress(OperationalError, DBAPIError), engine.connect() as conn:
            trends = recent_runs(conn, until=summary.started_at)
        path = write_report(summary, reports_dir, trends)
        if link:
            t = schema.run_ledger
            with contextlib.suppress(OperationalError, DBAPIError), engine.begin() as conn:
                conn.execute(
                    update(t)
                    .where(t.c.run_id == summary.run_id)
                    .values(report_path=str(path.resolve()))
                )
    finally:
        engine.dispose()
    return path
