"""Glue the ops share: resolve a run's slice, call the engine, and turn its results into metadata.

Kept apart from ``assets.py`` so the assets read as orchestration only: which engine stage
runs, on which slice, with what handle.
"""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg

from student_sync.engine.db import ConfigurationError, DatabaseUnavailable, mask_text
from student_sync.engine.lock import LockHeld
from student_sync.engine.model import (
    Conflict,
    Counters,
    Rejection,
    efficiency_level,
    success_level,
)
from student_sync.engine.report import RunSummary
from student_sync.engine.run import (
    MassDeleteRefused,
    StaleChangeSet,
    SyncFailed,
    options_from_dict,
    options_to_dict,
)
from student_sync.partitions import (
    FIRST_DAY,
    SCHOOL_TIMEZONE,
    SyncSlice,
    fold_partition_keys,
    partition_first_day,
    partition_last_day,
    student_partitions,
)
from student_sync.resources import SyncSettings

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
SIS_POOL = "student_sync_sis"
APPLIED_SUMMARY_FILE = "applied_summary.json"
BACKFILL_HINT = (
    "Backfill from the asset page instead: Assets > student_sync > select the assets > "
    "Materialize > choose the ID ranges and days (one run per ID range)."
)


# --------------------------------------------------------------------------- the run's slice
def check_settings(settings: SyncSettings) -> None:
    """The partitions are built at load time; settings that disagree would shift every cell."""
    if settings.first_day != FIRST_DAY:
        raise dg.Failure(
            description=f"SyncSettings.first_day is {settings.first_day} but the modified_date "
            f"partitions start on {FIRST_DAY}: set STUDENT_SYNC_FIRST_DAY and reload the code "
            "location instead of overriding first_day."
        )
    if settings.timezone != SCHOOL_TIMEZONE:
        raise dg.Failure(
            description=f"SyncSettings.timezone is {settings.timezone} but the daily partitions "
            f"use {SCHOOL_TIMEZONE}; the cells would not be school days."
        )


def resolve_slice(context: dg.OpExecutionContext) -> SyncSlice:
    """The run's cells folded into engine filters, refusing runs Dagster under-delivers.

    Dagster 1.13's job Partitions-tab backfill (a job over a MultiPartitionsDefinition, with a
    single-run backfill policy) tags each run with a partition range AND with the first cell's
    per-dimension tags; the op then receives only that first cell (dagster-io/dagster#28861,
    #17404). Syncing it would quietly skip the rest of the range, so the run fails instead.
    """
    try:
        keys = list(context.partition_keys)
    except dg.DagsterInvariantViolationError:
        raise dg.Failure(
            description="student_sync assets are partitioned by (id_range, modified_date): "
            "pick cells to materialize. " + BACKFILL_HINT
        ) from None
    tags = context.run.tags
    start, end = tags.get(RANGE_START_TAG), tags.get(RANGE_END_TAG)
    if start and end:
        covered = student_partitions.get_partition_keys_in_range(
            dg.PartitionKeyRange(start, end), dynamic_partitions_store=context.instance
        )
        if len(covered) > len(keys):
            raise dg.Failure(
                description=f"This run is tagged with the partition range {start} .. {end} "
                f"({len(covered)} cells) but Dagster handed this step only {len(keys)} "
                f"({', '.join(map(str, keys[:3]))}). That is the job Partitions-tab backfill "
                "path of Dagster 1.13 (dagster-io/dagster#28861), which materializes only the "
                "first partition of a range. Nothing was synced. " + BACKFILL_HINT,
                metadata={"range_cells": len(covered), "received_cells": len(keys)},
            )
    try:
        return fold_partition_keys(keys, first_day=partition_first_day(),
                                   last_day=partition_last_day())
    except ValueError as exc:
        raise dg.Failure(description=f"{exc}. " + BACKFILL_HINT) from None


# --------------------------------------------------------------------------- engine calls
@contextmanager
def engine_errors(secrets: tuple[str | None, ...] = ()) -> Iterator[None]:
    """Engine exceptions as Dagster failures with one masked sentence a user can act on."""

    def fail(text: str, exc: BaseException) -> dg.Failure:
        return dg.Failure(description=mask_text(text, *secrets),
                          metadata={"error_type": type(exc).__name__})

    try:
        yield
    except LockHeld as exc:
        # A CLI run (cron) holds the engine's lock: wait for it rather than fail the night.
        raise dg.RetryRequested(max_retries=3, seconds_to_wait=120) from exc
    except StaleChangeSet as exc:
        raise fail(f"{exc}. Re-execute the whole run (not 'from failure') so the change set is "
                   "planned again.", exc) from None
    except MassDeleteRefused as exc:
        raise fail(f"{exc}. In Dagster: set allow_mass_delete in the student_change_set run "
                   "config.", exc) from None
    except (ConfigurationError, DatabaseUnavailable, SyncFailed) as exc:
        raise fail(str(exc), exc) from None


