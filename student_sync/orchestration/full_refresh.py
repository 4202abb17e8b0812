"""The weekly full refresh: one asset keyed by ID range only, one engine run per range.

A full refresh rewrites every row of a range (``force_update``) and, as a full scan, is what
finds students the legacy table lost. Run as the 2-D assets over every day since the first
partition day, it recorded one materialization per cell and asset: after three years, 19
ranges x 1,096 days x 7 assets = ~146,000 events every Sunday, about an hour of Dagster
bookkeeping for ~20 s of syncing. Keyed by ID range only, it records one materialization per
range however many days have passed. The cells of the 2-D assets keep what the daily runs
and backfills recorded; this asset's own partitions show when each range was last refreshed.
"""

import time
from typing import Literal

import dagster as dg

from student_sync.engine import DateWindow, sync
from student_sync.orchestration.assets import GROUP, SIS_KIND
from student_sync.orchestration.engine_calls import (
    SIS_POOL,
    elapsed,
    engine_errors,
    progress_logger,
)
from student_sync.orchestration.metadata import (
    TABLE_COUNTERS,
    counts_metadata,
    rate_metadata,
    rejections_table,
    table_counts,
)
from student_sync.orchestration.partitions import id_ranges_partitions, parse_range_key
from student_sync.orchestration.resources import SisDatabase, SyncSettings
from student_sync.orchestration.slices import check_range_keys

FULL_REFRESH = "sis_full_refresh"


class FullRefreshConfig(dg.Config):
    """Run options of a full refresh (the weekly schedule keeps the defaults)."""

    mode: Literal["upsert", "create-only", "update-only"] = "upsert"
    force_update: bool = True
    allow_mass_delete: bool = False
    batch_size: int | None = None  # None: SyncSettings.batch_size


@dg.asset(
    name=FULL_REFRESH,
    partitions_def=id_ranges_partitions,
    group_name=GROUP,
    pool=SIS_POOL,
    kinds={SIS_KIND},
    description="Every row of one ID range, every day since the first: a force-update full "
    "scan writing the SIS tables (and soft-deleting students the legacy table lost). One "
    "materialization per range; the weekly schedule runs it for every registered range.",
)
def sis_full_refresh(
    context: dg.AssetExecutionContext,
    config: FullRefreshConfig,
    sis: SisDatabase,
    settings: SyncSettings,
) -> dg.MaterializeResult:
    key = context.partition_key
    check_range_keys([key], context.instance)
    options = settings.base_options().with_(
        mode=config.mode,
        force_update=config.force_update,
        window=DateWindow(),
        id_ranges=(parse_range_key(key),),
        batch_size=config.batch_size or settings.batch_size,
        allow_mass_delete=config.allow_mass_delete or settings.allow_mass_delete,
    )
    context.log.info(
        f"full refresh of ids {key} (force_update={config.force_update}) on {sis.describe()}"
    )
    started = time.monotonic()
    with engine_errors():
        result = sync(sis.urls(), options, progress=progress_logger(context))
    summary, c = result.summary, result.counters
    context.log.info(f"ids {key}: {c.records_processed:,} rows; report {result.report_path}")
    per_table = {
        f"{asset}_{k}": v for asset in TABLE_COUNTERS for k, v in table_counts(asset, c).items()
    }
    return dg.MaterializeResult(
        metadata={
            "id_range": dg.MetadataValue.text(key),
            **counts_metadata(
                {
                    "total_legacy_records": c.total_legacy_records,
                    "records_processed": c.records_processed,
                    "vanished": c.vanished,
                    **per_table,
                },
                cells=1,
            ),
            **rate_metadata(c, summary.options, cells=1),
            **rejections_table(summary.rejections, c.rejected),
            "force_update": dg.MetadataValue.bool(config.force_update),
            "report": dg.MetadataValue.path(str(result.report_path.resolve()))
            if result.report_path
            else dg.MetadataValue.text("not written"),
            "database": dg.MetadataValue.text(summary.database),
            "duration_seconds": dg.MetadataValue.float(round(elapsed(started), 3)),
        }
    )
