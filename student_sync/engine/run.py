"""The engine's entry points: a whole run, or its two halves for Dagster.

``sync`` plans and applies in one pass (the CLI's ``migrate``, the Django command, the weekly
full refresh). Dagster splits it: ``plan_change_set`` persists the plan in the sync's
change-set tables (``engine.changeset``) and writes nothing else; ``apply_change_set`` applies
a persisted plan and records what it did beside it.

A run = lock, ledger row, plan page by page, apply batch by batch (one transaction each),
report. What every stage shares (engines, lock, readiness, sponsors, mapping version, the
ledger row and the one mapping of failures to the engine's errors) is ``_running``.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, func, select
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
    ConfigurationError,
    DriverError,
    LockLost,
    MassDeleteRefused,
    StaleChangeSet,
    SyncFailed,
    describe_db_error,
)
from student_sync.engine.initialize import check_ready
from student_sync.engine.ledger import Ledger, write_run_report
from student_sync.engine.lock import RunLock, run_lock
from student_sync.engine.model import Conflict, Counters, PlanBatch, Rejection
from student_sync.engine.options import MASS_DELETE_THRESHOLD, SyncOptions, school_zone, validate
from student_sync.engine.plan import Planner, PreparedPage
from student_sync.engine.report import MAX_DETAILED_REJECTIONS, RunSummary
from student_sync.engine.sis import SisSchema
from student_sync.engine.workers import auto_workers, open_transformer, prefetched

ProgressFn = Callable[[dict[str, Any]], None]


@dataclass
class RunResult:
    """What a stage gives back: the run's summary, its report (if written), its change set."""

    summary: RunSummary
    report_path: Path | None = None
    change_set_id: str | None = None

    @property
    def counters(self) -> Counters:
        return self.summary.counters


# --------------------------------------------------------------------------- the stages
def sync(
    urls: DatabaseUrls,
    options: SyncOptions,
    *,
    progress: ProgressFn | None = None,
    now: datetime | None = None,
    write_report_file: bool = True,
) -> RunResult:
    """Plan and apply in one pass, each batch committed before the next is planned.

    Raises ConfigurationError, DatabaseUnavailable, LockHeld, SyncFailed (MassDeleteRefused
    among them).
    """
    options = validate(options)
    with _running(urls, now) as run:
        run.start(options, writes=not options.dry_run)
        batches = _plan(run, applied_as_planned=run.writes)
        # Planning fills the counters as batches are yielded: read them per batch.
        _apply_all(run, batches, on_batch=partial(_report_progress, progress, run.counters))
        _close_change_log(run)
    summary = run.summary()
    return RunResult(summary, report_path=_report(run, summary) if write_report_file else None)


def plan_change_set(
    urls: DatabaseUrls,
    options: SyncOptions,
    *,
    scope: str = "",
    prune_after: timedelta | None = None,
    progress: ProgressFn | None = None,
    now: datetime | None = None,
) -> RunResult:
    """Plan the slice and store it as a change set (its id in the result); write nothing else.

    ``scope``: the caller's name for the slice (``latest_change_set`` finds it by it);
    ``prune_after``: first delete the change sets planned longer ago than this.
    """
    options = validate(options)
    with _running(urls, now) as run:
        run.start(options, writes=False)  # no ledger row: a plan writes no SIS row
        store = ChangeSetStore(run.sis)
        if prune_after is not None:
            store.prune(prune_after)
        change_set_id = store.create(scope)
        token = _state_token(run.sis)
        for batch in _plan(run, applied_as_planned=False):
            store.write_batch(change_set_id, batch)
            _report_progress(progress, run.counters, batch)
        store.finish(change_set_id, run.change_set_header(token))
    return RunResult(run.summary(), change_set_id=change_set_id)


def apply_change_set(
    urls: DatabaseUrls,
    change_set_id: str,
    *,
    progress: ProgressFn | None = None,
    now: datetime | None = None,
    write_report_file: bool = True,
) -> RunResult:
    """Apply a stored change set with the options it was planned with; store what it did
    beside it. Raises StaleChangeSet when the target changed since it was planned."""
    if not change_set_id:
        raise ConfigurationError("applying a change set needs its id (none given)")
    with _running(urls, now) as run:
        store = ChangeSetStore(run.sis)
        run.resume(store.header(change_set_id))
        # The plan's counters are final already: progress counts applied batches.
        on_batch = _applied_progress(progress, total=run.counters.records_processed)
        _apply_all(run, store.batches(change_set_id), on_batch=on_batch)
        _close_change_log(run)
    summary = run.summary()
    _record_applied(urls.sis, change_set_id, summary)
    report_path = _report(run, summary) if write_report_file else None
    return RunResult(summary, report_path=report_path, change_set_id=change_set_id)


