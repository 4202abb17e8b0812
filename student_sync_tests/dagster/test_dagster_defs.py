"""The code location loads the way Dagster's own tools load it, with the names users look for."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from student_sync.definitions import defs
from student_sync.orchestration.resources import configured_database_kind, database_kind

ROOT = Path(__file__).resolve().parents[2]


def test_dg_check_defs_loads_the_project() -> None:
    """`dg check defs` reads [tool.dg] in pyproject.toml and loads student_sync.definitions."""
    venv = Path(sys.executable).parent.parent
    env = {**os.environ, "VIRTUAL_ENV": str(venv), "NO_COLOR": "1"}
    env.pop("STUDENT_SYNC_DATABASE_URL", None)  # loading must not need a database
    done = subprocess.run(
        [str(venv / "bin" / "dg"), "check", "defs"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All definitions loaded successfully" in done.stdout + done.stderr


def test_names_groups_and_policies() -> None:
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == {
        "legacy_students",
        "student_change_set",
        "persons",
        "student_profiles",
        "emergency_contacts",
        "sponsorships",
        "sync_report",
        "sis_full_refresh",
    }
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.group_name == "student_sync"
        assert node.partitions_def is not None
        if key.to_user_string() == "sis_full_refresh":  # keyed by ID range only
            assert isinstance(node.partitions_def, dg.DynamicPartitionsDefinition)
        else:
            assert node.backfill_policy == dg.BackfillPolicy.single_run()
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert checks == {
        ("student_profiles", "success_rate"),
        ("student_profiles", "efficiency"),
        ("student_profiles", "open_conflicts"),
    }
    assert {s.name for s in defs.schedules} == {
        "student_sync_daily_schedule",
        "student_sync_weekly_full_refresh",
    }
    assert {s.name for s in defs.sensors} == {
        "student_sync_id_range_sensor",
        "student_sync_run_failure_sensor",
    }
    job = defs.resolve_job_def("student_sync_job")
    pools = {op.name: op.pool for op in job.graph.iterate_op_defs()}
    assert pools["plan_student_changes"] == pools["apply_student_changes"] == "student_sync_sis"
    # One process per run: the engine has its own workers; a subprocess per step cost seconds.
    for name in ("student_sync_job", "student_sync_full_refresh_job"):
        assert defs.resolve_job_def(name).executor_def is dg.in_process_executor
    assert defs.resolve_implicit_global_asset_job_def().executor_def is dg.in_process_executor


def test_the_kind_badge_names_the_configured_database() -> None:
    assert database_kind("postgresql://u:p@h/sis") == "postgres"
    assert database_kind("postgresql+psycopg://u@h:5432/sis") == "postgres"
    assert database_kind("sqlite:///demo/student_sync.sqlite") == "sqlite"
    expected = configured_database_kind()  # this process's STUDENT_SYNC_DATABASE_URL
    graph = defs.resolve_asset_graph()
    for name in (
        "legacy_students",
        "persons",
        "student_profiles",
        "emergency_contacts",
        "sponsorships",
        "sis_full_refresh",
    ):
        assert graph.get(dg.AssetKey(name)).kinds == {expected}, name
