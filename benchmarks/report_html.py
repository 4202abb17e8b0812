"""Time and size of the HTML report page for a large run (no database needed).

A synthetic report dict shaped like ``build_report``'s for a 1,000,000-student run with
20,000 rejections (all of them in ``detailed_rejections``: twice what a real report keeps),
30 ledger runs of trends, rendered and written with the engine's own functions::

    .venv/bin/python -m benchmarks.report_html            # -> benchmarks/results-report-html.md
    .venv/bin/python -m benchmarks.report_html --students 200000 --rejections 5000 --no-write

Targets (issue 17): under 2 s and under 5 MB for the page.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from student_sync.engine.report_html import (
    MAX_LISTED_ROWS,
    TREND_RUNS,
    TrendPoint,
    render_report_html,
    write_html_report,
)

RESULTS = Path(__file__).with_name("results-report-html.md")
REASONS = (
    ("MISSING_NAME", "name is empty or a null marker"),
    ("INVALID_ID", "student id {id!r} is not numeric"),
    (
        "DUPLICATE_SCHOOL_EMAIL",
        "school email s{id}@students.school.example.edu is used by another person",
    ),
    ("INVALID_NAME", "name 'សុខា <{id}>' holds only markers"),
    ("MISSING_ID", "student id is empty"),
)
STARTED = datetime(2026, 11, 29, 19, 0, tzinfo=UTC)


def synthetic_report(students: int = 1_000_000, rejections: int = 20_000) -> dict[str, Any]:
    """A report dict with ``build_report``'s keys: every rejection listed, varied reasons."""
    detailed = []
    for i in range(rejections):
        reason, detail = REASONS[i % 7 % len(REASONS)]
        sid = f"{i * 37 % students:05d}"
        detailed.append(
            {
                "student_id": sid,
                "ipk": str(100000 + i),
                "reason": reason,
                "detail": detail.format(id=sid),
            }
        )
    breakdown: dict[str, int] = {}
    for r in detailed:
        breakdown[r["reason"]] = breakdown.get(r["reason"], 0) + 1
    unchanged = students * 9 // 10
    written = students - unchanged - rejections
    table = {
        "created": written // 4,
        "updated": written - written // 4,
        "skipped": unchanged,
        "deleted": 120,
    }
    return {
        "migration_info": {
            "run_id": "00000000-0000-4000-8000-000000000030",
            "status": "completed",
            "start_time": STARTED.isoformat(),
            "end_time": (STARTED + timedelta(seconds=95)).isoformat(),
            "duration_seconds": 95.0,
            "mode": "upsert",
            "dry_run": False,
            "force_update": False,
            "filters": {
                "modified_since": None,
                "modified_until": None,
                "student_id_range": None,
                "limit": None,
            },
            "batch_size": 5000,
            "mapping_version": "rules-1;limon-1;sponsors-77fcbc70",
            "timezone": "Asia/Phnom_Penh",
            "database": "postgresql://sync:***@db/sis",
            "error": None,
        },
        "summary": {
            "input": {"total_legacy_records": students, "records_processed": students},
            "output": {"total_successful": students - rejections, "skipped_unchanged": unchanged},
            "rejected": {"total": rejections, "breakdown": breakdown},
            "persons": table,
            "students": table,
            "emergency_contacts": {"created": written // 5, "updated": written // 3, "deleted": 40},
            "sponsorships": {"created": written // 9, "updated": 12, "ended": written // 11},
            "vanished_soft_deleted": 0,
            "warnings": {
                "INVALID_KHMER": 31_000,
                "UNPARSED_PHONE": 20_500,
                "INVALID_EMAIL": 14_000,
                "UNKNOWN_SPONSOR_CODE": 7_000,
            },
            "success_rate": round(100 * (students - rejections) / students, 2),
            "efficiency": round(100 * unchanged / students, 2),
            "success_level": "normal",
            "efficiency_level": "optimal",
        },
        "detailed_rejections": detailed,
        "recommendations": ["20,000 row(s) were rejected; they are stored and re-evaluated."],
    }


def synthetic_trends(runs: int = TREND_RUNS, students: int = 1_000_000) -> list[TrendPoint]:
    """A month of nightly runs, the last one being ``synthetic_report``'s."""
    return [
        TrendPoint(
            run_id=f"00000000-0000-4000-8000-{k:012d}",
            started_at=STARTED - timedelta(days=runs - k),
            mode="upsert",
            records_processed=students,
            success_rate=97.0 + (k % 5) * 0.2,
            efficiency=85.0 + k % 7,
            rejected=30_000 - 300 * k,
            rejections_open=32_000 - 350 * k,
            rejections_resolved=250 + 10 * k,
            duration_seconds=90.0 + k % 9,
        )
        for k in range(1, runs + 1)
    ]


def measure(students: int, rejections: int, repeats: int, write: bool) -> dict[str, Any]:
    report, trends = synthetic_report(students, rejections), synthetic_trends(students=students)
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        page = render_report_html(report, trends)
        seconds.append(time.perf_counter() - started)
    tracemalloc.start()
    render_report_html(report, trends)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        path = write_html_report(
            Path(folder) / "student_sync_upsert_20261130_020000.json", report, trends
        )
        write_seconds = time.perf_counter() - started
        size = path.stat().st_size
    result = {
        "students": students,
        "rejections": rejections,
        "listed": MAX_LISTED_ROWS,
        "trend_runs": len(trends),
        "render_best_s": min(seconds),
        "render_median_s": statistics.median(seconds),
        "render_and_write_s": write_seconds,
        "page_bytes": size,
        "peak_render_memory_bytes": peak,
        "chars": len(page),
    }
    if write:
        RESULTS.write_text(_markdown(result), encoding="utf-8")
    return result


def _markdown(r: dict[str, Any]) -> str:
    return (
        "# HTML report page: time and size (benchmarks/report_html.py)\n\n"
        f"Synthetic report: {r['students']:,} students, {r['rejections']:,} rejections (all in "
        f"`detailed_rejections`; the page lists the first {r['listed']}), {r['trend_runs']} "
        "ledger runs of trends. Target: under 2 s and under 5 MB.\n\n"
        "| measure | value |\n|---|---|\n"
        f"| render, best of runs | {r['render_best_s'] * 1000:.1f} ms |\n"
        f"| render, median | {r['render_median_s'] * 1000:.1f} ms |\n"
        f"| render + write the file | {r['render_and_write_s'] * 1000:.1f} ms |\n"
        f"| page size | {r['page_bytes'] / 1024:.1f} KiB |\n"
        f"| peak Python memory while rendering | {r['peak_render_memory_bytes'] / 1024:.0f} "
        "KiB |\n\n"
        f"Machine: {platform.machine()}, Python {platform.python_version()}, "
        f"{datetime.now(UTC):%Y-%m-%d}.\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1_000_000)
    parser.add_argument("--rejections", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    result = measure(args.students, args.rejections, args.repeats, write=not args.no_write)
    print(_markdown(result))


if __name__ == "__main__":
    main()