# --------------------------------------------------------------------------- the run context
@dataclass
class _Run:
    """What the steps of one run share. ``start`` (or ``resume``) gives it its options; the
    steps fill its counters, rejections and conflicts; ``summary`` is its outcome."""

    urls: DatabaseUrls
    sis: Engine
    legacy: Engine
    lock: RunLock
    sis_schema: SisSchema  # reflected once: every page and batch uses it
    sponsors: dict[str, int]
    started: datetime
    run_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    version: str = ""  # the mapping version: see ``mapping_version``
    options: SyncOptions = field(default_factory=SyncOptions)
    today: date = field(default_factory=date.today)  # the school's day the run started on
    writes: bool = False  # applies batches and keeps a ledger row (not a dry run, not a plan)
    counters: Counters = field(default_factory=Counters)
    rejections: list[Rejection] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)  # reported (first seen) this run
    ledger: Ledger = field(init=False)

    def __post_init__(self) -> None:
        self.version = self.version or mapping_version(self.sponsors, self.sis_schema)
        self.ledger = Ledger(self.sis, self.run_id)

    @property
    def database(self) -> str:
        return mask_url(self.urls.sis)

    def masked(self, text: str) -> str:
        return mask_text(text, url_password(self.urls.sis), url_password(self.urls.legacy))

    def start(self, options: SyncOptions, *, writes: bool, today: date | None = None) -> None:
        """Take the run's options and open its ledger row (only a run that writes has one)."""
        self.options, self.writes = options, writes
        self.today = today or self.started.astimezone(school_zone(options.timezone)).date()
        self.ledger.enabled = writes
        self.ledger.start(options, self.started, self.database)

    def resume(self, header: dict[str, Any]) -> None:
        """Take over a stored plan: its options, mapping version, day and final counts."""
        if header["state_token"] != _state_token(self.sis):
            raise StaleChangeSet("the target changed since this change set was planned; plan again")
        self.version = header["mapping_version"]
        self.counters = Counters.from_dict(header["counters"])
        self.rejections = [Rejection(**r) for r in header["rejections"]]
        self.conflicts = [Conflict(**c) for c in header.get("conflicts", [])]
        options = SyncOptions.from_dict(header["options"])
        self.start(options, writes=not options.dry_run, today=date.fromisoformat(header["today"]))

    def change_set_header(self, state_token: str) -> dict[str, Any]:
        """What ``resume`` takes over, stored with the planned batches."""
        return {
            "options": self.options.to_dict(),
            "mapping_version": self.version,
            "today": self.today.isoformat(),
            "state_token": state_token,
            "counters": self.counters.as_dict(),
            "rejections": [asdict(r) for r in self.rejections],
            "conflicts": [asdict(c) for c in self.conflicts],
            "planned_at": self.started.isoformat(),
            "database": self.database,
        }

    def tally(self, batch: PlanBatch) -> None:
        """Count a planned batch; keep its rejections and conflicts for the report (capped)."""
        self.counters.add_plan(batch)
        room = MAX_DETAILED_REJECTIONS - len(self.rejections)
        self.rejections.extend(batch.rejections[: max(room, 0)])
        found = changelog.reported_conflicts(batch)
        self.conflicts.extend(found[: max(MAX_DETAILED_REJECTIONS - len(self.conflicts), 0)])

    def summary(self) -> RunSummary:
        return RunSummary(
            run_id=self.run_id,
            options=self.options,
            counters=self.counters,
            started_at=self.started,
            finished_at=datetime.now(UTC),
            mapping_version=self.version,
            database=self.database,
            rejections=self.rejections,
            status="completed",
            conflicts=self.conflicts,
        )


@contextmanager
def _running(urls: DatabaseUrls, now: datetime | None) -> Iterator[_Run]:
    """One run of any stage: both engines, the run lock, the SIS reflected and checked, the
    sponsors read; on the way out the ledger row closed as the run ended (``_closing``)."""
    started = (now or datetime.now(UTC)).astimezone(UTC)
    with _engines(urls) as (sis, legacy), run_lock(sis, what=describe_url(urls.sis)) as lock:
        with sis.connect() as conn:
            sis_schema = check_ready(conn)
            sponsors = target.sponsor_ids(conn)
        run = _Run(
            urls=urls,
            sis=sis,
            legacy=legacy,
            lock=lock,
            sis_schema=sis_schema,
            sponsors=sponsors,
            started=started,
        )
        with _closing(run):
            yield run


