"""The engine's entry point: the CLI and the Dagster assets both call ``run_sync``.

A run = lock, ledger row, plan page by page, apply batch by batch (one transaction each),
report. ``stage`` splits it for Dagster: ``plan`` persists the change set in the sync's
change-set tables (``engine.changeset``) and writes nothing else; ``apply`` applies a
persisted change set and records what it did beside it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Connection, Engine, Row, and_, case, func, select, update
from sqlalchemy.exc import DBAPIError, OperationalError

from student_sync import domain
from student_sync.engine import changelog, extract, schema, target
from student_sync.engine.apply import apply_batch
from student_sync.engine.changeset import ChangeSetStore
from student_sync.engine.db import (
    DatabaseUrls,
    connected_engine,
    describe_url,
    make_engine,
    mask_text,
    mask_url,
    url_password,
)
from student_sync.engine.errors import (
    DriverError,
    LockLost,
    MassDeleteRefused,
    ReportUnavailable,
    StaleChangeSet,
    SyncFailed,
    describe_db_error,
)
from student_sync.engine.initialize import check_ready
from student_sync.engine.lock import RunLock, run_lock
from student_sync.engine.model import Conflict, Counters, PlanBatch, Rejection
from student_sync.engine.options import (
    MASS_DELETE_THRESHOLD,
    SyncOptions,
    options_from_dict,
    options_to_dict,
    school_zone,
    validate,
)
from student_sync.engine.plan import Planner, PreparedPage
from student_sync.engine.report import MAX_DETAILED_REJECTIONS, RunSummary, write_report
from student_sync.engine.report_html import TREND_RUNS, TrendPoint, write_html_report
from student_sync.engine.sis import SisSchema
from student_sync.engine.workers import auto_workers, open_transformer, prefetched

Stage = Literal["all", "plan", "apply"]
ProgressFn = Callable[[dict[str, Any]], None]


@dataclass
class RunResult:
    summary: RunSummary
    report_path: Path | None = None
    change_set_id: str | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def counters(self) -> Counters:
        return self.summary.counters

    @property
    def exit_code(self) -> int:
        ok = self.summary.status == "completed" and self.summary.success_rate >= 90.0
        return 0 if ok else 1


def mapping_version(sponsor_codes: dict[str, int], sis: SisSchema | None = None) -> str:
    """Rules version plus the sponsor catalogue plus what of the SIS schema shapes the values
    written (contact table, column lengths): a change to either re-evaluates the rows."""
    catalogue = hashlib.sha256(",".join(sorted(sponsor_codes)).encode()).hexdigest()[:8]
    version = f"{domain.MAPPING_VERSION};sponsors-{catalogue}"
    return f"{version};sis-{sis.tag()}" if sis is not None else version


@contextmanager
def _engines(urls: DatabaseUrls) -> Iterator[tuple[Engine, Engine]]:
    sis = connected_engine(urls.sis)
    try:
        legacy = sis if urls.same_database else connected_engine(urls.legacy)
    except BaseException:
        sis.dispose()
        raise
    try:
        yield sis, legacy
    finally:
        sis.dispose()
        if legacy is not sis:
            legacy.dispose()


class _Ledger:
    """The run ledger row: running -> completed / failed / refused; stale rows -> abandoned."""

    def __init__(self, engine: Engine, run_id: str, enabled: bool) -> None:
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
                    parameters=json.dumps(options_to_dict(options), default=str),
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
    counters = Counters(records_processed=int(data.get("records_processed") or 0))
    counters.classes.update(data.get("classes") or {})
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


def _state_token(engine: Engine) -> str:
    """Changes whenever any run wrote sync state: guards a persisted plan against staleness."""
    t = schema.sync_state
    with engine.connect() as conn:
        count, latest = conn.execute(select(func.count(), func.max(t.c.updated_at))).one()
    return f"{count}:{latest}"


def _find_vanished(
    sis: Engine, legacy: Engine, legacy_conn: Any, source: Any, options: SyncOptions
) -> list:
    """Students the target has but the legacy table lost, guarded against mass deletes.

    With state and legacy in one database this is an anti-join: only the vanished rows
    leave the database, so memory does not grow with the table.
    """
    with sis.connect() as conn:
        active = target.count_active_in_ranges(conn, options.id_ranges)
        if not active:
            return []
        if sis is legacy:
            vanished = target.vanished_states(
                conn, options.id_ranges, lambda key: extract.holds_key(source, key)
            )
        else:
            present = extract.present_keys(legacy_conn, source, options.id_ranges)
            vanished = [
                s
                for s in target.active_states_in_ranges(conn, options.id_ranges)
                if s.legacy_key not in present
            ]
    if (
        vanished
        and len(vanished) > MASS_DELETE_THRESHOLD * active
        and not options.allow_mass_delete
    ):
        scope = ",".join(str(r) for r in options.id_ranges) or "the whole table"
        raise MassDeleteRefused(
            f"refusing to soft-delete {len(vanished)} of {active} students ({scope}) "
            f"that are no longer in the legacy table (over {MASS_DELETE_THRESHOLD:.0%}); "
            "check the legacy load, then rerun with --allow-mass-delete if it is intended"
        )
    return vanished


def run_sync(
    urls: DatabaseUrls,
    options: SyncOptions,
    *,
    stage: Stage = "all",
    change_set_scope: str = "",
    change_set_id: str | None = None,
    prune_change_sets_after: timedelta | None = None,
    progress: ProgressFn | None = None,
    now: datetime | None = None,
    write_report_file: bool = True,
) -> RunResult:
    """Run the sync (or one stage of it). Raises DatabaseUnavailable, LockHeld, SyncFailed.

    ``stage="plan"`` stores the change set under ``change_set_scope`` (the caller's name for
    the slice) and first deletes change sets older than ``prune_change_sets_after``;
    ``stage="apply"`` applies ``change_set_id`` and stores its summary beside it.
    """
    options = validate(options)
    started = (now or datetime.now(UTC)).astimezone(UTC)
    run_id = str(uuid.uuid4())
    database = mask_url(urls.sis)
    counters = Counters()
    rejections: list[Rejection] = []
    conflicts: list[Conflict] = []  # reported by this run (first seen), for the report
    version = "?"
    writes = stage in ("all", "apply") and not options.dry_run
    change_set_id_out: str | None = None
    status, error = "completed", None

    with _engines(urls) as (sis, legacy), run_lock(sis, what=describe_url(urls.sis)) as lock:
        with sis.connect() as conn:
            sis_schema = check_ready(conn)  # reflected once: every page and batch uses it
            sponsors = target.sponsor_ids(conn)
        version = mapping_version(sponsors, sis_schema)
        today = started.astimezone(school_zone(options.timezone)).date()
        ledger = _Ledger(sis, run_id, enabled=writes)
        try:
            if stage == "apply":
                if not change_set_id:
                    raise ValueError("the apply stage needs a change_set_id")
                store = ChangeSetStore(sis)
                header = store.header(change_set_id)
                change_set_id_out = change_set_id
                options = options_from_dict(header["options"])
                writes = not options.dry_run
                ledger.enabled = writes
                version, today = header["mapping_version"], date.fromisoformat(header["today"])
                counters = Counters.from_dict(header["counters"])
                rejections = [Rejection(**r) for r in header["rejections"]]
                conflicts = [Conflict(**c) for c in header.get("conflicts", [])]
                if header["state_token"] != _state_token(sis):
                    raise StaleChangeSet(
                        "the target changed since this change set was planned; plan again"
                    )
                ledger.start(options, started, database)
                batches: Iterator[PlanBatch] = store.batches(change_set_id)
                # The plan's counters are final already: progress counts applied batches.
                on_batch = _applied_progress(progress, total=counters.records_processed)
            else:
                ledger.start(options, started, database)
                if stage == "plan":
                    store = ChangeSetStore(sis)
                    if prune_change_sets_after is not None:
                        store.prune(prune_change_sets_after)
                    change_set_id_out = store.create(change_set_scope)
                    token = _state_token(sis)
                batches = _plan(
                    sis,
                    legacy,
                    options,
                    version,
                    sponsors,
                    today,
                    counters,
                    rejections,
                    applied_as_planned=writes,
                    sis_schema=sis_schema,
                    conflicts=conflicts,
                )
                # Planning fills the counters as batches are yielded: read them per batch.
                on_batch = partial(_report_progress, progress, counters)
            if stage == "plan":
                assert change_set_id_out is not None
                for batch in batches:
                    store.write_batch(change_set_id_out, batch)
                    on_batch(batch)
                store.finish(
                    change_set_id_out,
                    {
                        "options": options_to_dict(options),
                        "mapping_version": version,
                        "today": today.isoformat(),
                        "state_token": token,
                        "counters": counters.as_dict(),
                        "rejections": [asdict(r) for r in rejections],
                        "conflicts": [asdict(c) for c in conflicts],
                        "planned_at": started.isoformat(),
                        "database": database,
                    },
                )
            else:
                _apply_all(
                    sis,
                    batches,
                    writes=writes,
                    run_id=run_id,
                    started=started,
                    today=today,
                    version=version,
                    on_batch=on_batch,
                    lock=lock,
                    sis_schema=sis_schema,
                )
                with sis.begin() as conn:  # prune the change log; count open conflicts
                    counters.open_conflicts = changelog.finish_run(
                        conn, now=started, keep_days=options.change_log_days, prune=writes
                    )
        except MassDeleteRefused as exc:
            status, error = "refused", str(exc)
            ledger.finish(status, counters, error)
            raise
        except LockLost as exc:
            status, error = "failed", str(exc)
            _finish_quietly(ledger, status, counters, error)
            raise SyncFailed(error) from None
        except (OperationalError, DBAPIError, *DriverError) as exc:
            # One line naming the table, column or constraint: never the row (PostgreSQL's
            # DETAIL and CONTEXT quote its values), never the statement's parameters.
            status = "failed"
            error = mask_text(
                f"database error: {describe_db_error(exc)}",
                url_password(urls.sis),
                url_password(urls.legacy),
            )
            _finish_quietly(ledger, status, counters, error)
            raise SyncFailed(
                f"{error}; committed batches stay applied, rerun to converge"
            ) from None
        except BaseException as exc:
            status = "failed"
            error = mask_text(
                f"{type(exc).__name__}: {exc}", url_password(urls.sis), url_password(urls.legacy)
            )
            _finish_quietly(ledger, status, counters, error)
            raise
        ledger.finish(status, counters, error)

    summary = RunSummary(
        run_id=run_id,
        options=options,
        counters=counters,
        started_at=started,
        finished_at=datetime.now(UTC),
        mapping_version=version,
        database=database,
        rejections=rejections,
        status=status,
        error=error,
        conflicts=conflicts,
    )
    if stage == "apply" and change_set_id_out is not None:
        _record_applied(urls.sis, change_set_id_out, summary)
    report_path = None
    if write_report_file and stage != "plan":
        report_path = write_run_report(urls.sis, summary, options.reports_dir, link=writes)
    return RunResult(
        summary=summary,
        report_path=report_path,
        change_set_id=change_set_id_out,
    )


def _record_applied(url: str, change_set_id: str, summary: RunSummary) -> None:
    """What the apply did, beside its change set: the report and the checks read it later."""
    engine = make_engine(url)
    try:
        ChangeSetStore(engine).record_applied(change_set_id, summary)
    finally:
        engine.dispose()


def _finish_quietly(ledger: _Ledger, status: str, counters: Counters, error: str) -> None:
    with contextlib.suppress(Exception):  # the database may be the thing that failed
        ledger.finish(status, counters, error)


def _plan(
    sis: Engine,
    legacy: Engine,
    options: SyncOptions,
    version: str,
    sponsors: dict[str, int],
    today: date,
    counters: Counters,
    rejections: list[Rejection],
    *,
    applied_as_planned: bool,
    sis_schema: SisSchema | None = None,
    conflicts: list[Conflict] | None = None,
) -> Iterator[PlanBatch]:
    """Planned batches in student-id order; counters are filled as batches are yielded.

    ``applied_as_planned``: the caller commits each batch before asking for the next.
    """
    with legacy.connect() as legacy_conn:
        source = extract.LegacySource.reflect(legacy_conn)
    if not options.dry_run:
        extract.ensure_keyset_index(legacy, source)
    with legacy.connect() as legacy_conn:
        counters.total_legacy_records = extract.count_slice(legacy_conn, source, options)
        duplicates = extract.duplicate_keys(legacy_conn, source)
        vanished = (
            _find_vanished(sis, legacy, legacy_conn, source, options)
            if options.is_full_scan
            else []
        )
    planner = Planner(
        options=options,
        mapping_version=version,
        sponsor_ids=sponsors,
        today=today,
        duplicate_keys=duplicates,
        claims_committed_per_page=applied_as_planned,
        sis=sis_schema,
    )
    with sis.connect() as conn:
        planner.state_empty_at_start = not target.has_sync_state(conn)
    skip = _skip_in_database(sis, legacy, options, version, duplicates)
    workers = (
        options.workers
        if options.workers is not None
        else auto_workers(counters.total_legacy_records)
    )

    def planned(page: PreparedPage) -> Iterator[PlanBatch]:
        with sis.connect() as conn:  # a fresh snapshot per page (earlier batches committed)
            batches = list(planner.finish(conn, page))
        for batch in batches:
            counters.add_plan(batch)
            room = MAX_DETAILED_REJECTIONS - len(rejections)
            rejections.extend(batch.rejections[: max(room, 0)])
            if conflicts is not None:
                found = changelog.reported_conflicts(batch)
                conflicts.extend(found[: max(MAX_DETAILED_REJECTIONS - len(conflicts), 0)])
            yield batch

    def read_pages() -> Iterator[list[dict[str, Any]]]:
        with _quiet_connection(legacy) as legacy_conn:  # held across pages: see below
            yield from extract.iter_legacy_pages(legacy_conn, source, options, skip)

    with (
        open_transformer(workers, sponsors, version) as planner.transformer,
        prefetched(read_pages, name="student-sync-read") as pages,
    ):
        # Pages ahead: a thread reads page k+2 while page k+1, read and handed to the
        # transformer, waits for page k to be planned and written; worker processes
        # normalize meanwhile. Rows are independent: no page depends on an earlier one's
        # writes but through the email claims, which ``Planner.finish`` keeps in order.
        ahead: deque[PreparedPage] = deque()
        read = 0
        for page in pages:
            read += len(page)
            with sis.connect() as conn:
                ahead.append(planner.prepare(conn, page))
            del page  # only its prepared, slimmer form waits while page k is written
            if len(ahead) > 1:
                yield from planned(ahead.popleft())
        while ahead:
            yield from planned(ahead.popleft())
    if skip is not None:
        # A full scan reads every row of the slice but those ``skip`` left in the database:
        # the rest of the count is theirs (no second pass over the table to count them).
        counters.add_unchanged(max(counters.total_legacy_records - read, 0))
    for batch in planner.vanished_batches(vanished):
        counters.add_plan(batch)
        yield batch


def _skip_in_database(
    sis: Engine, legacy: Engine, options: SyncOptions, version: str, duplicates: set[str]
) -> extract.SkipUnchanged | None:
    """Unchanged rows can stay in the database when state and legacy rows share it.

    Only for plain full scans: --limit, a date window, --force-update and create-only all
    need to see every selected row.
    """
    if (
        sis is not legacy
        or not options.is_full_scan
        or options.force_update
        or options.mode == "create-only"
        or len(duplicates) > 1000
    ):
        return None
    return extract.SkipUnchanged(mapping_version=version, exclude_keys=frozenset(duplicates))


@contextmanager
def _quiet_connection(engine: Engine) -> Iterator[Connection]:
    """A connection whose close never raises.

    The planner's legacy connection stays open while batches are applied; when the database
    goes away mid-run, closing it (often from generator finalization) cannot roll back and
    would print a second traceback after the run's one clear error.
    """
    conn = engine.connect()
    try:
        yield conn
    finally:
        with contextlib.suppress(OperationalError, DBAPIError):
            conn.close()


def _report_progress(progress: ProgressFn | None, counters: Counters, batch: PlanBatch) -> None:
    if progress is not None:
        progress(
            {
                "batch": batch.number,
                "processed": counters.records_processed,
                "total": counters.total_legacy_records,
            }
        )


def _applied_progress(progress: ProgressFn | None, *, total: int) -> Callable[[PlanBatch], None]:
    """Progress for applying a persisted change set: rows of the batches applied so far."""
    done = 0

    def report(batch: PlanBatch) -> None:
        nonlocal done
        done += batch.size
        if progress is not None:
            progress({"batch": batch.number, "processed": done, "total": total})

    return report


def _apply_all(
    sis: Engine,
    batches: Iterator[PlanBatch],
    *,
    writes: bool,
    run_id: str,
    started: datetime,
    today: date,
    version: str,
    on_batch: Callable[[PlanBatch], None],
    lock: RunLock | None = None,
    sis_schema: SisSchema | None = None,
) -> None:
    for batch in batches:
        if writes and (batch.students or batch.rejections or batch.vanished):
            with sis.begin() as conn:
                apply_batch(
                    conn,
                    batch,
                    run_id=run_id,
                    now=started,
                    today=today,
                    mapping_version=version,
                    sis=sis_schema,
                )
                if lock is not None:
                    lock.verify()  # commit only while this run still holds the lock
        on_batch(batch)
