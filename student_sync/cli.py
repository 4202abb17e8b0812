"""`student-sync`: the command line over the engine (cron jobs, scripts, the demo).

Exit codes: 0 completed with success rate >= 90%; 1 below 90%, failed, or database
unreachable; 2 usage or configuration error; 3 another run holds the lock.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from student_sync.engine import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_CHANGE_LOG_DAYS,
    DEFAULT_TIMEZONE,
    MODES,
    ON_CONFLICT,
    ConfigurationError,
    DatabaseUnavailable,
    DatabaseUrls,
    DateWindow,
    DriverError,
    LegacyLoadError,
    LegacyTableMissing,
    LockHeld,
    NamesAnOption,
    RejectionQuery,
    ReportUnavailable,
    RunSummary,
    SyncFailed,
    SyncOptions,
    batch_size_note,
    check_readiness,
    check_ready,
    connected_engine,
    console_block,
    describe_db_error,
    describe_url,
    export_rejections_csv,
    html_path_for,
    initialize,
    list_rejections,
    load_legacy_csv,
    local_time,
    mask_text,
    parse_id_range,
    parse_modified_since,
    render_run_report,
    resolve_urls,
    school_zone,
    student_history,
    sync,
    url_password,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one sentence on stderr and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _whole_number(text: str, *, minimum: int, expected: str = "a whole number") -> int:
    """An argparse value: an int of at least ``minimum``, with a message naming what is wrong."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    if value < minimum:
        bound = f"at least {minimum}" if minimum else "0 or more"
        raise argparse.ArgumentTypeError(f"must be {bound}, got {value}")
    return value


def _positive_int(text: str) -> int:
    return _whole_number(text, minimum=1)