@contextmanager
def _closing(run: _Run) -> Iterator[None]:
    """Close the ledger row the way the run ended, and turn a failure into the engine's error:
    a refusal stays itself; a lost lock or a database error becomes one masked SyncFailed
    line; anything else is recorded as failed and raised as it is."""
    try:
        yield
    except MassDeleteRefused as exc:
        run.ledger.finish("refused", run.counters, str(exc))
        raise
    except LockLost as exc:
        run.ledger.finish_quietly("failed", run.counters, str(exc))
        raise SyncFailed(str(exc)) from None
    except (OperationalError, DBAPIError, *DriverError) as exc:
        # One line naming the table, column or constraint: never the row (PostgreSQL's
        # DETAIL and CONTEXT quote its values), never the statement's parameters.
        error = run.masked(f"database error: {describe_db_error(exc)}")
        run.ledger.finish_quietly("failed", run.counters, error)
        raise SyncFailed(f"{error}; committed batches stay applied, rerun to converge") from None
    except BaseException as exc:
        error = run.masked(f"{type(exc).__name__}: {exc}")
        run.ledger.finish_quietly("failed", run.counters, error)
        raise
    run.ledger.finish("completed", run.counters)


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


def _state_token(engine: Engine) -> str:
    """Changes whenever any run wrote sync state: guards a persisted plan against staleness."""
    t = schema.sync_state
    with engine.connect() as conn:
        count, latest = conn.execute(select(func.count(), func.max(t.c.updated_at))).one()
    return f"{count}:{latest}"


def _report(run: _Run, summary: RunSummary) -> Path:
    """The JSON report and its page; linked from the ledger row when the run has one."""
    return write_run_report(run.urls.sis, summary, run.options.reports_dir, link=run.writes)


def _record_applied(url: str, change_set_id: str, summary: RunSummary) -> None:
    """What the apply did, beside its change set: the report and the checks read it later."""
    engine = make_engine(url)
    try:
        ChangeSetStore(engine).record_applied(change_set_id, summary)
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- planning
def _plan(run: _Run, *, applied_as_planned: bool) -> Iterator[PlanBatch]:
    """Planned batches in student-id order; the run's counters fill as batches are yielded.

    ``applied_as_planned``: the caller commits each batch before asking for the next.
    """
    source, duplicates, vanished = _prescan(run)
    planner = _planner(run, duplicates, applied_as_planned=applied_as_planned)
    skip = _skip_in_database(run.sis, run.legacy, run.options, run.version, duplicates)
    workers = run.options.workers
    if workers is None:
        workers = auto_workers(run.counters.total_legacy_records)

    def read_pages() -> Iterator[list[dict[str, Any]]]:
        with _quiet_connection(run.legacy) as legacy_conn:  # held across pages: see below
            yield from extract.iter_legacy_pages(legacy_conn, source, run.options, skip)

    read = 0
    with (
        open_transformer(workers, run.sponsors, run.version) as planner.transformer,
        _rare_full_collections(),  # after the workers' fork: they keep their own settings
        prefetched(read_pages, name="student-sync-read") as pages,
    ):
        # Pages ahead: a thread reads page k+2 while page k+1, read and handed to the
        # transformer, waits for page k to be planned and written; worker processes
        # normalize meanwhile. Rows are independent: no page depends on an earlier one's
        # writes but through the email claims, which ``Planner.finish`` keeps in order.
        ahead: deque[PreparedPage] = deque()
        for page in pages:
            read += len(page)
            with run.sis.connect() as conn:
                ahead.append(planner.prepare(conn, page))
            del page  # only its prepared, slimmer form waits while page k is written
            if len(ahead) > 1:
                yield from _planned(run, planner, ahead.popleft())
        while ahead:
            yield from _planned(run, planner, ahead.popleft())
        yield from _counted(run, planner.flush())
    if skip is not None:
        # A full scan reads every row of the slice but those ``skip`` left in the database:
        # the rest of the count is theirs (no second pass over the table to count them).
        run.counters.add_unchanged(max(run.counters.total_legacy_records - read, 0))
    for batch in planner.vanished_batches(vanished):
        run.counters.add_plan(batch)
        yield batch


