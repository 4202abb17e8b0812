"""What a registrar reads in the UI: metadata that is true for the cell it is attached to.

A run that covers one cell (the daily schedule, a click on a cell) reports that cell's numbers
under plain names (``created``, ``success_rate``), so the Plots view draws one true point per
cell. A run over many cells (a backfill) attaches the same metadata to every cell it
materializes; its numbers are the run's totals, so they carry a ``run_`` prefix and a
``numbers`` line saying so, and never land on a per-cell plot.

Rates are only stated when there is something to rate: a run that processed no rows says so
instead of "100% optimal", and efficiency is not rated for runs that by design select edited
rows (a date window), rewrite everything (force update) or load new students.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg

from student_sync.engine import (
    Counters,
    Rejection,
    RunSummary,
    SyncOptions,
    efficiency_level,
    success_level,
)
from student_sync.orchestration.partitions import SyncSlice

MAX_REJECTIONS_SHOWN = 20
ROW_CLASSES = ("create", "update", "unchanged", "delete", "reject")
TABLE_COUNTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    # asset name -> (Counters attribute, the keys the report shows for it)
    "persons": ("persons", ("created", "updated", "skipped", "deleted")),
    "student_profiles": ("students", ("created", "updated", "skipped", "deleted")),
    "emergency_contacts": ("emergency_contacts", ("created", "updated", "deleted")),
    "sponsorships": ("sponsorships", ("created", "updated", "ended")),
}


def named(name: str, cells: int) -> str:
    """``name`` for a one-cell run; ``run_<name>`` when the number is a multi-cell run total."""
    return name if cells == 1 else f"run_{name}"


def scope_metadata(sl: SyncSlice) -> dict[str, Any]:
    numbers = (
        "this cell's"
        if sl.cells == 1
        else f"run totals over {sl.cells:,} cells (run_* keys), not this cell's own"
    )
    return {
        "slice": dg.MetadataValue.text(sl.label),
        "date_window": dg.MetadataValue.text(sl.window_label),
        "cells": dg.MetadataValue.int(sl.cells),
        "numbers": dg.MetadataValue.text(numbers),
    }


def counts_metadata(counts: Mapping[str, int], cells: int) -> dict[str, Any]:
    return {named(k, cells): dg.MetadataValue.int(int(v)) for k, v in counts.items()}


def efficiency_not_rated(counters: Counters, options: SyncOptions) -> str | None:
    """Why this run's efficiency says nothing about the sync, or None when it is a signal."""
    if not options.window.is_open:
        return "a date-window run selects edited rows, so few are unchanged"
    if options.force_update:
        return "force_update rewrites every selected row"
    if counters.classes["create"] > counters.records_processed / 2:
        return "most rows were new (an initial load)"
    return None


def efficiency_rating(counters: Counters, options: SyncOptions) -> str:
    """The efficiency level, or why there is none (no rows, or a run that cannot be rated)."""
    if counters.records_processed == 0:
        return "no rows"
    level = efficiency_level(counters.efficiency)
    reason = efficiency_not_rated(counters, options)
    if level == "inefficient" and reason:
        return f"not rated: {reason}"
    return level


def rate_metadata(counters: Counters, options: SyncOptions, cells: int) -> dict[str, Any]:
    """Rates and levels as the report states them, but only where they mean something."""
    c = counters
    common = {
        named("rejected", cells): dg.MetadataValue.int(c.rejected),
        named("rejection_breakdown", cells): dg.MetadataValue.json(
            dict(c.rejections.most_common())
        ),
    }
    if c.records_processed == 0:
        return {
            "outcome": dg.MetadataValue.text("no rows in this slice: nothing to sync"),
            "success_level": dg.MetadataValue.text("no rows"),
            "efficiency_level": dg.MetadataValue.text("no rows"),
            **common,
        }
    return {
        named("success_rate", cells): dg.MetadataValue.float(round(c.success_rate, 2)),
        "success_level": dg.MetadataValue.text(success_level(c.success_rate)),
        named("efficiency", cells): dg.MetadataValue.float(round(c.efficiency, 2)),
        "efficiency_level": dg.MetadataValue.text(efficiency_rating(c, options)),
        **common,
    }


def rejections_table(
    rejections: Sequence[Rejection], total: int, limit: int = MAX_REJECTIONS_SHOWN
) -> dict[str, Any]:
    """The first ``limit`` rejected students as a table (the report has them all)."""
    if not total:
        return {}
    schema = dg.TableSchema(
        columns=[
            dg.TableColumn("student_id", "string", description="as in the legacy row"),
            dg.TableColumn("ipk", "string"),
            dg.TableColumn("reason", "string"),
            dg.TableColumn("detail", "string"),
        ]
    )
    records = [
        dg.TableRecord(
            {"student_id": r.legacy_id, "ipk": r.ipk, "reason": r.reason, "detail": r.detail}
        )
        for r in rejections[:limit]
    ]
    return {
        "rejected_students": dg.MetadataValue.table(records=records, schema=schema),
        "rejected_students_shown": dg.MetadataValue.text(
            f"first {len(records)} of {total:,} (all of them: the JSON report, or "
            "`student-sync rejections`)"
        ),
    }


def plan_metadata(
    summary: RunSummary, sl: SyncSlice, change_set_id: str, seconds: float
) -> dict[str, Any]:
    c, o, n = summary.counters, summary.options, sl.cells
    return {
        "change_set_id": dg.MetadataValue.text(change_set_id),
        **scope_metadata(sl),
        **counts_metadata(
            {
                "total_legacy_records": c.total_legacy_records,
                "records_processed": c.records_processed,
                **{k: c.classes[k] for k in ROW_CLASSES},
                "vanished": c.vanished,
            },
            n,
        ),
        named("planned_children", n): dg.MetadataValue.json(
            {
                "emergency_contacts": dict(c.emergency_contacts),
                "sponsorships": dict(c.sponsorships),
            }
        ),
        **rate_metadata(c, o, n),
        **rejections_table(summary.rejections, c.rejected),
        named("warnings", n): dg.MetadataValue.json(dict(c.warnings.most_common())),
        "batches": dg.MetadataValue.int(c.batches),
        "mode": dg.MetadataValue.text(o.mode),
        "force_update": dg.MetadataValue.bool(o.force_update),
        "dry_run": dg.MetadataValue.bool(o.dry_run),
        "limit": dg.MetadataValue.int(o.limit) if o.limit else dg.MetadataValue.text("none"),
        "mapping_version": dg.MetadataValue.text(summary.mapping_version),
        "duration_seconds": dg.MetadataValue.float(round(seconds, 3)),
    }


def table_counts(asset_name: str, counters: Counters) -> dict[str, int]:
    """One SIS table's share of a run, by the report's names."""
    attribute, keys = TABLE_COUNTERS[asset_name]
    counter = getattr(counters, attribute)
    return {key: counter.get(key, 0) for key in keys}


def table_metadata(
    asset_name: str, summary: RunSummary, sl: SyncSlice, change_set_id: str, seconds: float
) -> dict[str, Any]:
    """One SIS table's share of the apply: its own counts plus the run's rates."""
    c, n = summary.counters, sl.cells
    return {
        **counts_metadata(
            {**table_counts(asset_name, c), "records_processed": c.records_processed}, n
        ),
        **rate_metadata(c, summary.options, n),
        **scope_metadata(sl),
        "change_set_id": dg.MetadataValue.text(change_set_id),
        "dry_run": dg.MetadataValue.bool(summary.options.dry_run),
        "database": dg.MetadataValue.text(summary.database),
        "duration_seconds": dg.MetadataValue.float(round(seconds, 3)),
    }