def _add_db_flags(p: argparse.ArgumentParser, legacy: bool = True) -> None:
    p.add_argument(
        "--database-url",
        help="SQLAlchemy URL of the SIS database "
        "(default: $STUDENT_SYNC_DATABASE_URL, else ./student_sync.sqlite)",
    )
    if legacy:
        p.add_argument(
            "--legacy-url",
            help="URL of the database holding legacy_students "
            "(default: $STUDENT_SYNC_LEGACY_URL, else the SIS database)",
        )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="student-sync", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("init", help="create/upgrade target tables, load the known sponsors")
    _add_db_flags(p, legacy=False)
    p.add_argument(
        "--check",
        action="store_true",
        help="change nothing: report what the sync needs and what the database has "
        "(exit 0 ready, 2 not ready)",
    )

    p = sub.add_parser("demo-data", help="write a synthetic legacy_students table")
    _add_db_flags(p, legacy=False)
    p.add_argument("--legacy-url", help="write the legacy table here instead")
    p.add_argument("--students", type=_positive_int, default=2000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument(
        "--apply-edits",
        action="store_true",
        help="instead of a new table, apply a realistic day of edits to the existing one",
    )
    p.add_argument(
        "--edit-day",
        type=date.fromisoformat,
        default=None,
        help="day the edits are stamped with (default: yesterday, school time)",
    )
    p.add_argument(
        "--csv",
        type=Path,
        default=None,
        help="also write the rows as the school's CSV export to this file",
    )

    p = sub.add_parser("load-legacy-csv", help="load the school's CSV export into legacy_students")
    _add_db_flags(p, legacy=False)
    p.add_argument("--legacy-url", help="load into this database instead")
    p.add_argument("file", type=Path)
    p.add_argument("--merge", action="store_true", help="upsert by id instead of replacing")

    p = sub.add_parser("migrate", help="sync legacy_students into the SIS tables")
    _add_db_flags(p)
    add_migrate_arguments(p)

    p = sub.add_parser(
        "report", help="write (again) the HTML report of an earlier run and print its path"
    )
    _add_db_flags(p, legacy=False)
    which = p.add_mutually_exclusive_group()
    which.add_argument("--run", metavar="RUN_ID", help="the run (its id or a unique prefix)")
    which.add_argument(
        "--last", action="store_true", help="the latest run with a report (the default)"
    )
    p.add_argument("--open", action="store_true", help="open the page in the system browser")

    _add_rejections_parser(sub)

    p = sub.add_parser("history", help="what the sync did to one student, newest first")
    _add_db_flags(p, legacy=False)
    p.add_argument("student_id", type=_positive_int, metavar="STUDENT_ID")
    p.add_argument("--json", action="store_true", help="print JSON for scripts")
    return parser


def add_migrate_arguments(p: argparse.ArgumentParser) -> None:
    """The run flags of `student-sync migrate`, shared with `manage.py
    migrate_students_idempotent` (the guide's flags, then ours); the database flags differ."""
    p.add_argument("--mode", choices=MODES, default="upsert")
    p.add_argument("--modified-since", metavar="yesterday|YYYY-MM-DD")
    p.add_argument("--student-id-range", metavar="START:END")
    p.add_argument("--force-update", action="store_true")
    p.add_argument("--dry-run", action="store_true")
    p.add_argument("--limit", type=_positive_int)
    p.add_argument("--batch-size", type=_positive_int, default=DEFAULT_BATCH_SIZE)
    p.add_argument("--reports-dir", type=Path, default=Path("reports"))
    p.add_argument("--allow-mass-delete", action="store_true")
    p.add_argument("--timezone", default=DEFAULT_TIMEZONE, help="the school's time zone")
    p.add_argument(
        "--workers",
        type=_workers,
        default=None,
        metavar="N|auto",
        help="processes that normalize rows beside the one writing (0: none; default auto: "
        "one per core beyond the first, at most 2, on Linux when 20,000 or more rows need "
        "normalizing)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.add_argument(
        "--on-conflict",
        choices=ON_CONFLICT,
        default="keep-sis",
        help="a column edited in the SIS since the sync wrote it: keep the SIS value and "
        "report it (default), or overwrite it with the legacy value (logged)",
    )
    p.add_argument(
        "--change-log-days",
        type=_non_negative_int,
        default=DEFAULT_CHANGE_LOG_DAYS,
        metavar="N",
        help=f"prune change-log rows older than N days at the end of the run (0: keep all; "
        f"default {DEFAULT_CHANGE_LOG_DAYS})",
    )


def _non_negative_int(text: str) -> int:
    return _whole_number(text, minimum=0)


def _workers(text: str) -> int | None:
    if text.strip().lower() == "auto":
        return None
    return _whole_number(text, minimum=0, expected="a whole number or 'auto'")


def options_from_args(args: argparse.Namespace) -> SyncOptions:
    window = DateWindow()
    if args.modified_since:
        window = DateWindow(since=parse_modified_since(args.modified_since, timezone=args.timezone))
    ranges = (parse_id_range(args.student_id_range),) if args.student_id_range else ()
    note = batch_size_note(args.batch_size, name="--batch-size")
    if note:
        print(f"student-sync: {note}", file=sys.stderr)  # the run clamps it (validate)
    return SyncOptions(
        mode=args.mode,
        window=window,
        id_ranges=ranges,
        force_update=args.force_update,
        dry_run=args.dry_run,
        limit=args.limit,
        batch_size=args.batch_size,
        reports_dir=args.reports_dir,
        allow_mass_delete=args.allow_mass_delete,
        timezone=args.timezone,
        modified_since_text=args.modified_since,
        workers=args.workers,
        on_conflict=args.on_conflict,
        change_log_days=args.change_log_days,
    )


class _Progress:
    """A single updating line on a terminal; silent when stdout is not one."""

    def __init__(self, enabled: bool) -> None:
        self.enabled, self.started, self.last = enabled, time.monotonic(), 0.0

    def __call__(self, info: dict[str, Any]) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.last < 0.5:
            return
        self.last = now
        done, total = info["processed"], max(info["total"], 1)
        rate = done / max(now - self.started, 1e-6)
        print(
            f"\r  batch {info['batch']:,}  {done:,}/{total:,} rows "
            f"({100 * done / total:.0f}%)  {rate:,.0f} rows/s",
            end="",
            file=sys.stderr,
            flush=True,
        )

    def close(self) -> None:
        if self.enabled and self.last:
            print(file=sys.stderr)


class BelowSuccessThreshold(Exception):
    """The run completed, but its success rate is critical (< 90%): exit 1."""


def run_exit_code(summary: RunSummary) -> int:
    """0 for a completed run at 90% success or more, else 1 (the design's exit codes)."""
    ok = summary.status == "completed" and summary.success_rate >= 90.0
    return EXIT_OK if ok else EXIT_FAILED


def run_migrate(args: argparse.Namespace, urls: DatabaseUrls, out: TextIO | None = None) -> int:
    """Run the sync with the migrate flags; print the stats block and the report's path.

    Both faces call this: `student-sync migrate` and `manage.py migrate_students_idempotent`.
    Returns 0; a critical run raises BelowSuccessThreshold (see ``failure_status``).
    """

    out = out or sys.stdout
    options = options_from_args(args)
    progress = _Progress(enabled=out.isatty() and not args.quiet)
    try:
        result = sync(urls, options, progress=progress)
    finally:
        progress.close()
    out.write(console_block(result.summary) + "\n")
    if result.report_path:
        out.write(f"\n   Report: {result.report_path}\n")
        out.write(f"   Page:   {html_path_for(result.report_path)}\n")
    if run_exit_code(result.summary) != EXIT_OK:
        raise BelowSuccessThreshold(
            f"success rate {result.summary.success_rate:.1f}% is below 90% (critical): "
            "see the report's rejections"
        )
    return EXIT_OK


def cmd_migrate(args: argparse.Namespace) -> int:
    return run_migrate(args, resolve_urls(args.database_url, args.legacy_url))


def cmd_init(args: argparse.Namespace) -> int:
    urls = resolve_urls(args.database_url)
    engine = connected_engine(urls.sis)
    try:
        if args.check:
            return _init_check(engine, urls.sis)
        result = initialize(engine)
    finally:
        engine.dispose()
    print(f"Target: {describe_url(urls.sis)}")
    if result.created_sis_tables:
        print(f"  created SIS tables: {', '.join(result.created_sis_tables)}")
    if result.existing_sis_tables:
        print(f"  existing SIS tables checked: {', '.join(result.existing_sis_tables)}")
    print(f"  contact table: {result.contact_table}")
    if result.created_sync_tables:
        print(f"  created sync tables: {', '.join(result.created_sync_tables)}")
    print(f"  sponsors added: {', '.join(result.sponsors_added) or 'none (all present)'}")
    print(f"  sync schema version: {result.schema_version}")
    return EXIT_OK


def _init_check(engine: Any, url: str) -> int:
    """`init --check`: what the sync needs and what it found; writes nothing."""

    found = check_readiness(engine)
    sis = found.sis
    print(f"Target: {describe_url(url)} (checked, nothing changed)")
    for name, there in sis.tables.items():
        print(f"  {name}: {'present' if there else 'absent'}")
    print(f"  contact table: {sis.contact_table or 'none found'}")
    if sis.schema is not None:
        print(f"  contact flavour: {sis.schema.contact_flavour}")
        for t in sis.schema.tables:
            if t.insert_defaults:
                filled = ", ".join(sorted(t.insert_defaults))
                print(f"  {t.name}: Django defaults given on insert: {filled}")
    print(f"  people_studentprofile.legacy_ipk: {sis.legacy_ipk}")
    for name, there in found.sync_tables.items():
        print(f"  {name}: {'present' if there else 'absent'}")
    print(f"  known sponsors missing: {', '.join(found.sponsors_missing) or 'none'}")
    if found.ready:
        print("Ready: `student-sync migrate` can run.")
        return EXIT_OK
    print("Not ready:")
    for problem in found.problems:
        print(f"  - {problem}")
    return EXIT_USAGE


def _school_yesterday() -> date:
    return datetime.now(school_zone(DEFAULT_TIMEZONE)).date() - timedelta(days=1)


def cmd_demo_data(args: argparse.Namespace) -> int:
    from student_sync import demo

    urls = resolve_urls(args.database_url, args.legacy_url)
    engine = connected_engine(urls.legacy)
    try:
        if args.apply_edits:
            edits = demo.apply_day_of_edits(
                engine, seed=args.seed, edit_day=args.edit_day or _school_yesterday()
            )
            print(f"Applied a day of edits to legacy_students in {describe_url(urls.legacy)}:")
            for name, ids in edits.by_category().items():
                shown = ", ".join(ids[:5]) + (" ..." if len(ids) > 5 else "")
                print(f"  {name.replace('_', ' ')}: {len(ids)}" + (f" ({shown})" if ids else ""))
            return EXIT_OK
        today = datetime.now(school_zone(DEFAULT_TIMEZONE)).date()
        started = time.monotonic()
        written = demo.write_legacy_table(
            engine, demo.generate_legacy_rows(args.students, args.seed, today=today)
        )
        print(
            f"Wrote {written:,} synthetic legacy students (seed {args.seed}) to "
            f"{describe_url(urls.legacy)} in {time.monotonic() - started:.1f}s"
        )
        if args.csv:
            n = demo.write_export_csv(
                demo.generate_legacy_rows(args.students, args.seed, today=today),
                args.csv,
                seed=args.seed,
            )
            print(f"Wrote the same {n:,} rows as a school export CSV: {args.csv}")
    finally:
        engine.dispose()
    return EXIT_OK


def cmd_load_csv(args: argparse.Namespace) -> int:
    urls = resolve_urls(args.database_url, args.legacy_url)
    engine = connected_engine(urls.legacy)
    try:
        result = load_legacy_csv(engine, args.file, merge=args.merge)
    except LegacyLoadError as exc:
        print(f"student-sync: refused {args.file}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        engine.dispose()
    print(
        f"Loaded {result.rows_written:,} of {result.rows_read:,} rows from {args.file} "
        f"into legacy_students ({result.mode}); dropped columns: "
        f"{', '.join(result.dropped_columns) or 'none'}"
    )
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    import webbrowser

    urls = resolve_urls(args.database_url)
    engine = connected_engine(urls.sis)
    try:
        path = render_run_report(engine, args.run)
    except ReportUnavailable as exc:
        print(f"student-sync: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        engine.dispose()
    print(path)
    if args.open and not webbrowser.open(path.resolve().as_uri()):
        print("student-sync: no browser could be started; open the file above", file=sys.stderr)
    return EXIT_OK


# --------------------------------------------------------------------------- rejections
def _add_rejections_parser(sub: Any) -> None:
    p = sub.add_parser(
        "rejections",
        help="list the open rejections (or the resolved ones), or write them as CSV",
    )
    _add_db_flags(p)  # --legacy-url: where --csv reads the legacy columns
    p.add_argument(
        "--reason",
        action="append",
        metavar="R",
        help="only this reason (e.g. MISSING_NAME); repeat or comma-separate for several",
    )
    p.add_argument(
        "--since",
        metavar="yesterday|YYYY-MM-DD",
        help="only rejections last seen (with --resolved: resolved) on or after this school day",
    )
    p.add_argument("--student-id-range", metavar="START:END", help="numeric ids, inclusive")
    p.add_argument("--resolved", action="store_true", help="what got fixed, newest first")
    p.add_argument(
        "--csv",
        type=Path,
        metavar="FILE",
        help="write them to FILE for the registrar, with the legacy columns that caused each",
    )
    p.add_argument("--timezone", default=DEFAULT_TIMEZONE, help="the school's time zone")


def _rejection_query(args: argparse.Namespace) -> Any:
    since = None
    if args.since:
        try:
            local = parse_modified_since(args.since, timezone=args.timezone)
        except ConfigurationError:
            raise ConfigurationError(
                f"--since must be 'yesterday' or YYYY-MM-DD, got {args.since!r}"
            ) from None
        since = local.replace(tzinfo=school_zone(args.timezone))
    reasons = tuple(
        sorted({r.strip().upper() for text in args.reason or () for r in text.split(",") if r})
    )
    ranges = (parse_id_range(args.student_id_range),) if args.student_id_range else ()
    return RejectionQuery(reasons=reasons, since=since, id_ranges=ranges, resolved=args.resolved)


def _printable(text: str) -> str:
    """An id or detail on one console line: invisible characters escaped, empty shown."""
    if not text:
        return "(empty)"
    return text if text.isprintable() else repr(text)[1:-1]


def cmd_rejections(args: argparse.Namespace) -> int:
    from collections import Counter

    urls = resolve_urls(args.database_url, args.legacy_url)
    query = _rejection_query(args)
    if args.csv:
        found = export_rejections_csv(urls, query, args.csv, timezone=args.timezone)
    else:
        found = list_rejections(urls, query)
    state = "resolved" if args.resolved else "open"
    counts = Counter(r.reason for r in found)
    breakdown = ", ".join(f"{reason}: {n:,}" for reason, n in counts.most_common())
    print(
        f"{len(found):,} {state} rejection(s) in {describe_url(urls.sis)}"
        + (f" ({breakdown})" if found else "")
    )
    if args.csv:
        print(f"Wrote {args.csv}")
        return EXIT_OK
    if not found:
        return EXIT_OK
    header = ["REASON", "STUDENT ID", "IPK", "FIRST SEEN", "LAST SEEN", "RUNS"]
    header += ["RESOLVED"] if args.resolved else []
    table = [
        [
            r.reason,
            _printable(r.student_id),
            _printable(r.ipk),
            local_time(r.first_seen_at, args.timezone),
            local_time(r.last_seen_at, args.timezone),
            str(r.runs_seen),
        ]
        + ([local_time(r.resolved_at, args.timezone)] if args.resolved else [])
        + [_printable(r.detail)]
        for r in found
    ]
    header.append("DETAIL")
    widths = [max(len(row[i]) for row in [header, *table]) for i in range(len(header) - 1)]
    for row in [header, *table]:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=False)) + "  " + row[-1])
    return EXIT_OK


