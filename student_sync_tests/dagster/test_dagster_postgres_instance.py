"""Dagster's own storage on PostgreSQL (dagster-postgres): a schedule tick and an asset backfill.

The instance keeps runs, events, schedules and dynamic partitions in a PostgreSQL database of
its own (as the README's "Instance storage" advises for a deployment); the sync writes its SIS
database beside it. The backfill is driven by Dagster's backfill daemon iteration over the
code location ``student_sync.definitions`` (loaded in this process), the path the UI's
"Materialize > Launch backfill" takes (one run per ID range).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.test_utils import create_test_daemon_workspace_context
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
from dagster._daemon.backfill import execute_backfill_iteration
from sqlalchemy.engine import make_url

from student_sync.engine.db import DATABASE_URL_ENV
from student_sync.orchestration.automation import student_sync_daily_schedule
from student_sync.orchestration.partitions import ID_RANGES_NAME, cell_key
from student_sync_tests.conftest import fresh_postgres_url
from student_sync_tests.dagster.support import CELL_ASSET_NAMES, Days, sample_rows, table_state
from student_sync_tests.helpers import init_db, write_legacy

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[dg.DagsterInstance, str]]:
    """An instance on a fresh PostgreSQL database; runs launch at once, in this process."""
    monkeypatch.chdir(tmp_path)  # reports/ of the runs land here
    for storage_url in fresh_postgres_url():
        # dagster-postgres speaks psycopg2: the plain postgresql:// scheme.
        plain = (
            make_url(storage_url).set(drivername="postgresql").render_as_string(hide_password=False)
        )
        overrides = {
            "storage": {"postgres": {"postgres_url": plain}},
            "run_coordinator": {
                "module": "dagster._core.run_coordinator",
                "class": "DefaultRunCoordinator",
            },
            "run_launcher": {
                "module": "dagster._core.launcher.sync_in_memory_run_launcher",
                "class": "SyncInMemoryRunLauncher",
            },
        }
        with dg.instance_for_test(overrides=overrides) as instance:
            yield instance, plain


@pytest.fixture
def sis(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The SIS database the code location is configured with (through its env variable)."""
    init_db(pg_url)
    write_legacy(pg_url, sample_rows(Days()))
    monkeypatch.setenv(DATABASE_URL_ENV, pg_url)
    return pg_url


def test_schedule_tick_on_postgres_instance_storage(
    pg_instance: tuple[dg.DagsterInstance, str], sis: str
) -> None:
    instance, _ = pg_instance
    assert "postgres" in type(instance.run_storage).__name__.lower()
    instance.add_dynamic_partitions(ID_RANGES_NAME, ["0-999", "1000-1999"])
    days = Days()
    from student_sync.definitions import defs

    # 02:00 school time today: the tick asks for yesterday's cell of each range.
    when = datetime.combine(days.last + timedelta(days=1), time(2), ZoneInfo("Asia/Phnom_Penh"))
    context = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=when, repository_def=defs.get_repository_def()
    )
    (request,) = student_sync_daily_schedule.evaluate_tick(context).run_requests or []
    cells = {str(cell_key(r, days.last.isoformat())) for r in ("0-999", "1000-1999")}
    job = defs.resolve_job_def("student_sync_job")
    result = job.execute_in_process(
        instance=instance, run_config=request.run_config, tags=request.tags
    )
    assert result.success
    # Runs, events and partitions live in PostgreSQL: the SIS got yesterday's students.
    for asset in ("student_profiles", "sync_report"):
        assert instance.get_materialized_partitions(dg.AssetKey(asset)) == cells
    assert len(instance.get_runs()) == 1
    state = table_state(sis)
    assert len(state["people_studentprofile"]) == 20 + 3  # ids 1-21 but 7, and 1001-1003


def test_asset_backfill_on_postgres_instance_storage(
    pg_instance: tuple[dg.DagsterInstance, str], sis: str
) -> None:
    """Two ID ranges x two days, all seven assets: two runs (one per range), all cells done."""
    instance, _ = pg_instance
    instance.add_dynamic_partitions(ID_RANGES_NAME, ["0-999", "1000-1999"])
    days = Days()
    cells = [
        str(cell_key(r, d.isoformat()))
        for r in ("0-999", "1000-1999")
        for d in (days.before, days.last)
    ]
    target = InProcessWorkspaceLoadTarget(
        InProcessCodeLocationOrigin(
            LoadableTargetOrigin(module_name="student_sync.definitions"),
            location_name="student_sync",
        )
    )
    with create_test_daemon_workspace_context(target, instance) as context:
        asset_graph = context.create_request_context().asset_graph
        backfill = PartitionBackfill.from_asset_partitions(
            backfill_id="pgbackfill",
            asset_graph=asset_graph,
            partition_names=cells,
            asset_selection=[dg.AssetKey(a) for a in CELL_ASSET_NAMES],
            backfill_timestamp=datetime.now().timestamp(),
            tags={},
            dynamic_partitions_store=instance,
            all_partitions=False,
            title=None,
            description=None,
            run_config=None,
        )
        instance.add_backfill(backfill)
        logger = logging.getLogger("student_sync_tests.backfill")
        for _ in range(6):  # request runs, then see them finish and close the backfill
            list(execute_backfill_iteration(context, logger))
            if instance.get_backfill("pgbackfill").status != BulkActionStatus.REQUESTED:
                break
    assert instance.get_backfill("pgbackfill").status == BulkActionStatus.COMPLETED_SUCCESS
    runs = instance.get_runs()
    assert len(runs) == 2 and all(r.is_success for r in runs)
    for asset in CELL_ASSET_NAMES:
        assert instance.get_materialized_partitions(dg.AssetKey(asset)) == set(cells), asset
    assert len(table_state(sis)["people_studentprofile"]) == 20 + 2 + 4
