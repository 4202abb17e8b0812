"""The asset graph: legacy slice -> change set -> four SIS tables -> report.

Assets only orchestrate: each op resolves its cells into a slice, calls one engine stage and
records what came back as metadata. The plan and the apply are ops inside graph-backed assets
so each shows in the run timeline with its own logs and timing; they pass a change-set id (a
handle to the plan persisted on disk), never rows.
"""


import time
from collections.abc import Iterator
from typing import Any, Literal

import dagster as dg

from student_sync.dagster_support import (
    SIS_POOL,
    check_settings,
    elapsed,
    engine_errors,
    load_applied_summary,
    plan_metadata,
    progress_logger,
    prune_change_sets,
    resolve_slice,
    save_applied_summary,
    slice_metadata,
    table_metadata,
)
from student_sync.engine.model import efficiency_level, success_level
from student_sync.engine.options import batch_size_note
from student_sync.engine.profile import profile_legacy
from student_sync.engine.rejections import open_rejections_markdown
from student_sync.engine.report import recommendations
from student_sync.engine.report_html import html_path_for
from student_sync.engine.run import run_sync, write_run_report
from student_sync.partitions import student_partitions
from student_sync.resources import SisDatabase, SyncSettings

GROUP = "student_sync"
HANDLES = "change_set_handles"
TABLE_ASSETS: tuple[str, ...] = ("persons", "student_profiles", "emergency_contacts",
                                 "sponsorships")
# Ranges of cells run as one run each; Dagster splits a 2-D backfill along the dimension with
# fewer keys, so R ID ranges x D days (R <= D) become R runs: one run per ID range.
BACKFILL = dg.BackfillPolicy.single_run()
PARTITIONED: dict[str, Any] = {"partitions_def": student_partitions, "backfill_policy": BACKFILL,
                               "group_name": GROUP}


class PlanConfig(dg.Config):
    """Run options of a sync, as the CLI's flags (set in the launchpad or by a schedule)."""

    mode: Literal["upsert", "create-only", "update-only"] = "upsert"
    force_update: bool = False
    limit: int | None = None
    dry_run: bool = False
    batch_size: int | None = None  # None: SyncSettings.batch_size
    allow_mass_delete: bool = False


@dg.asset(
    **PARTITIONED,
    kinds={"sql"},
    description="The legacy rows of the selected cells: row count, unusable ids and how empty "
    "the key columns are, before anything is planned.",
)
def legacy_students(context: dg.AssetExecutionContext, sis: SisDatabase,
                    settings: SyncSettings) -> dg.MaterializeResult:
    check_settings(settings)
    sl = resolve_slice(context.op_execution_context)
    options = settings.base_options().with_(id_ranges=sl.id_ranges, window=sl.window)
    started = time.monotonic()
    with engine_errors():
        profile = profile_legacy(sis.urls(), options)
    context.log.info(f"{sl.label}: {profile.row_count:,} legacy rows "
                     f"({profile.bad_id_count:,} unusable ids in the window)")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": dg.MetadataValue.int(profile.row_count),
        "bad_id_count": dg.MetadataValue.int(profile.bad_id_count),
        **{f"null_rate_{name}": dg.MetadataValue.float(round(rate, 2))
           for name, rate in profile.null_rates.items()},
        **slice_metadata(sl),
        "source": dg.MetadataValue.text(sis.describe()),
        "duration_seconds": dg.MetadataValue.float(round(elapsed(started), 3)),
    })


@dg.op(
    ins={"legacy_students": dg.In(dg.Nothing)},
    out=dg.Out(str, io_manager_key=HANDLES, description="The change-set id."),
    pool=SIS_POOL,
)
def plan_student_changes(context: dg.OpExecutionContext, config: PlanConfig, sis: SisDatabase,
                         settings: SyncSettings) -> dg.Output[str]:
    """IPK/fingerprint diff of the slice, persisted as a change set; writes nothing to the SIS."""
    check_settings(settings)
    sl = resolve_slice(context)
    options = settings.base_options().with_(
        mode=config.mode, force_update=config.force_update, limit=config.limit,
        dry_run=config.dry_run, batch_size=config.batch_size or settings.batch_size,
        allow_mass_delete=config.allow_mass_delete or settings.allow_mass_delete,
        id_ranges=sl.id_ranges, window=sl.window,
    )
    if note := batch_size_note(options.batch_size):
        context.log.warning(note)  # the engine clamps it
    root = settings.change_set_root()
    pruned = prune_change_sets(root, settings.change_set_retention_days)
    if pruned:
        context.log.info(f"removed {pruned} change set(s) older than "
                         f"{settings.change_set_retention_days} days")
    context.log.info(f"planning {sl.label}; {sl.window_label}; on {sis.describe()}")
    started = time.monotonic()
    with engine_errors():
        result = run_sync(sis.urls(), options, stage="plan", change_set_root=root,
                          progress=progress_logger(context), write_report_file=False)
    change_set_id = result.change_set_id
    assert change_set_id is not None, "the plan stage always returns a change set"
    c = result.counters
    context.log.info(f"change set {change_set_id}: " + ", ".join(
        f"{name} {c.classes[name]:,}" for name in ("create", "update", "unchanged", "delete",
                                                   "reject")))
    return dg.Output(change_set_id,
                     metadata=plan_metadata(result.summary, sl, change_set_id, elapsed(started)))