def _show(value: Any) -> str:
    return "(none)" if value is None or value == "" else str(value)


def _history_block(
    title: str,
    items: Sequence[dict[str, Any]],
    lines_of: Callable[[dict[str, Any]], list[str]],
    empty: str = "none",
) -> list[str]:
    """One block of the ``history`` text: a blank line, its title, then its items' lines or
    ``empty``."""
    lines = ["", title]
    if not items:
        lines.append(f"  {empty}")
    for item in items:
        lines += lines_of(item)
    return lines


def _change_lines(change: dict[str, Any]) -> list[str]:
    how = (
        f"{change['mode']}{' force-update' if change['force_update'] else ''}"
        if change["mode"]
        else "run not in the ledger"
    )
    return [
        f"  {change['changed_at']}  run {change['run_id']} ({how})",
        f"    {change['action']} {change['table_name']}",
        *(
            f"      {column}: {_show(old)} -> {_show(new)}"
            for column, (old, new) in change["changes"].items()
        ),
    ]


def _conflict_lines(c: dict[str, Any]) -> list[str]:
    status = "open" if c["open"] else f"settled {c['resolved_at']}"
    return [
        f"  {c['detected_at']}  {c['table']}.{c['column']}: SIS "
        f"{_show(c['sis_value'])!r} vs legacy {_show(c['legacy_value'])!r} "
        f"({c['resolution']}, {status})"
    ]


