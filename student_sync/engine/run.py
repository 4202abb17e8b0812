"""The engine's entry point: the CLI and the Dagster assets both call ``run_sync``.

A run = lock, ledger row, plan page by page, apply batch by batch (one transaction each),
report. ``stage`` splits it for Dagster: ``plan`` persists the change set and writes
nothing to the database; ``apply`` applies a persisted change set.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.exc import DBAPIError, OperationalError

from student_sync import domain
from student_sync.engine import changelog, extract, schema, target
from student_sync.engine.apply import apply_batch
from student_sync.engine.changeset import ChangeSet
from student_sync.engine.db import (
    DatabaseUnavailable,
    DatabaseUrls,
    describe_url,
    make_engine,
    mask_text,
    mask_url,
    url_password,
)
from student_sync.engine.lock import LockLost, RunLock, run_lock
from student_sync.engine.model import Conflict, Counters, PlanBatch, Rejection
from student_sync.engine.options import (
    MASS_DELETE_THRESHOLD,
    DateWindow,
    IdRange,
    SyncOptions,
    school_zone,
    validate,
)
from student_sync.engine.plan import Planner, PreparedPage
from student_sync.engine.report import MAX_DETAILED_REJECTIONS, RunSummary, write_report
from student_sync.engine.setup import check_ready
from student_sync.engine.workers import auto_workers, open_transformer, prefetched

Stage = Literal["all", "plan", "apply"]
ProgressFn = Callable[[dict[str, Any]], None]


class SyncFailed(Exception):
    """The run started but could not finish; the message is already masked."""


class MassDeleteRefused(SyncFailed):
    """Too many students would vanish at once (a truncated or half-loaded legacy table)."""


class StaleChangeSet(SyncFailed):
    """The target changed between planning and applying a persisted change set."""


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


def mapping_version(sponsor_codes: dict[str, int]) -> str:
    """Rules version plus the sponsor catalogue: a new sponsor re-evaluates affected rows."""
    catalogue = hashlib.sha256(",".join(sorted(sponsor_codes)).encode()).hexdigest()[:8]
    return f"{domain.MAPPING_VERSION};sponsors-{catalogue}"


def options_to_dict(options: SyncOptions) -> dict[str, Any]:
    data = asdict(options)
    data["reports_dir"] = str(options.reports_dir)
    data["window"] = {
        "since": options.window.since.isoformat() if options.window.since else None,
        "until": options.window.until.isoformat() if options.window.until else None,
        "include_undated": options.window.include_undated,
    }
    data["id_ranges"] = [[r.start, r.end] for r in options.id_ranges]
    return data


def options_from_dict(data: dict[str, Any]) -> SyncOptions:
    w = data["window"]
    return SyncOptions(
        **{
            **data,
            "reports_dir": Path(data["reports_dir"]),
            "window": DateWindow(
                since=datetime.fromisoformat(w["since"]) if w["since"] else None,
                until=datetime.fromisoformat(w["until"]) if w["until"] else None,
                include_undated=w["include_undated"],
            ),
            "id_ranges": tuple(IdRange(a, b) for a, b in data["id_ranges"]),
        }
    )


@contextmanager
def _engines(urls: DatabaseUrls) -> Iterator[tuple[Engine, Engine]]:
    sis = make_engine(urls.sis)
    legacy = sis if urls.same_database else make_engine(urls.legacy)
    try:
        for engine, url in ((sis, urls.sis), (legacy, urls.legacy)):
            try:
                with engine.connect() as conn:
                    conn.execute(select(1))
            except (OperationalError, DBAPIError) as exc:
                reason = mask_text(
                    str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc),
                    url_password(url),
                )
                raise DatabaseUnavailable(
                    f"cannot connect to {describe_url(url)}: {reason}"
                ) from None
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
            conn.execute(
                update(t)
                .where(t.c.run_id == self.run_id)
                .values(
                    status=status,
                    finished_at=datetime.now(UTC),
                    counts=json.dumps(counters.as_dict()),
                    error=error,
                    success_rate=f"{counters.success_rate:.2f}",
                )
            )


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
    change_set_root: Path | None = None,
    change_set_id: str | None = None,
    progress: ProgressFn | None = None,
    now: datetime | None = None,
    write_report_file: bool = True,
) -> RunResult:
    """Run the sync (or one stage of it). Raises DatabaseUnavailable, LockHeld, SyncFailed."""
    options = validate(options)
    started = (now or datetime.now(UTC)).astimezone(UTC)
    run_id = str(uuid.uuid4())
    database = mask_url(urls.sis)
    counters = Counters()
    rejections: list[Rejection] = []
    conflicts: list[Conflict] = []  # reported by this run (first seen), for the report
    version = "?"
    writes = stage in ("all", "apply") and not options.dry_run
    change_set: ChangeSet | None = None
    status, error = "completed", None

    with _engines(urls) as (sis, legacy), run_lock(sis, what=describe_url(urls.sis)) as lock:
        with sis.connect() as conn:
            check_ready(conn)
            sponsors = target.sponsor_ids(conn)
        version = mapping_version(sponsors)
        today = started.astimezone(school_zone(options.timezone)).date()
        ledger = _Ledger(sis, run_id, enabled=writes)
        try:
            if stage == "apply":
                assert change_set_root and change_set_id, "apply needs a change set"
                change_set = ChangeSet.open(change_set_root, change_set_id)
                header = change_set.header()
                options = options_from_dict(header["options"])
                writes = not options.dry_run
                ledger.enabled = writes
                version, today = header["mapping_version"], date.fromisoformat(header["today"])
                _restore_counters(counters, header["counters"])
                rejections = [Rejection(**r) for r in header["rejections"]]
                conflicts = [Conflict(**c) for c in header.get("conflicts", [])]
                if header["state_token"] != _state_token(sis):
                    raise StaleChangeSet(
                        "the target changed since this change set was planned; plan again"
                    )
                ledger.start(options, started, database)
                batches: Iterator[PlanBatch] = change_set.batches()
                # The plan's counters are final already: progress counts applied batches.
                on_batch = _applied_progress(progress, total=counters.records_processed)
            else:
                ledger.start(options, started, database)
                if stage == "plan":
                    assert change_set_root is not None, "plan needs a change-set folder"
                    change_set = ChangeSet.create(change_set_root)
                    token = _state_token(sis)
                batches = _plan(
                    sis, legacy, options, version, sponsors, today, counters, rejections,
                    applied_as_planned=writes, conflicts=conflicts,
                )
                # Planning fills the counters as batches are yielded: read them per batch.
                on_batch = partial(_report_progress, progress, counters)
            if stage == "plan":
                assert change_set is not None
                for batch in batches:
                    change_set.write_batch(batch)
                    on_batch(batch)
                change_set.write_header(
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
                    }
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
        except (OperationalError, DBAPIError) as exc:
            status = "failed"
            error = mask_text(
                f"database error: {str(exc.orig or exc).strip()}",
                url_password(urls.sis),
                url_password(urls.legacy),
            )
            _finish_quietly(ledger, status, counters, error)
            raise SyncFailed(
                f"{error.splitlines()[0]}; committed batches stay applied, rerun to converge"
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
    report_path = None
    if write_report_file and stage != "plan":
        report_path = write_report(summary, options.reports_dir)
        if writes:
            _record_report_path(urls.sis, run_id, report_path)
    return RunResult(
        summary=summary,
        report_path=report_path,
        change_set_id=change_set.change_set_id if change_set else None,
    )


def _record_report_path(url: str, run_id: str, path: Path) -> None:
    """Link the ledger row to its report; best effort (the report file exists either way)."""
    engine = make_engine(url)
    t = schema.run_ledger
    try:
        with contextlib.suppress(OperationalError, DBAPIError), engine.begin() as conn:
            conn.execute(
                update(t).where(t.c.run_id == run_id).values(report_path=str(path.resolve()))
            )
    finally:
        engine.dispose()


def _finish_quietly(ledger: _Ledger, status: str, counters: Counters, error: str) -> None:
    with contextlib.suppress(Exception):  # the database may be the thing that failed
        ledger.finish(status, counters, error)


def _restore_counters(counters: Counters, data: dict[str, Any]) -> None:
    counters.total_legacy_records = data["total_legacy_records"]
    counters.records_processed = data["records_processed"]
    counters.vanished, counters.batches = data["vanished"], data["batches"]
    counters.conflicts = data.get("conflicts", 0)
    for name in (
        "classes",
        "persons",
        "students",
        "emergency_contacts",
        "sponsorships",
        "rejections",
        "warnings",
    ):
        setattr(counters, name, Counter(data[name]))


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
    )
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
) -> None:
    for batch in batches:
        if writes and (batch.students or batch.rejections or batch.vanished):
            with sis.begin() as conn:
                apply_batch(
                    conn, batch, run_id=run_id, now=started, today=today, mapping_version=version
                )
                if lock is not None:
                    lock.verify()  # commit only while this run still holds the lock
        on_batch(batch)
