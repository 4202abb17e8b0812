"""Which rows a run syncs: its cells, validated and folded into the engine's filters."""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from student_sync.orchestration.partitions import (
    FIRST_DAY,
    ID_RANGES_NAME,
    SCHOOL_TIMEZONE,
    SyncSlice,
    fold_partition_keys,
    invalid_range_keys,
    partition_first_day,
    partition_last_day,
    split_key,
    student_partitions,
)
from student_sync.orchestration.resources import SyncSettings

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
BACKFILL_HINT = (
    "Backfill from the asset page instead: Assets > student_sync > select the assets > "
    "Materialize > choose the ID ranges and days (one run per ID range)."
)
RANGE_KEY_HINT = (
    "ID ranges are registered by student_sync_id_range_sensor; do not add id_range keys by "
    "hand in the Materialize dialog (the sensor removes such keys on its next tick)."
)


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


def check_range_keys(range_keys: Sequence[str], instance: dg.DagsterInstance) -> None:
    """Fail fast, before anything is read, on an id_range key added by hand."""
    registered = instance.get_dynamic_partitions(ID_RANGES_NAME)
    judged = [*registered, *(k for k in range_keys if k not in registered)]
    invalid = invalid_range_keys(judged)
    reasons = [invalid[k] for k in range_keys if k in invalid]
    if reasons:
        raise dg.Failure(description="; ".join(reasons) + ". Nothing was synced. " + RANGE_KEY_HINT)


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
    check_range_keys(sorted({split_key(k)[0] for k in keys}), context.instance)
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
        return fold_partition_keys(
            keys, first_day=partition_first_day(), last_day=partition_last_day()
        )
    except ValueError as exc:
        raise dg.Failure(description=f"{exc}. " + BACKFILL_HINT) from None