def _rejection_lines(r: dict[str, Any]) -> list[str]:
    status = "open" if r["resolved_at"] is None else f"resolved {r['resolved_at']}"
    return [
        f"  {r['last_seen_at']}  {r['reason']} (legacy id {r['legacy_id']!r}): "
        f"{r['detail']} ({status}; first seen {r['first_seen_at']})"
    ]


def _sponsorship_lines(s: dict[str, Any]) -> list[str]:
    return [f"  {s['code']}: {s['start_date']} -> {_show(s['end_date'] or 'open')}"]


def format_history(data: dict[str, Any]) -> str:
    """The ``history`` command's text: changes newest first, then the rest of the story."""
    lines = [f"Student {data['student_id']}"]
    current = data["current"]
    if current:
        state = "soft-deleted" if current["is_deleted"] else "active"
        lines.append(
            f"  now: {state}, IPK {_show(current['legacy_ipk'])}, "
            f"last written by run {current['last_run_id']} at {current['updated_at']}"
        )
    lines += _history_block(
        "CHANGES (newest first):", data["changes"], _change_lines, empty="none recorded"
    )
    lines += _history_block(
        "CONFLICTS (edited in the SIS, legacy value differs):", data["conflicts"], _conflict_lines
    )
    lines += _history_block("REJECTIONS OF THIS ID:", data["rejections"], _rejection_lines)
    lines += _history_block("SPONSORSHIP PERIODS:", data["sponsorships"], _sponsorship_lines)
    return "\n".join(lines)


