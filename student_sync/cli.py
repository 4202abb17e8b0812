"""`student-sync`: the command line over the engine (cron jobs, scripts, the demo).

Exit codes: 0 completed with success rate >= 90%; 1 below 90%, failed, or database
unreachable; 2 usage or configuration error; 3 another run holds the lock.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from student_sync.engine.db import (
    ConfigurationError,
    DatabaseUnavailable,
    describe_url,
    make_engine,
    mask_text,
    resolve_urls,
    url_password,
)
from student_sync.engine.lock import LockHeld
from student_sync.engine.options import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_CHANGE_LOG_DAYS,
    DEFAULT_TIMEZONE,
    MODES,
    ON_CONFLICT,
    DateWindow,
    SyncOptions,
    parse_id_range,
    parse_modified_since,
    school_zone,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one sentence on stderr and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


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

    p = sub.add_parser("history", help="what the sync did to one student, newest first")
    _add_db_flags(p, legacy=False)
    p.add_argument("student_id", type=_positive_int, metavar="STUDENT_ID")
    p.add_argument("--json", action="store_true", help="print JSON for scripts")
    return parser


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _workers(text: str) -> int | None:
    if text.strip().lower() == "auto":
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number or 'auto', got {text!r}"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def options_from_args(args: argparse.Namespace) -> SyncOptions:
    window = DateWindow()
    if args.modified_since:
        window = DateWindow(since=parse_modified_since(args.modified_since, timezone=args.timezone))
    ranges = (parse_id_range(args.student_id_range),) if args.student_id_range else ()
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


def _connect_or_fail(url: str) -> Any:
    """An engine whose database answers; else DatabaseUnavailable naming host and database."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    engine = make_engine(url)
    try:
        with engine.connect():
            pass
    except (OperationalError, DBAPIError) as exc:
        engine.dispose()
        reason = str(exc.orig or exc).strip().splitlines()[0]
        raise DatabaseUnavailable(
            f"cannot connect to {describe_url(url)}: {mask_text(reason, url_password(url))}"
        ) from None
    return engine


def cmd_migrate(args: argparse.Namespace) -> int:
    from student_sync.engine.report import console_block
    from student_sync.engine.run import run_sync

    urls = resolve_urls(args.database_url, args.legacy_url)
    options = options_from_args(args)
    progress = _Progress(enabled=sys.stdout.isatty() and not args.quiet)
    try:
        result = run_sync(urls, options, progress=progress)
    finally:
        progress.close()
    print(console_block(result.summary))
    if result.report_path:
        print(f"\n   Report: {result.report_path}")
    if result.exit_code != EXIT_OK:
        print(
            f"\nstudent-sync: success rate {result.summary.success_rate:.1f}% is below 90% "
            "(critical): see the report's rejections",
            file=sys.stderr,
        )
    return result.exit_code


def cmd_init(args: argparse.Namespace) -> int:
    from student_sync.engine.setup import initialize

    urls = resolve_urls(args.database_url)
    engine = _connect_or_fail(urls.sis)
    try:
        result = initialize(engine)
    finally:
        engine.dispose()
    print(f"Target: {describe_url(urls.sis)}")
    if result.created_sis_tables:
        print(f"  created SIS tables: {', '.join(result.created_sis_tables)}")
    if result.existing_sis_tables:
        print(f"  existing SIS tables checked: {', '.join(result.existing_sis_tables)}")
    if result.created_sync_tables:
        print(f"  created sync tables: {', '.join(result.created_sync_tables)}")
    print(f"  sponsors added: {', '.join(result.sponsors_added) or 'none (all present)'}")
    print(f"  sync schema version: {result.schema_version}")
    return EXIT_OK


def _school_yesterday() -> date:
    return datetime.now(school_zone(DEFAULT_TIMEZONE)).date() - timedelta(days=1)