def progress_logger(context: dg.OpExecutionContext, every_seconds: float = 10.0
                    ) -> Callable[[dict[str, Any]], None]:
    """Engine progress as a log line every few seconds (shows in the run's event log)."""
    last = [time.monotonic()]

    def report(info: dict[str, Any]) -> None:
        now = time.monotonic()
        if now - last[0] >= every_seconds:
            last[0] = now
            context.log.info(f"batch {info['batch']}: {info['processed']:,} of "
                             f"{info['total']:,} rows")

    return report


def prune_change_sets(root: Path, retention_days: int) -> int:
    """Delete change sets and handles older than the retention; returns how many went."""
    if not root.exists() or retention_days < 0:
        return 0
    cutoff = time.time() - timedelta(days=retention_days).total_seconds()
    removed = 0
    for entry in root.iterdir():
        if entry.name == "handles" or not entry.is_dir():
            continue
        if entry.stat().st_mtime < cutoff:
            shutil.rmtree(entry, ignore_errors=True)
            removed += 1
    for handle in (root / "handles").glob("*/*.json"):
        if handle.stat().st_mtime < cutoff:
            handle.unlink(missing_ok=True)
    return removed


# --------------------------------------------------------------------------- applied summary
def save_applied_summary(root: Path, change_set_id: str, summary: RunSummary) -> Path:
    """What the apply step did, beside its change set: the report and the checks read it."""
    data = {
        "run_id": summary.run_id, "options": options_to_dict(summary.options),
        "counters": summary.counters.as_dict(), "started_at": summary.started_at.isoformat(),
        "finished_at": summary.finished_at.isoformat(),
        "mapping_version": summary.mapping_version, "database": summary.database,
        "rejections": [asdict(r) for r in summary.rejections], "status": summary.status,
        "conflicts": [asdict(c) for c in summary.conflicts],
        "error": summary.error,
    }
    path = root / change_set_id / APPLIED_SUMMARY_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, default=str), encoding="utf-8")
    tmp.replace(path)
    return path


def _counters(data: dict[str, Any]) -> Counters:
    counters = Counters(total_legacy_records=data["total_legacy_records"],
                        records_processed=data["records_processed"],
                        vanished=data["vanished"], batches=data["batches"],
                        conflicts=data.get("conflicts", 0),
                        open_conflicts=data.get("open_conflicts", 0))
    for name in ("classes", "persons", "students", "emergency_contacts", "sponsorships",
                 "rejections", "warnings"):
        setattr(counters, name, Counter(data[name]))
    return counters


def load_applied_summary(root: Path, change_set_id: str) -> RunSummary:
    path = root / change_set_id / APPLIED_SUMMARY_FILE
    if not path.exists():
        raise dg.Failure(description=f"change set {change_set_id} has not been applied: "
                         "materialize student_profiles (and its siblings) for these cells first")
    data = json.loads(path.read_text(encoding="utf-8"))
    return RunSummary(
        run_id=data["run_id"], options=options_from_dict(data["options"]),
        counters=_counters(data["counters"]),
        started_at=datetime.fromisoformat(data["started_at"]),
        finished_at=datetime.fromisoformat(data["finished_at"]),
        mapping_version=data["mapping_version"], database=data["database"],
        rejections=[Rejection(**r) for r in data["rejections"]], status=data["status"],
        conflicts=[Conflict(**c) for c in data.get("conflicts", [])],
        error=data["error"],
    )


# --------------------------------------------------------------------------- metadata
def slice_metadata(sl: SyncSlice) -> dict[str, Any]:
    return {
        "slice": dg.MetadataValue.text(sl.label),
        "date_window": dg.MetadataValue.text(sl.window_label),
        "cells": dg.MetadataValue.int(sl.cells),
    }


def rate_metadata(counters: Counters) -> dict[str, Any]:
    """Rates and levels exactly as the report and the CLI's console block state them."""
    return {
        "success_rate": dg.MetadataValue.float(round(counters.success_rate, 2)),
        "success_level": dg.MetadataValue.text(success_level(counters.success_rate)),
        "efficiency": dg.MetadataValue.float(round(counters.efficiency, 2)),
        "efficiency_level": dg.MetadataValue.text(efficiency_level(counters.efficiency)),
        "rejected": dg.MetadataValue.int(counters.rejected),
        "rejection_breakdown": dg.MetadataValue.json(dict(counters.rejections.most_common())),
    }


