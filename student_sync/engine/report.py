"""The run's story: the guide's console block, the JSON report and its recommendations."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from student_sync.engine.changelog import conflict_as_dict
from student_sync.engine.model import (
    Conflict,
    Counters,
    Rejection,
    efficiency_level,
    success_level,
)
from student_sync.engine.options import SyncOptions
from student_sync.engine.report_html import TrendPoint, write_html_report

MAX_DETAILED_REJECTIONS = 10_000


@dataclass
class RunSummary:
    """Everything a report needs about a finished (or refused) run."""

    run_id: str
    options: SyncOptions
    counters: Counters
    started_at: datetime
    finished_at: datetime
    mapping_version: str
    database: str  # masked
    rejections: list[Rejection] = field(default_factory=list)
    status: str = "completed"
    error: str | None = None
    conflicts: list[Conflict] = field(default_factory=list)  # reported (first seen) this run

    @property
    def success_rate(self) -> float:
        return self.counters.success_rate

    @property
    def efficiency(self) -> float:
        return self.counters.efficiency


def recommendations(summary: RunSummary) -> list[str]:
    """Plain sentences tied to what this run saw."""
    c, o = summary.counters, summary.options
    out: list[str] = []
    level = success_level(c.success_rate)
    if c.rejected:
        top = ", ".join(f"{reason} ({n})" for reason, n in c.rejections.most_common(3))
        if level == "critical":
            out.append(
                f"Success rate is critical ({c.success_rate:.1f}%): fix the top rejection "
                f"reasons first: {top}."
            )
        elif level == "warning":
            out.append(
                f"Success rate is in the warning band ({c.success_rate:.1f}%): review "
                f"the rejected rows, mostly {top}."
            )
        else:
            out.append(
                f"{c.rejected} row(s) were rejected ({top}); they are stored and "
                "re-evaluated on the next run."
            )
    eff_level = efficiency_level(c.efficiency)
    if c.records_processed and eff_level == "inefficient":
        if not o.window.is_open:
            out.append(
                "Efficiency is low because --modified-since selected only edited rows: "
                "expected for an incremental run."
            )
        elif o.force_update:
            out.append(
                "Efficiency is low because --force-update rewrites every selected row; "
                "use it only for a deliberate full refresh (e.g. the weekly run)."
            )
        elif c.classes["create"] > c.records_processed / 2:
            out.append(
                "Efficiency is low because most rows were new (an initial load); "
                "reruns will skip unchanged rows."
            )
        else:
            out.append(
                "Efficiency is low: many rows changed since the last run; run "
                "--modified-since yesterday daily to keep each run small."
            )
    if c.vanished:
        out.append(
            f"{c.vanished} student(s) no longer in the legacy table were soft-deleted; "
            "they are restored if they come back."
        )
    if c.warnings:
        top = ", ".join(f"{code} ({n})" for code, n in c.warnings.most_common(3))
        out.append(f"Data-quality warnings (values stored as NULL or defaulted): {top}.")
    if c.sponsorships.get("created") is None and "UNKNOWN_SPONSOR_CODE" in c.warnings:
        out.append(
            "Unknown sponsor codes were seen: add the sponsor to scholarships_sponsor "
            "(then rerun) if they are real."
        )
    if c.conflicts:
        kept = "kept as the registrar set them" if o.on_conflict == "keep-sis" else "overwritten"
        out.append(
            f"{c.conflicts} value(s) edited in the SIS disagree with the legacy table and were "
            f"{kept} (see conflicts); fix the legacy rows, or rerun with --on-conflict "
            "legacy-wins where the legacy value is right."
        )
    if o.dry_run:
        out.append("This was a dry run: nothing was written; run without --dry-run to apply.")
    if o.batch_size < 1000 and c.records_processed >= 50_000:
        out.append("Large run with a small --batch-size: 5000 or more is markedly faster.")
    if not out:
        out.append("No action needed: every processed row was applied or already up to date.")
    return out


def build_report(summary: RunSummary) -> dict[str, Any]:
    c, o = summary.counters, summary.options
    created_updated = ("created", "updated", "skipped", "deleted")
    return {
        "migration_info": {
            "run_id": summary.run_id,
            "status": summary.status,
            "start_time": summary.started_at.isoformat(),
            "end_time": summary.finished_at.isoformat(),
            "duration_seconds": round(
                (summary.finished_at - summary.started_at).total_seconds(), 3
            ),
            "mode": o.mode,
            "dry_run": o.dry_run,
            "force_update": o.force_update,
            "filters": {
                "modified_since": o.modified_since_text
                or (o.window.since.isoformat() if o.window.since else None),
                "modified_until": o.window.until.isoformat() if o.window.until else None,
                "student_id_range": ",".join(str(r) for r in o.id_ranges) or None,
                "limit": o.limit,
            },
            "batch_size": o.batch_size,
            "mapping_version": summary.mapping_version,
            "timezone": o.timezone,
            "database": summary.database,
            "error": summary.error,
        },
        "summary": {
            "input": {
                "total_legacy_records": c.total_legacy_records,
                "records_processed": c.records_processed,
            },
            "output": {
                "total_successful": c.successful,
                "skipped_unchanged": c.classes["unchanged"],
            },
            "rejected": {"total": c.rejected, "breakdown": dict(c.rejections.most_common())},
            "persons": {k: c.persons.get(k, 0) for k in created_updated},
            "students": {k: c.students.get(k, 0) for k in created_updated},
            "emergency_contacts": {
                k: c.emergency_contacts.get(k, 0) for k in ("created", "updated", "deleted")
            },
            "sponsorships": {k: c.sponsorships.get(k, 0) for k in ("created", "updated", "ended")},
            "vanished_soft_deleted": c.vanished,
            "warnings": dict(c.warnings.most_common()),
            "conflicts": c.conflicts,
            "open_conflicts": c.open_conflicts,
            "success_rate": round(c.success_rate, 2),
            "efficiency": round(c.efficiency, 2),
            "success_level": success_level(c.success_rate),
            "efficiency_level": efficiency_level(c.efficiency),
        },
        "detailed_rejections": [
            {"student_id": r.legacy_id, "ipk": r.ipk, "reason": r.reason, "detail": r.detail}
            for r in summary.rejections[:MAX_DETAILED_REJECTIONS]
        ],
        "conflicts": [conflict_as_dict(x) for x in summary.conflicts],
        "recommendations": recommendations(summary),
    }


def write_report(summary: RunSummary, reports_dir: Path, trends: Sequence[TrendPoint] = ()) -> Path:
    """``<dir>/student_sync_<mode>_<YYYYmmdd_HHMMSS>.json``, never overwriting an earlier one,
    and its HTML page beside it (``trends``: the ledger's recent runs). Returns the JSON path."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    stamp = summary.started_at.strftime("%Y%m%d_%H%M%S")
    base = f"student_sync_{summary.options.mode}_{stamp}"
    path = reports_dir / f"{base}.json"
    n = 1
    while path.exists():
        n += 1
        path = reports_dir / f"{base}_{n}.json"
    report = build_report(summary)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    write_html_report(path, report, trends)
    return path


def console_block(summary: RunSummary) -> str:
    """The guide's stats block, with true numbers."""
    c, o = summary.counters, summary.options
    title = f"IDEMPOTENT MIGRATION ({o.mode}){' DRY RUN' if o.dry_run else ''} RESULTS:"

    def n(x: int) -> str:
        return f"{x:,}"

    lines = [
        title,
        "   INPUT:",
        f"      Total legacy records: {n(c.total_legacy_records)}",
        f"      Records processed: {n(c.records_processed)}",
        "",
        "   OUTPUT (SUCCESSFUL):",
        f"      Total successful: {n(c.successful)}",
        f"      Skipped (unchanged): {n(c.classes['unchanged'])}",
        f"      Rejected: {n(c.rejected)}"
        + (
            f" ({', '.join(f'{k}: {v}' for k, v in c.rejections.most_common(5))})"
            if c.rejected
            else ""
        ),
    ]
    for label, counter in (("PERSONS", c.persons), ("STUDENTS", c.students)):
        lines += ["", f"   {label}:"] + [
            f"      {k.capitalize()}: {n(counter.get(k, 0))}"
            for k in ("created", "updated", "skipped", "deleted")
        ]
    lines += ["", "   EMERGENCY CONTACTS:"] + [
        f"      {k.capitalize()}: {n(c.emergency_contacts.get(k, 0))}"
        for k in ("created", "updated", "deleted")
    ]
    lines += ["", "   SPONSORSHIPS:"] + [
        f"      {k.capitalize()}: {n(c.sponsorships.get(k, 0))}"
        for k in ("created", "updated", "ended")
    ]
    lines += [
        "",
        "   CONFLICTS (edited in the SIS since the sync wrote them):",
        f"      Reported: {n(c.conflicts)} ({o.on_conflict})",
        f"      Open: {n(c.open_conflicts)}",
    ]
    lines += [
        "",
        f"   SUCCESS RATE: {c.success_rate:.1f}% ({success_level(c.success_rate)})",
        f"   EFFICIENCY: {c.efficiency:.1f}% of records skipped (no changes needed) "
        f"({efficiency_level(c.efficiency)})",
    ]
    return "\n".join(lines)