def _plan_config(config: dict[str, Any]) -> dict[str, Any]:
    # The launchpad shows the plan options one level up: ops.student_change_set.config.
    return {"plan_student_changes": {"config": config}}


@dg.graph_asset(
    **PARTITIONED,
    ins={"legacy_students": dg.AssetIn(dagster_type=dg.Nothing)},
    config=dg.ConfigMapping(config_fn=_plan_config,
                            config_schema=PlanConfig.to_config_schema()),
    kinds={"python"},
    description="The plan: every row of the slice classed create / update / unchanged / "
    "delete / reject, with its child actions, persisted as gzip JSON batches.",
)
def student_change_set(legacy_students: None) -> Any:
    return plan_student_changes(legacy_students)


@dg.op(
    # Optional: a dry run writes nothing, so it must not mark the tables' cells materialized.
    out={name: dg.Out(str, io_manager_key=HANDLES, is_required=False) for name in TABLE_ASSETS},
    pool=SIS_POOL,
)
def apply_student_changes(context: dg.OpExecutionContext, change_set_id: str, sis: SisDatabase,
                          settings: SyncSettings) -> Iterator[dg.Output[str]]:
    """Batched upserts from the change set: one transaction per batch across the four tables.

    A dry-run change set goes through the same stage (which writes nothing), writes its
    report like the CLI does, and yields no table outputs: the cells stay as they were.
    """
    sl = resolve_slice(context)
    root = settings.change_set_root()
    started = time.monotonic()
    with engine_errors():
        result = run_sync(sis.urls(), settings.base_options(), stage="apply",
                          change_set_root=root, change_set_id=change_set_id,
                          progress=progress_logger(context), write_report_file=False)
    save_applied_summary(root, change_set_id, result.summary)
    seconds = elapsed(started)
    c = result.counters
    rates = (f"success {c.success_rate:.1f}% ({success_level(c.success_rate)}), "
             f"efficiency {c.efficiency:.1f}% ({efficiency_level(c.efficiency)})")
    if result.summary.options.dry_run:
        path = write_run_report(sis.urls().sis, result.summary, settings.reports_path(),
                                link=False)
        context.log.info(f"dry run of change set {change_set_id}: nothing written, the SIS "
                         f"tables and sync_report are not materialized; {rates}; report {path}")
        return
    context.log.info(f"applied change set {change_set_id}: {rates}")
    for name in TABLE_ASSETS:
        yield dg.Output(change_set_id, output_name=name,
                        metadata=table_metadata(name, result.summary, sl, change_set_id, seconds))


@dg.graph_multi_asset(
    outs={
        "persons": dg.AssetOut(io_manager_key=HANDLES, kinds={"postgres"}, is_required=False,
                               description="people_person rows of the synced students."),
        "student_profiles": dg.AssetOut(io_manager_key=HANDLES, kinds={"postgres"},
                                        is_required=False,
                                        description="people_studentprofile rows."),
        "emergency_contacts": dg.AssetOut(io_manager_key=HANDLES, kinds={"postgres"},
                                          is_required=False,
                                          description="The primary people_emergencycontact."),
        "sponsorships": dg.AssetOut(io_manager_key=HANDLES, kinds={"postgres"},
                                    is_required=False,
                                    description="scholarships_sponsoredstudent periods."),
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
def sync_report(context: dg.AssetExecutionContext, student_profiles: str, sis: SisDatabase,
                settings: SyncSettings) -> dg.MaterializeResult:
    summary = load_applied_summary(settings.change_set_root(), student_profiles)
    path = write_run_report(sis.urls().sis, summary, settings.reports_path(), link=True)
    with engine_errors():
        open_rejections = open_rejections_markdown(sis.urls(), timezone=summary.options.timezone)
    c = summary.counters
    context.log.info(f"report written: {path} and {html_path_for(path).name}")
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(path.resolve())),
        "html_report": dg.MetadataValue.path(str(html_path_for(path).resolve())),
        "rejections": dg.MetadataValue.int(c.rejected),
        "records_processed": dg.MetadataValue.int(c.records_processed),
        "success_rate": dg.MetadataValue.float(round(c.success_rate, 2)),
        "success_level": dg.MetadataValue.text(success_level(c.success_rate)),
        "efficiency": dg.MetadataValue.float(round(c.efficiency, 2)),
        "efficiency_level": dg.MetadataValue.text(efficiency_level(c.efficiency)),
        "rejection_breakdown": dg.MetadataValue.json(dict(c.rejections.most_common())),
        "recommendations": dg.MetadataValue.md(
            "\n".join(f"- {line}" for line in recommendations(summary))),
        "change_set_id": dg.MetadataValue.text(student_profiles),
        "open_rejections": dg.MetadataValue.md(open_rejections),
    })


ASSETS = [legacy_students, student_change_set, sis_tables, sync_report]