# Full (oldest-generation) collections at most once per this many younger ones, while pages
# flow: each page's records outlive a few young collections and die by reference count, so
# the default (10) re-ran full collections of the whole heap ~14 times on a 50,000-student
# first load, 2.5 s of this process's ~14 s CPU; at 100 it ran once.
FULL_COLLECTION_EVERY = 100


@contextmanager
def _rare_full_collections() -> Iterator[None]:
    """Raise the garbage collector's oldest-generation threshold for the run's pages and
    restore it after (young collections, which free cycles soon, are left as they were)."""
    young, middle, old = gc.get_threshold()
    gc.set_threshold(young, middle, max(old, FULL_COLLECTION_EVERY))
    try:
        yield
    finally:
        gc.set_threshold(young, middle, old)


def _prescan(run: _Run) -> tuple[extract.LegacySource, set[str], list]:
    """Before the first page: the legacy table reflected (and indexed for the keyset walk),
    the slice counted, duplicate ids and (in a full scan) vanished students found."""
    with run.legacy.connect() as legacy_conn:
        source = extract.LegacySource.reflect(legacy_conn)
    if not run.options.dry_run:
        extract.ensure_keyset_index(run.legacy, source)
    with run.legacy.connect() as legacy_conn:
        run.counters.total_legacy_records = extract.count_slice(legacy_conn, source, run.options)
        duplicates = extract.duplicate_keys(legacy_conn, source)
        vanished = (
            _find_vanished(run.sis, run.legacy, legacy_conn, source, run.options)
            if run.options.is_full_scan
            else []
        )
    return source, duplicates, vanished


def _planner(run: _Run, duplicates: set[str], *, applied_as_planned: bool) -> Planner:
    planner = Planner(
        options=run.options,
        mapping_version=run.version,
        sponsor_ids=run.sponsors,
        today=run.today,
        duplicate_keys=duplicates,
        claims_committed_per_batch=applied_as_planned,
        sis=run.sis_schema,
    )
    with run.sis.connect() as conn:
        planner.state_empty_at_start = not target.has_sync_state(conn)
    return planner


def _planned(run: _Run, planner: Planner, page: PreparedPage) -> Iterator[PlanBatch]:
    """The batches of one prepared page, counted into the run as they are yielded."""
    with run.sis.connect() as conn:  # a fresh snapshot per page (earlier batches committed)
        batches = list(planner.finish(conn, page))
    del page  # its records live on in the batches; the rest (keys, states) is done with
    yield from _counted(run, batches)


def _counted(run: _Run, batches: Iterable[PlanBatch]) -> Iterator[PlanBatch]:
    """Batches counted into the run as they are yielded, each released once written."""
    pending = list(batches)
    pending.reverse()  # popped in order
    while pending:
        batch = pending.pop()
        run.tally(batch)
        yield batch
        del batch


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
        raise MassDeleteRefused(len(vanished), active, scope, MASS_DELETE_THRESHOLD)
    return vanished


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


# --------------------------------------------------------------------------- applying
def _apply_all(
    run: _Run, batches: Iterator[PlanBatch], *, on_batch: Callable[[PlanBatch], None]
) -> None:
    """Apply the batches in order, one transaction each, committed only while the run still
    holds the lock (a dry run only walks them)."""
    stale = _small_statistics(run)
    created = 0
    for batch in batches:
        if stale and created >= target.SMALL_STATISTICS:
            target.refresh_statistics(run.sis, stale)  # once: by index from then on
            stale = []
        if run.writes and (batch.students or batch.rejections or batch.vanished):
            with run.sis.begin() as conn:
                apply_batch(
                    conn,
                    batch,
                    run_id=run.run_id,
                    now=run.started,
                    today=run.today,
                    mapping_version=run.version,
                    sis=run.sis_schema,
                )
                run.lock.verify()
            if stale:  # counted only while a refresh is still due
                created += sum(p.row_class == "create" for p in batch.students)
        on_batch(batch)
        del batch  # written: released before the next page is planned, not after


def _small_statistics(run: _Run) -> list[Table]:
    """The SIS tables whose statistics to refresh once this run has created enough rows in
    them (``target.tables_with_small_statistics``); none for a run that writes nothing."""
    if not run.writes:
        return []
    with run.sis.connect() as conn:
        return target.tables_with_small_statistics(conn)


def _close_change_log(run: _Run) -> None:
    """Prune the change log (a run that writes) and count the conflicts still open."""
    with run.sis.begin() as conn:
        run.counters.open_conflicts = changelog.finish_run(
            conn, now=run.started, keep_days=run.options.change_log_days, prune=run.writes
        )
