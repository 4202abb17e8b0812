"""What runs unattended: range registration, the daily and weekly syncs, failure alerts.

Names start with ``student_sync_`` so a user finds them in the UI's Automation list.
"""

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg

from student_sync.engine import ConfigurationError, legacy_id_bounds, mask_text
from student_sync.orchestration.assets import ASSETS
from student_sync.orchestration.full_refresh import sis_full_refresh
from student_sync.orchestration.partitions import (
    ID_RANGES_NAME,
    SCHOOL_TIMEZONE,
    cell_key,
    invalid_range_keys,
    parse_range_key,
    partition_first_day,
    range_key,
    ranges_to_register,
)
from student_sync.orchestration.resources import SisDatabase, SyncSettings
from student_sync.orchestration.slices import RANGE_END_TAG, RANGE_START_TAG

# The engine has its own worker processes; a step subprocess per asset only adds start-up
# time (about 2 s each on a small machine), so the sync's runs execute in one process.
student_sync_job = dg.define_asset_job(
    name="student_sync_job",
    selection=dg.AssetSelection.assets(*ASSETS),
    executor_def=dg.in_process_executor,
    description="legacy slice -> change set -> SIS tables -> report, for the cells a schedule "
    "picks. Backfill from the asset page, not from this job's Partitions tab.",
)

student_sync_full_refresh_job = dg.define_asset_job(
    name="student_sync_full_refresh_job",
    selection=dg.AssetSelection.assets(sis_full_refresh),
    executor_def=dg.in_process_executor,
    description="sis_full_refresh for the ID ranges a schedule picks: one run per range.",
)


# --------------------------------------------------------------------------- ID ranges
def registered_ranges(instance: dg.DagsterInstance) -> list[str]:
    """Valid registered ID-range keys in id order (the daily and weekly runs go through them).

    Keys someone added by hand that are malformed or overlap are left out (the sensor
    removes them).
    """
    keys = instance.get_dynamic_partitions(ID_RANGES_NAME)
    invalid = invalid_range_keys(keys)
    return sorted((k for k in keys if k not in invalid), key=lambda k: parse_range_key(k).start)


@dg.sensor(
    name="student_sync_id_range_sensor",
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Registers new id_range partitions (width SyncSettings.id_range_width) as the "
    "legacy table's numeric ids grow; the cursor remembers the ids already covered. Removes "
    "id_range keys added by hand that are malformed or overlap a registered range.",
)
def student_sync_id_range_sensor(
    context: dg.SensorEvaluationContext, sis: SisDatabase, settings: SyncSettings
) -> dg.SensorResult | dg.SkipReason:
    removed = _remove_invalid_keys(context)
    try:
        bounds = legacy_id_bounds(sis.urls())
    except ConfigurationError as exc:  # e.g. no legacy table yet: nothing to register
        return dg.SkipReason(str(exc))
    if bounds is None:
        return dg.SkipReason("legacy_students has no numeric ids yet")
    low, high = bounds
    cursor = json.dumps({"min_id": low, "max_id": high, "width": settings.id_range_width})
    if context.cursor == cursor and not removed:
        return dg.SkipReason(f"no new ids since the last tick (ids {low}..{high})")
    registered = [parse_range_key(k) for k in registered_ranges(context.instance)]
    wanted = ranges_to_register(low, high, settings.id_range_width, registered)
    batch = wanted[: settings.max_new_ranges_per_tick]
    finished = len(batch) == len(wanted)
    if batch:
        context.log.info(
            f"registering {len(batch)} ID range(s): {range_key(batch[0])} .. "
            f"{range_key(batch[-1])} (legacy ids {low}..{high})"
        )
    return dg.SensorResult(
        dynamic_partitions_requests=[
            *([dg.DeleteDynamicPartitionsRequest(ID_RANGES_NAME, removed)] if removed else []),
            *(
                [dg.AddDynamicPartitionsRequest(ID_RANGES_NAME, [range_key(r) for r in batch])]
                if batch
                else []
            ),
        ],
        # Only a tick that registered everything moves the cursor; the next one continues.
        cursor=cursor if finished else context.cursor,
    )


def _remove_invalid_keys(context: dg.SensorEvaluationContext) -> list[str]:
    """Hand-added id_range keys to delete (malformed or overlapping), logged by reason."""
    invalid = invalid_range_keys(context.instance.get_dynamic_partitions(ID_RANGES_NAME))
    for key, reason in invalid.items():
        context.log.warning(f"removing id_range key {key!r}: {reason}")
    return list(invalid)


# --------------------------------------------------------------------------- schedules
def school_today(moment: datetime | None) -> date:
    return (moment or datetime.now(UTC)).astimezone(ZoneInfo(SCHOOL_TIMEZONE)).date()


def plan_run_config(*, force_update: bool) -> dict[str, Any]:
    return {
        "ops": {"student_change_set": {"config": {"mode": "upsert", "force_update": force_update}}}
    }


def contiguous_segments(registered: Sequence[str]) -> list[list[str]]:
    """Valid keys in registration order, split wherever a hand-added invalid key sits.

    Dagster orders a dynamic dimension by registration, so a partition range from the first to
    the last key of a segment covers exactly that segment's keys.
    """
    invalid = invalid_range_keys(registered)
    segments: list[list[str]] = [[]]
    for key in registered:
        if key in invalid:
            segments.append([])
        else:
            segments[-1].append(key)
    return [s for s in segments if s]


