"""The one entry point Dagster loads (workspace.yaml, ``dg``, ``dagster dev -m``)."""

from __future__ import annotations

import dagster as dg

from student_sync.assets import ASSETS, HANDLES
from student_sync.automation import JOBS, SCHEDULES, SENSORS
from student_sync.checks import CHECKS
from student_sync.resources import ChangeSetHandles, SyncSettings, sis_database_from_env

settings = SyncSettings()

defs = dg.Definitions(
    assets=ASSETS,
    asset_checks=CHECKS,
    jobs=JOBS,
    schedules=SCHEDULES,
    sensors=SENSORS,
    resources={
        "sis": sis_database_from_env(),
        "settings": settings,
        HANDLES: ChangeSetHandles(settings=settings),
    },
)
