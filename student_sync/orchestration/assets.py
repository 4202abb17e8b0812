"""The asset graph: legacy slice -> change set -> four SIS tables -> report.

Assets only orchestrate: each op resolves its cells into a slice, calls one engine stage and
records what came back as metadata. The plan and the apply are ops inside graph-backed assets
so each shows in the run timeline with its own logs and timing; they pass a change-set id (a
handle to the plan stored in the SIS database's sync tables), never rows.
"""

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, Literal

import dagster as dg

from student_sync.engine import (
    applied_summary,
    apply_change_set,
    batch_size_note,
    conflicts_markdown,
    html_path_for,
    open_rejections_markdown,
    plan_change_set,
    profile_legacy,
    recommendations,
    success_level,
    write_run_report,
)
from student_sync.orchestration.engine_calls import (
    SIS_POOL,
    elapsed,
    engine_errors,
    progress_logger,
)
from student_sync.orchestration.handles import HANDLES, cells_scope
from student_sync.orchestration.metadata import (
    counts_metadata,
    efficiency_rating,
    named,
    plan_metadata,
    rate_metadata,
    scope_metadata,
    table_metadata,
)
from student_sync.orchestration.partitions import student_partitions
from student_sync.orchestration.resources import (
    SisDatabase,
    SyncSettings,
    configured_database_kind,
)
from student_sync.orchestration.slices import check_settings, resolve_slice

GROUP = "student_sync"
# The kind badge names the database this code location is configured with.
SIS_KIND = configured_database_kind()
TABLE_ASSETS: tuple[str, ...] = (
    "persons",
    "student_profiles",
    "emergency_contacts",
    "sponsorships",
)
# Ranges of cells run as one run each; Dagster splits a 2-D backfill along the dimension with
# fewer keys, so R ID ranges x D days (R <= D) become R runs: one run per ID range.
BACKFILL = dg.BackfillPolicy.single_run()
PARTITIONED: dict[str, Any] = {
    "partitions_def": student_partitions,
    "backfill_policy": BACKFILL,
    "group_name": GROUP,
}


class PlanConfig(dg.Config):
    """Run options of a sync, as the CLI's flags (set in the launchpad or by a schedule)."""

    mode: Literal["upsert", "create-only", "update-only"] = "upsert"
    force_update: bool = False
    on_conflict: str | None = None  # keep-sis or legacy-wins; None: SyncSettings.on_conflict
    limit: int | None = None
    dry_run: bool = False
    batch_size: int | None = None  # None: SyncSettings.batch_size
    allow_mass_delete: bool = False


@dg.asset(
    **PARTITIONED,
    kinds={SIS_KIND},
    description="The legacy rows of the selected cells: row count, unusable ids and how empty "
    "the key columns are, before anything is planned.",
)
def legacy_students(
    context: dg.AssetExecutionContext, sis: SisDatabase, settings: SyncSettings
) -> dg.MaterializeResult:
    check_settings(settings)
    sl = resolve_slice(context.op_execution_context)
    options = settings.base_options().with_(id_ranges=sl.id_ranges, window=sl.window)
    started = time.monotonic()
    with engine_errors():
        profile = profile_legacy(sis.urls(), options)
    context.log.info(
        f"{sl.label}: {profile.row_count:,} legacy rows "
        f"({profile.bad_id_count:,} unusable ids in the window)"
    )
    rows = (
        {"dagster/row_count": dg.MetadataValue.int(profile.row_count)}
        if sl.cells == 1
        else counts_metadata({"row_count": profile.row_count}, sl.cells)
    )
    return dg.MaterializeResult(
        metadata={
            **rows,
            **counts_metadata({"bad_id_count": profile.bad_id_count}, sl.cells),
            **{
                named(f"null_rate_{name}", sl.cells): dg.MetadataValue.float(round(rate, 2))
                for name, rate in profile.null_rates.items()
            },
            **scope_metadata(sl),
            "source": dg.MetadataValue.text(sis.describe()),
            "duration_seconds": dg.MetadataValue.float(round(elapsed(started), 3)),
        }
    )


@dg.op(
    ins={"legacy_students": dg.In(dg.Nothing)},
    out=dg.Out(str, io_manager_key=HANDLES, description="The change-set id."),
    pool=SIS_POOL,
)
def plan_student_changes(
    context: dg.OpExecutionContext, config: PlanConfig, sis: SisDatabase, settings: SyncSettings
) -> dg.Output[str]:
    """IPK/fingerprint diff of the slice, persisted as a change set; writes nothing to the SIS."""
    check_settings(settings)
    sl = resolve_slice(context)
    options = settings.base_options().with_(
        mode=config.mode,
        force_update=config.force_update,
        limit=config.limit,
        dry_run=config.dry_run,
        batch_size=config.batch_size or settings.batch_size,
        allow_mass_delete=config.allow_mass_delete or settings.allow_mass_delete,
        id_ranges=sl.id_ranges,
        window=sl.window,
        on_conflict=config.on_conflict or settings.on_conflict,
    )
    if note := batch_size_note(options.batch_size):
        context.log.warning(note)  # the engine clamps it
    context.log.info(f"planning {sl.label}; {sl.window_label}; on {sis.describe()}")
    started = time.monotonic()
    with engine_errors():
        result = plan_change_set(
            sis.urls(),
            options,
            scope=cells_scope([str(k) for k in context.partition_keys]),
            prune_after=timedelta(days=settings.change_set_retention_days),
            progress=progress_logger(context),
        )
    change_set_id = result.change_set_id
    assert change_set_id is not None, "plan_change_set always returns a change set"
    c = result.counters
    context.log.info(
        f"change set {change_set_id}: "
        + ", ".join(
            f"{name} {c.classes[name]:,}"
            for name in ("create", "update", "unchanged", "delete", "reject")
        )
    )
    return dg.Output(
        change_set_id, metadata=plan_metadata(result.summary, sl, change_set_id, elapsed(started))
    )


