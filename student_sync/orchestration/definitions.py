"""The Dagster ``Definitions`` of student_sync (``student_sync.definitions`` re-exports them)."""

from __future__ import annotations

from typing import Any

import dagster as dg

from student_sync.orchestration.assets import ASSETS
from student_sync.orchestration.automation import JOBS, SCHEDULES, SENSORS
from student_sync.orchestration.checks import CHECKS
from student_sync.orchestration.full_refresh import sis_full_refresh
from student_sync.orchestration.handles import HANDLES, ChangeSetHandles
from student_sync.orchestration.resources import SisDatabase, SyncSettings, sis_database_from_env


def build_resources(sis: SisDatabase, settings: SyncSettings) -> dict[str, Any]:
    """The resources every asset, check and sensor of the project needs."""
    return {"sis": sis, "settings": settings, HANDLES: ChangeSetHandles(sis=sis)}


def build_definitions(sis: SisDatabase, settings: SyncSettings) -> dg.Definitions:
    """Everything Dagster loads, for the given resources (tests pass their own)."""
    return dg.Definitions(
        assets=[*ASSETS, sis_full_refresh],
        asset_checks=CHECKS,
        jobs=JOBS,
        schedules=SCHEDULES,
        sensors=SENSORS,
        # Also for materializations launched from the asset pages: every step in the run's
        # own process (the engine starts its own workers), not one subprocess per step.
        executor=dg.in_process_executor,
        resources=build_resources(sis, settings),
    )


defs = build_definitions(sis_database_from_env(), SyncSettings())