def plan_metadata(summary: RunSummary, sl: SyncSlice, change_set_id: str,
                  seconds: float) -> dict[str, Any]:
    c, o = summary.counters, summary.options
    classes = {name: dg.MetadataValue.int(c.classes[name])
               for name in ("create", "update", "unchanged", "delete", "reject")}
    return {
        "change_set_id": dg.MetadataValue.text(change_set_id),
        **slice_metadata(sl),
        "total_legacy_records": dg.MetadataValue.int(c.total_legacy_records),
        "records_processed": dg.MetadataValue.int(c.records_processed),
        **classes,
        "vanished": dg.MetadataValue.int(c.vanished),
        "planned_children": dg.MetadataValue.json({
            "emergency_contacts": dict(c.emergency_contacts),
            "sponsorships": dict(c.sponsorships),
        }),
        **rate_metadata(c),
        "warnings": dg.MetadataValue.json(dict(c.warnings.most_common())),
        "batches": dg.MetadataValue.int(c.batches),
        "mode": dg.MetadataValue.text(o.mode),
        "force_update": dg.MetadataValue.bool(o.force_update),
        "dry_run": dg.MetadataValue.bool(o.dry_run),
        "limit": dg.MetadataValue.int(o.limit) if o.limit else dg.MetadataValue.text("none"),
        "mapping_version": dg.MetadataValue.text(summary.mapping_version),
        "duration_seconds": dg.MetadataValue.float(round(seconds, 3)),
    }


TABLE_COUNTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    # asset name -> (Counters attribute, the keys the report shows for it)
    "persons": ("persons", ("created", "updated", "skipped", "deleted")),
    "student_profiles": ("students", ("created", "updated", "skipped", "deleted")),
    "emergency_contacts": ("emergency_contacts", ("created", "updated", "deleted")),
    "sponsorships": ("sponsorships", ("created", "updated", "ended")),
}


def table_metadata(asset_name: str, summary: RunSummary, sl: SyncSlice, change_set_id: str,
                   seconds: float) -> dict[str, Any]:
    """One SIS table's share of the apply: its own counts plus the run's rates."""
    c = summary.counters
    attribute, keys = TABLE_COUNTERS[asset_name]
    counter: Counter = getattr(c, attribute)
    counts = {key: dg.MetadataValue.int(counter.get(key, 0)) for key in keys}
    return {
        **counts,
        "records_processed": dg.MetadataValue.int(c.records_processed),
        **rate_metadata(c),
        **slice_metadata(sl),
        "change_set_id": dg.MetadataValue.text(change_set_id),
        "dry_run": dg.MetadataValue.bool(summary.options.dry_run),
        "database": dg.MetadataValue.text(summary.database),
        "duration_seconds": dg.MetadataValue.float(round(seconds, 3)),
    }


# --------------------------------------------------------------------------- checks' input
def applied_summary_for_check(context: dg.AssetCheckExecutionContext, asset_key: dg.AssetKey,
                              root: Path) -> tuple[RunSummary, str]:
    """The apply this check judges: the asset's materialization in this run, else the latest.

    The checks are not partitioned (partitioned checks are a preview feature in 1.13), so
    they read the change-set id the apply step recorded instead of loading the asset value.
    """
    # All cells of one run share one change set; this run's newest record is enough.
    records = context.instance.fetch_materializations(asset_key, limit=100).records
    mine = [r for r in records if r.run_id == context.run.run_id]
    chosen = mine[0] if mine else (records[0] if records else None)
    materialization = chosen.asset_materialization if chosen else None
    value = materialization.metadata.get("change_set_id") if materialization else None
    change_set_id = value.value if value is not None else None
    if not isinstance(change_set_id, str):
        raise dg.Failure(description=f"{asset_key.to_user_string()} has no materialization "
                         "with a change set to check yet")
    return load_applied_summary(root, change_set_id), change_set_id


def elapsed(started: float) -> float:
    return time.monotonic() - started


__all__ = [
    "BACKFILL_HINT",
    "RANGE_END_TAG",
    "RANGE_START_TAG",
    "SIS_POOL",
    "applied_summary_for_check",
    "check_settings",
    "elapsed",
    "engine_errors",
    "load_applied_summary",
    "plan_metadata",
    "progress_logger",
    "prune_change_sets",
    "resolve_slice",
    "save_applied_summary",
    "slice_metadata",
    "table_metadata",
]