def _plan_config(config: dict[str, Any]) -> dict[str, Any]:
    # The launchpad shows the plan options one level up: ops.student_change_set.config.
    return {"plan_student_changes": {"config": config}}


@dg.graph_asset(
    **PARTITIONED,
    ins={"legacy_students": dg.AssetIn(dagster_type=dg.Nothing)},
    config=dg.ConfigMapping(config_fn=_plan_config, config_schema=PlanConfig.to_config_schema()),
    kinds={"python"},
    description="The plan: every row of the slice classed create / update / unchanged / "
    "delete / reject, with its child actions, stored as gzip JSON batches in the SIS "
    "database's student_sync_change_set tables.",
)
def student_change_set(legacy_students: None) -> Any:
    return plan_student_changes(legacy_students)


@dg.op(
    # Optional: a dry run writes nothing, so it must not mark the tables' cells materialized.
    out={name: dg.Out(str, io_manager_key=HANDLES, is_required=False) for name in TABLE_ASSETS},
    pool=SIS_POOL,
)
def apply_student_changes(
    context: dg.OpExecutionContext, change_set_id: str, sis: SisDatabase, settings: SyncSettings
) -> Iterator[dg.Output[str]]:
    """Batched upserts from the change set: one transaction per batch across the four tables.

    A dry-run change set goes through the same stage (which writes nothing), writes its
    report like the CLI does, and yields no table outputs: the cells stay as they were.
    """
    sl = resolve_slice(context)
    started = time.monotonic()
    with engine_errors():
        result = apply_change_set(
            sis.urls(),
            change_set_id,
            progress=progress_logger(context),
            write_report_file=False,
        )
    seconds = elapsed(started)
    c = result.counters
    rates = (
        f"success {c.success_rate:.1f}% ({success_level(c.success_rate)}), "
        f"efficiency {c.efficiency:.1f}% "
        f"({efficiency_rating(c, result.summary.options)})"
        if c.records_processed
        else "no rows in this slice"
    )
    if result.summary.options.dry_run:
        path = write_run_report(sis.urls().sis, result.summary, settings.reports_path(), link=False)
        context.log.info(
            f"dry run of change set {change_set_id}: nothing written, the SIS "
            f"tables and sync_report are not materialized; {rates}; report {path}"
        )
        return
    context.log.info(f"applied change set {change_set_id}: {rates}")
    for name in TABLE_ASSETS:
        yield dg.Output(
            change_set_id,
            output_name=name,
            metadata=table_metadata(name, result.summary, sl, change_set_id, seconds),
        )


def _sis_table_out(description: str) -> dg.AssetOut:
    """One SIS table the apply writes: its value is the change-set id (a handle, no rows)."""
    return dg.AssetOut(
        io_manager_key=HANDLES, kinds={SIS_KIND}, is_required=False, description=description
    )


@dg.graph_multi_asset(
    outs={
        "persons": _sis_table_out("people_person rows of the synced students."),
        "student_profiles": _sis_table_out("people_studentprofile rows."),
        "emergency_contacts": _sis_table_out("The primary people_emergencycontact."),
        "sponsorships": _sis_table_out("scholarships_sponsoredstudent periods."),
    },
    name="sis_tables",
    **PARTITIONED,
)
def sis_tables(student_change_set: str) -> dict[str, Any]:
    outputs = apply_student_changes(student_change_set)
    return dict(zip(TABLE_ASSETS, outputs, strict=True))


@dg.asset(
    **PARTITIONED,
    ins={"student_profiles": dg.AssetIn()},
    deps=["persons", "emergency_contacts", "sponsorships"],
    kinds={"json"},
    description="The run's JSON report (the CLI's format) and its HTML page, written to the "
    "reports folder.",
)
def sync_report(
    context: dg.AssetExecutionContext,
    student_profiles: str,
    sis: SisDatabase,
    settings: SyncSettings,
) -> dg.MaterializeResult:
    sl = resolve_slice(context.op_execution_context)
    with engine_errors():
        summary = applied_summary(sis.urls().sis, student_profiles)
        path = write_run_report(sis.urls().sis, summary, settings.reports_path(), link=True)
        open_rejections = open_rejections_markdown(sis.urls(), timezone=summary.options.timezone)
    c = summary.counters
    context.log.info(f"report written: {path} and {html_path_for(path).name}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path.resolve())),
            "html_report": dg.MetadataValue.path(str(html_path_for(path).resolve())),
            **counts_metadata(
                {
                    "records_processed": c.records_processed,
                    "rejections": c.rejected,
                    # Registrar edits the legacy values disagree with, first reported by this run.
                    "conflicts": c.conflicts,
                },
                sl.cells,
            ),
            **rate_metadata(c, summary.options, sl.cells),
            **scope_metadata(sl),
            "recommendations": dg.MetadataValue.md(
                "\n".join(f"- {line}" for line in recommendations(summary))
            ),
            "change_set_id": dg.MetadataValue.text(student_profiles),
            "open_rejections": dg.MetadataValue.md(open_rejections),
            # Open in the whole SIS database after the run (not a per-cell number), and this
            # run's conflicts as a table.
            "open_conflicts": dg.MetadataValue.int(c.open_conflicts),
            "conflict_table": dg.MetadataValue.md(conflicts_markdown(summary.conflicts)),
        }
    )


ASSETS = [legacy_students, student_change_set, sis_tables, sync_report]