def cmd_history(args: argparse.Namespace) -> int:
    import json

    urls = resolve_urls(args.database_url)
    engine = connected_engine(urls.sis)
    try:
        with engine.connect() as conn:
            check_ready(conn)
            data = student_history(conn, args.student_id).as_dict()
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        print(format_history(data))
    return EXIT_OK


COMMANDS = {
    "migrate": cmd_migrate,
    "init": cmd_init,
    "demo-data": cmd_demo_data,
    "load-legacy-csv": cmd_load_csv,
    "report": cmd_report,
    "rejections": cmd_rejections,
    "history": cmd_history,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # SQLAlchemy and psycopg log tracebacks when a connection that died with the server is
    # returned to the pool or leaves a pipeline; the command already says what went wrong in
    # one sentence.
    for name in ("sqlalchemy", "psycopg"):
        driver_logger = logging.getLogger(name)
        if not any(isinstance(h, logging.NullHandler) for h in driver_logger.handlers):
            driver_logger.addHandler(logging.NullHandler())
    secrets = [
        url_password(u)
        for u in (getattr(args, "database_url", None), getattr(args, "legacy_url", None))
        if u
    ]
    try:
        return COMMANDS[args.command](args)
    except BaseException as exc:
        status = failure_status(exc, secrets)
        if status is None:
            raise
        code, message = status
        print(f"student-sync: {message}", file=sys.stderr)
        return code


def cli_flag(option: str) -> str:
    """The flag of a run option: ``allow_mass_delete`` -> ``--allow-mass-delete``."""
    return "--" + option.replace("_", "-")


def engine_message(exc: BaseException) -> str:
    """An engine error in the command line's words: the engine names options its own way
    (``allow_mass_delete``), the user typed flags (``--allow-mass-delete``)."""
    if isinstance(exc, LegacyTableMissing):
        return exc.worded(cli_flag(exc.option), loaders="student-sync load-legacy-csv or demo-data")
    if isinstance(exc, NamesAnOption):
        return exc.worded(cli_flag(exc.option))
    return str(exc)


def failure_status(exc: BaseException, secrets: Sequence[str | None]) -> tuple[int, str] | None:
    """Exit code and one masked sentence for a failure a command reports as such.

    None for anything else (a bug: let it raise). Shared by the command line and the Django
    management command, so both exit 1, 2 or 3 for the same causes.
    """
    from sqlalchemy.exc import DBAPIError, OperationalError

    if isinstance(exc, ConfigurationError):
        return EXIT_USAGE, mask_text(engine_message(exc), *secrets)
    if isinstance(exc, LockHeld):
        return EXIT_LOCKED, str(exc)
    if isinstance(exc, (DatabaseUnavailable, SyncFailed, BelowSuccessThreshold)):
        return EXIT_FAILED, mask_text(engine_message(exc), *secrets)
    if isinstance(exc, (OperationalError, DBAPIError, *DriverError)):
        detail = describe_db_error(exc)  # one line, no row values
        return EXIT_FAILED, f"database error: {mask_text(detail, *secrets)}"
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_FAILED, "interrupted; whole batches stay applied, rerun to converge"
    return None


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