def cmd_demo_data(args: argparse.Namespace) -> int:
    from student_sync.engine import demo

    urls = resolve_urls(args.database_url, args.legacy_url)
    engine = _connect_or_fail(urls.legacy)
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
    from student_sync.engine.legacy_load import LegacyLoadError, load_legacy_csv

    urls = resolve_urls(args.database_url, args.legacy_url)
    engine = _connect_or_fail(urls.legacy)
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


def _show(value: Any) -> str:
    return "(none)" if value is None or value == "" else str(value)


def format_history(data: dict[str, Any]) -> str:
    """The ``history`` command's text: changes newest first, then the rest of the story."""
    sid = data["student_id"]
    lines = [f"Student {sid}"]
    current = data["current"]
    if current:
        state = "soft-deleted" if current["is_deleted"] else "active"
        lines.append(f"  now: {state}, IPK {_show(current['legacy_ipk'])}, "
                     f"last written by run {current['last_run_id']} at {current['updated_at']}")
    lines += ["", "CHANGES (newest first):"]
    if not data["changes"]:
        lines.append("  none recorded")
    for change in data["changes"]:
        how = f"{change['mode']}{' force-update' if change['force_update'] else ''}" if (
            change["mode"]) else "run not in the ledger"
        lines.append(f"  {change['changed_at']}  run {change['run_id']} ({how})")
        lines.append(f"    {change['action']} {change['table_name']}")
        for column, (old, new) in change["changes"].items():
            lines.append(f"      {column}: {_show(old)} -> {_show(new)}")
    lines += ["", "CONFLICTS (edited in the SIS, legacy value differs):"]
    if not data["conflicts"]:
        lines.append("  none")
    for c in data["conflicts"]:
        status = "open" if c["open"] else f"settled {c['resolved_at']}"
        lines.append(f"  {c['detected_at']}  {c['table']}.{c['column']}: SIS "
                     f"{_show(c['sis_value'])!r} vs legacy {_show(c['legacy_value'])!r} "
                     f"({c['resolution']}, {status})")
    lines += ["", "REJECTIONS OF THIS ID:"]
    if not data["rejections"]:
        lines.append("  none")
    for r in data["rejections"]:
        status = "open" if r["resolved_at"] is None else f"resolved {r['resolved_at']}"
        lines.append(f"  {r['last_seen_at']}  {r['reason']} (legacy id {r['legacy_id']!r}): "
                     f"{r['detail']} ({status}; first seen {r['first_seen_at']})")
    lines += ["", "SPONSORSHIP PERIODS:"]
    if not data["sponsorships"]:
        lines.append("  none")
    for s in data["sponsorships"]:
        lines.append(f"  {s['code']}: {s['start_date']} -> {_show(s['end_date'] or 'open')}")
    return "\n".join(lines)


def cmd_history(args: argparse.Namespace) -> int:
    import json

    from student_sync.engine.history import student_history
    from student_sync.engine.setup import check_ready

    urls = resolve_urls(args.database_url)
    engine = _connect_or_fail(urls.sis)
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
    "history": cmd_history,
}


def main(argv: Sequence[str] | None = None) -> int:
    from sqlalchemy.exc import DBAPIError, OperationalError

    from student_sync.engine.run import SyncFailed

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
    except ConfigurationError as exc:
        print(f"student-sync: {mask_text(str(exc), *secrets)}", file=sys.stderr)
        return EXIT_USAGE
    except LockHeld as exc:
        print(f"student-sync: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    except (DatabaseUnavailable, SyncFailed) as exc:
        print(f"student-sync: {mask_text(str(exc), *secrets)}", file=sys.stderr)
        return EXIT_FAILED
    except (OperationalError, DBAPIError) as exc:
        detail = str(exc.orig or exc).strip().splitlines()[0]
        print(f"student-sync: database error: {mask_text(detail, *secrets)}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(
            "student-sync: interrupted; whole batches stay applied, rerun to converge",
            file=sys.stderr,
        )
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
