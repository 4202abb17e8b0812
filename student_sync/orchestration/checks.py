"""Checks on what the apply did, with the guide's thresholds.

Success rate: > 95% passes, 90-95% fails with WARN, < 90% fails with ERROR; the check is
blocking, so an ERROR stops ``sync_report`` in the same run. Efficiency never blocks: its
level is metadata, and it warns only when a low level is not explained by the run itself.
A run that processed no rows passes both and says so: there was nothing to judge.
"""

import dagster as dg

from student_sync.engine import (
    Counters,
    RunSummary,
    applied_summary,
    efficiency_level,
    success_level,
)
from student_sync.orchestration.engine_calls import engine_errors
from student_sync.orchestration.metadata import efficiency_not_rated
from student_sync.orchestration.resources import SisDatabase

PROFILES = dg.AssetKey("student_profiles")


def success_outcome(rate: float) -> tuple[bool, dg.AssetCheckSeverity]:
    """(passed, severity if not) for a success rate in percent."""
    level = success_level(rate)
    if level == "normal":
        return True, dg.AssetCheckSeverity.WARN
    if level == "warning":
        return False, dg.AssetCheckSeverity.WARN
    return False, dg.AssetCheckSeverity.ERROR


def applied_summary_for_check(
    context: dg.AssetCheckExecutionContext, sis: SisDatabase
) -> tuple[RunSummary, str]:
    """The apply this check judges: the asset's materialization in this run, else the latest.

    The checks are not partitioned (partitioned checks are a preview feature in 1.13), so
    they read the change-set id the apply step recorded instead of loading the asset value.
    """
    # All cells of one run share one change set; this run's newest record is enough.
    records = context.instance.fetch_materializations(PROFILES, limit=100).records
    mine = [r for r in records if r.run_id == context.run.run_id]
    chosen = mine[0] if mine else (records[0] if records else None)
    materialization = chosen.asset_materialization if chosen else None
    value = materialization.metadata.get("change_set_id") if materialization else None
    change_set_id = value.value if value is not None else None
    if not isinstance(change_set_id, str):
        raise dg.Failure(
            description=f"{PROFILES.to_user_string()} has no materialization "
            "with a change set to check yet"
        )
    with engine_errors():
        return applied_summary(sis.urls().sis, change_set_id), change_set_id


def _common(summary_counters: Counters, change_set_id: str) -> dict[str, dg.MetadataValue]:
    c = summary_counters
    return {
        "records_processed": dg.MetadataValue.int(c.records_processed),
        "rejected": dg.MetadataValue.int(c.rejected),
        "rejection_breakdown": dg.MetadataValue.json(dict(c.rejections.most_common())),
        "change_set_id": dg.MetadataValue.text(change_set_id),
    }


def nothing_to_judge(counters: Counters, change_set_id: str) -> dg.AssetCheckResult:
    """A run over a slice with no rows passes, saying so instead of showing 100%."""
    return dg.AssetCheckResult(
        passed=True,
        description="no rows in this slice: nothing to judge",
        metadata={"outcome": dg.MetadataValue.text("no rows"), **_common(counters, change_set_id)},
    )


@dg.asset_check(
    asset=PROFILES,
    name="success_rate",
    blocking=True,
    description="Rows not rejected, of rows processed: > 95% pass, 90-95% WARN, < 90% ERROR "
    "(blocks sync_report).",
)
def success_rate_check(
    context: dg.AssetCheckExecutionContext, sis: SisDatabase
) -> dg.AssetCheckResult:
    summary, change_set_id = applied_summary_for_check(context, sis)
    c = summary.counters
    if c.records_processed == 0:
        return nothing_to_judge(c, change_set_id)
    passed, severity = success_outcome(c.success_rate)
    return dg.AssetCheckResult(
        passed=passed,
        severity=severity,
        description=f"success rate {c.success_rate:.1f}% ({success_level(c.success_rate)})",
        metadata={
            "success_rate": dg.MetadataValue.float(round(c.success_rate, 2)),
            "success_level": dg.MetadataValue.text(success_level(c.success_rate)),
            **_common(c, change_set_id),
        },
    )


@dg.asset_check(
    asset=PROFILES,
    name="efficiency",
    description="Rows that needed no write, of rows processed: > 70% optimal, 30-70% "
    "acceptable, < 30% inefficient (WARN only when the run does not explain it).",
)
def efficiency_check(
    context: dg.AssetCheckExecutionContext, sis: SisDatabase
) -> dg.AssetCheckResult:
    summary, change_set_id = applied_summary_for_check(context, sis)
    c = summary.counters
    if c.records_processed == 0:
        return nothing_to_judge(c, change_set_id)
    level = efficiency_level(c.efficiency)
    reason = efficiency_not_rated(c, summary.options) if level == "inefficient" else None
    passed = level != "inefficient" or reason is not None
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"efficiency {c.efficiency:.1f}% ({level})"
        + (f": expected, {reason}" if reason else ""),
        metadata={
            "efficiency": dg.MetadataValue.float(round(c.efficiency, 2)),
            "efficiency_level": dg.MetadataValue.text(f"not rated: {reason}" if reason else level),
            "unchanged": dg.MetadataValue.int(c.classes["unchanged"]),
            **_common(c, change_set_id),
        },
    )


def conflicts_outcome(open_conflicts: int, reported: int) -> tuple[bool, str]:
    """(passed, description): open registrar-edit conflicts warn until someone settles them."""
    if not open_conflicts:
        return True, "no open conflicts between registrar edits and legacy values"
    return False, (
        f"{open_conflicts} open conflict(s): values edited in the SIS that the legacy table "
        f"disagrees with ({reported} new in this run); fix the legacy rows or rerun with "
        "on_conflict legacy-wins"
    )


@dg.asset_check(
    asset=PROFILES,
    name="open_conflicts",
    description="Registrar edits in the SIS that the legacy values disagree with (kept, "
    "reported once): WARN while any is open.",
)
def open_conflicts_check(
    context: dg.AssetCheckExecutionContext, sis: SisDatabase
) -> dg.AssetCheckResult:
    summary, change_set_id = applied_summary_for_check(context, sis)
    c = summary.counters
    passed, description = conflicts_outcome(c.open_conflicts, c.conflicts)
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=description,
        metadata={
            "open_conflicts": dg.MetadataValue.int(c.open_conflicts),
            "conflicts": dg.MetadataValue.int(c.conflicts),
            "change_set_id": dg.MetadataValue.text(change_set_id),
        },
    )


CHECKS = [success_rate_check, efficiency_check, open_conflicts_check]