def daily_run_requests(day: date, registered: Sequence[str]) -> list[dg.RunRequest]:
    """One run for ``day``'s cells of every registered range (one per segment, normally one).

    A run costs ~10 s of Dagster overhead (queue, run process, code load) against well under
    a second of syncing per cell; one run per range made the daily sync of 19 ranges last
    5 minutes on this project's machine. The cells' metadata are then the run's totals,
    labelled as such (``run_*`` keys).
    """
    requests = []
    for segment in contiguous_segments(registered):
        first, last = cell_key(segment[0], day.isoformat()), cell_key(segment[-1], day.isoformat())
        tags = {"student_sync/schedule": "daily"}
        if len(segment) > 1:
            tags.update({RANGE_START_TAG: str(first), RANGE_END_TAG: str(last)})
        requests.append(
            dg.RunRequest(
                run_key=f"daily:{day.isoformat()}:{segment[0]}..{segment[-1]}",
                partition_key=first if len(segment) == 1 else None,
                run_config=plan_run_config(force_update=False),
                tags=tags,
            )
        )
    return requests


def full_refresh_run_requests(last: date, ranges: Sequence[str]) -> list[dg.RunRequest]:
    """One ``sis_full_refresh`` run per range: a force-update full scan of that range."""
    return [
        dg.RunRequest(
            run_key=f"weekly:{last.isoformat()}:{r}",
            partition_key=r,
            tags={"student_sync/schedule": "weekly_full_refresh"},
        )
        for r in ranges
    ]


@dg.schedule(
    name="student_sync_daily_schedule",
    cron_schedule="0 2 * * *",
    execution_timezone=SCHOOL_TIMEZONE,
    job=student_sync_job,
    description="02:00 school time: yesterday's cell of every registered ID range, in one "
    "run (metadata are the run's totals, labelled run_*).",
)
def student_sync_daily_schedule(
    context: dg.ScheduleEvaluationContext,
) -> Sequence[dg.RunRequest] | dg.SkipReason:
    yesterday = school_today(context.scheduled_execution_time) - timedelta(days=1)
    if yesterday < partition_first_day():
        return dg.SkipReason(f"{yesterday} is before the first partition day")
    registered = context.instance.get_dynamic_partitions(ID_RANGES_NAME)
    if not contiguous_segments(registered):
        return dg.SkipReason("no ID ranges registered yet (see student_sync_id_range_sensor)")
    return daily_run_requests(yesterday, registered)


@dg.schedule(
    name="student_sync_weekly_full_refresh",
    cron_schedule="0 3 * * 0",
    execution_timezone=SCHOOL_TIMEZONE,
    job=student_sync_full_refresh_job,
    description="Sunday 03:00 school time: sis_full_refresh of every registered ID range (a "
    "force-update full scan, one run per range); also soft-deletes students the legacy table "
    "lost. One materialization per range, however many days have passed.",
)
def student_sync_weekly_full_refresh(
    context: dg.ScheduleEvaluationContext,
) -> Sequence[dg.RunRequest] | dg.SkipReason:
    last = school_today(context.scheduled_execution_time) - timedelta(days=1)
    ranges = registered_ranges(context.instance)
    if not ranges:
        return dg.SkipReason("no ID ranges registered yet (see student_sync_id_range_sensor)")
    return full_refresh_run_requests(last, ranges)


# --------------------------------------------------------------------------- alerts
@dg.run_failure_sensor(
    name="student_sync_run_failure_sensor",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Logs every failed run of this code location and appends it to "
    "<reports_dir>/alerts.jsonl (point a mail or chat hook at that file).",
)
def student_sync_run_failure_sensor(
    context: dg.RunFailureSensorContext, settings: SyncSettings
) -> None:
    run = context.dagster_run
    tags = run.tags
    cells = tags.get("dagster/partition") or (
        f"{tags[RANGE_START_TAG]} .. {tags[RANGE_END_TAG]}" if RANGE_START_TAG in tags else "-"
    )
    message = context.failure_event.message or "run failed"
    for step in context.get_step_failure_events():  # the cause, not just "steps failed"
        data = step.step_failure_data
        description = data.user_failure_data.description if data.user_failure_data else None
        error = data.error
        while error is not None and error.cause is not None:  # the user's own exception
            error = error.cause
        cause = description or (error.message.strip() if error else "")
        if cause:
            message += f" {step.step_key}: {cause.splitlines()[0]}"
    message = mask_text(message)
    alert = {
        "at": datetime.now(UTC).isoformat(),
        "run_id": run.run_id,
        "job": run.job_name,
        "cells": cells,
        "schedule": tags.get("dagster/schedule_name"),
        "backfill": tags.get("dagster/backfill"),
        "message": message,
    }
    context.log.error(f"student_sync run {run.run_id} failed ({cells}): {message}")
    path = settings.reports_path() / "alerts.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(alert) + "\n")


SCHEDULES = [student_sync_daily_schedule, student_sync_weekly_full_refresh]
SENSORS = [student_sync_id_range_sensor, student_sync_run_failure_sensor]
JOBS = [student_sync_job, student_sync_full_refresh_job]
