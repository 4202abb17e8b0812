"""Materializing cells through Dagster ends where the engine and the CLI end, on both databases."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from student_sync.cli import main as cli_main
from student_sync.engine.db import DatabaseUrls, normalize_url
from student_sync.engine.options import SyncOptions
from student_sync.engine.run import RunResult, sync
from student_sync.orchestration.automation import full_refresh_run_requests
from student_sync.orchestration.metadata import named
from student_sync.orchestration.partitions import cell_key, fold_partition_keys
from student_sync_tests.dagster.support import (
    CELL_ASSET_NAMES,
    Harness,
    materialization_metadata,
    materialized_partitions,
    sample_rows,
    table_state,
)
from student_sync_tests.helpers import init_db, write_legacy


def seed(*urls: str, rows: list[dict]) -> None:
    for url in urls:
        init_db(url)
        write_legacy(url, rows)


def engine_run(url: str, tmp: Path, keys: list[str], h: Harness, **options) -> RunResult:
    """The engine on the slice the same cells fold into (what the CLI runs for that slice)."""
    sl = fold_partition_keys(keys, first_day=h.days.first, last_day=h.days.last)
    urls = DatabaseUrls(normalize_url(url), normalize_url(url))
    return sync(
        urls,
        SyncOptions(
            id_ranges=sl.id_ranges, window=sl.window, reports_dir=tmp / "engine_reports", **options
        ),
    )


def assert_same_counts(
    result: dg.ExecuteInProcessResult, engine: RunResult, cells: int = 1
) -> None:
    """Metadata equals the engine's counts (named ``run_*`` when the run covers many cells)."""
    c = engine.counters
    plan = {
        k.removeprefix("run_") if cells > 1 else k: v
        for k, v in materialization_metadata(result, "student_change_set").items()
    }
    assert {k: plan[k] for k in ("create", "update", "unchanged", "delete", "reject")} == {
        k: c.classes[k] for k in ("create", "update", "unchanged", "delete", "reject")
    }
    assert plan["records_processed"] == c.records_processed
    assert plan["rejection_breakdown"] == dict(c.rejections)
    for asset, counter, keys in (
        ("persons", c.persons, ("created", "updated", "skipped", "deleted")),
        ("student_profiles", c.students, ("created", "updated", "skipped", "deleted")),
        ("emergency_contacts", c.emergency_contacts, ("created", "updated", "deleted")),
        ("sponsorships", c.sponsorships, ("created", "updated", "ended")),
    ):
        meta = materialization_metadata(result, asset)
        assert {k: meta[named(k, cells)] for k in keys} == {k: counter.get(k, 0) for k in keys}, (
            asset
        )
    profiles = materialization_metadata(result, "student_profiles")
    assert profiles[named("success_rate", cells)] == pytest.approx(round(c.success_rate, 2))


def test_one_cell_matches_the_engine_and_rematerializing_is_a_no_op(
    harness: Harness, twin_url: str
) -> None:
    h = harness
    seed(h.url, twin_url, rows=sample_rows(h.days))
    h.register("0-999", "1000-1999")
    key = cell_key("0-999", h.days.last.isoformat())

    result = h.materialize(key=key)
    assert result.success
    assert all(materialized_partitions(result, a) == {str(key)} for a in CELL_ASSET_NAMES)
    engine = engine_run(twin_url, h.tmp, [key], h)
    assert_same_counts(result, engine)
    plan = materialization_metadata(result, "student_change_set")
    assert plan["create"] == 20 and plan["reject"] == 1  # ids 1-21 but 7 (MISSING_NAME)
    assert table_state(h.url) == table_state(twin_url)
    legacy = materialization_metadata(result, "legacy_students")
    assert legacy["dagster/row_count"] == 21
    assert legacy["null_rate_name"] == pytest.approx(100 / 21, abs=0.01)
    report_meta = materialization_metadata(result, "sync_report")
    report = Path(report_meta["path"])
    assert json.loads(report.read_text())["summary"]["students"]["created"] == 20
    page = Path(report_meta["html_report"])
    assert page == report.with_suffix(".html") and "<svg" in page.read_text()
    assert report_meta["rejections"] == 1 and report_meta["success_rate"] == pytest.approx(95.24)
    assert "| MISSING_NAME | 1 |" in report_meta["open_rejections"]  # the rejections table

    again = h.materialize(key=key)
    assert again.success
    profiles = materialization_metadata(again, "student_profiles")
    assert (profiles["created"], profiles["updated"]) == (0, 0)
    assert profiles["skipped"] == 20
    assert table_state(h.url) == table_state(twin_url)


def materialize_two_ranges_two_days(
    h: Harness, twin_url: str
) -> tuple[dg.ExecuteInProcessResult, set[str]]:
    """Seed both databases, then materialize the range of cells (0-999, day before) to
    (1000-1999, last day) in one run; returns the run and the four cells it covers."""
    seed(h.url, twin_url, rows=sample_rows(h.days))
    h.register("0-999", "1000-1999")
    start = cell_key("0-999", h.days.before.isoformat())
    end = cell_key("1000-1999", h.days.last.isoformat())
    result = h.materialize(start=str(start), end=str(end))
    assert result.success
    cells = {
        str(cell_key(r, d.isoformat()))
        for r in ("0-999", "1000-1999")
        for d in (h.days.before, h.days.last)
    }
    return result, cells


def test_a_range_of_cells_runs_in_one_run(harness: Harness, twin_url: str) -> None:
    h = harness
    result, cells = materialize_two_ranges_two_days(h, twin_url)
    assert all(materialized_partitions(result, a) == cells for a in CELL_ASSET_NAMES)
    assert materialization_metadata(result, "student_change_set")["cells"] == 4
    engine = engine_run(twin_url, h.tmp, sorted(cells), h)
    assert engine.counters.records_processed == 27  # 21 + 2 (day before) + 3 + 1 in 1000-1999
    assert_same_counts(result, engine, cells=4)
    # Every cell carries the same numbers, so they are named and labelled as run totals.
    plan = materialization_metadata(result, "student_change_set")
    assert "create" not in plan and plan["run_create"] == engine.counters.classes["create"]
    assert plan["numbers"].startswith("run totals over 4 cells")
    assert table_state(h.url) == table_state(twin_url)


def test_weekly_full_refresh_matches_the_cli(harness: Harness, twin_url: str) -> None:
    """The schedule's run request, run through its job, against `migrate --force-update`."""
    h = harness
    seed(h.url, twin_url, rows=sample_rows(h.days))
    h.register("0-999", "1000-1999")
    job = h.job("student_sync_full_refresh_job")
    (request, _) = full_refresh_run_requests(h.days.last, ["0-999", "1000-1999"])

    def cli(*extra: str) -> dict:
        reports = h.tmp / "cli_reports"
        before = set(reports.glob("*.json")) if reports.exists() else set()
        code = cli_main(
            [
                "migrate",
                "--database-url",
                twin_url,
                "--student-id-range",
                "0:999",
                "--reports-dir",
                str(reports),
                "--quiet",
                *extra,
            ]
        )
        assert code in (0, 1)
        (new,) = set(reports.glob("*.json")) - before
        return json.loads(new.read_text())["summary"]

    def refresh(config: dict | None = None) -> dict:
        result = job.execute_in_process(
            instance=h.instance,
            partition_key=request.partition_key,
            tags=request.tags,
            run_config=config or {},
            raise_on_error=False,
        )
        assert result.success
        assert materialized_partitions(result, "sis_full_refresh") == {"0-999"}
        assert len(result.get_asset_materialization_events()) == 1  # one event per range
        return materialization_metadata(result, "sis_full_refresh")

    meta = refresh()
    summary = cli("--force-update")
    assert meta["records_processed"] == summary["input"]["records_processed"] == 25
    for k in ("created", "updated", "skipped", "deleted"):
        assert meta[f"student_profiles_{k}"] == summary["students"][k], k
    assert meta["efficiency_level"].startswith("not rated: force_update")
    assert Path(meta["report"]).exists()
    assert table_state(h.url) == table_state(twin_url)

    # A full scan is what finds students the legacy table lost: both soft-delete id 9.
    write_legacy(h.url, [r for r in sample_rows(h.days) if r["id"] != "00009"])
    write_legacy(twin_url, [r for r in sample_rows(h.days) if r["id"] != "00009"])
    meta = refresh({"ops": {"sis_full_refresh": {"config": {"allow_mass_delete": True}}}})
    summary = cli("--force-update", "--allow-mass-delete")
    assert meta["vanished"] == 1 and summary["vanished_soft_deleted"] == 1
    assert table_state(h.url) == table_state(twin_url)


def test_run_config_on_the_plan_asset(harness: Harness) -> None:
    h = harness
    seed(h.url, rows=sample_rows(h.days))
    h.register("0-999")
    key = cell_key("0-999", h.days.last.isoformat())
    config = {
        "ops": {"student_change_set": {"config": {"dry_run": True, "limit": 3, "batch_size": 2}}}
    }
    result = h.materialize(key=key, run_config=config)
    assert result.success
    plan = materialization_metadata(result, "student_change_set")
    assert plan["dry_run"] is True and plan["records_processed"] == 3 and plan["batches"] == 2
    assert plan["create"] == 3
    assert table_state(h.url)["people_person"] == []  # a dry run writes nothing ...
    for asset in ("persons", "student_profiles", "sync_report"):  # ... and marks no cell
        assert materialized_partitions(result, asset) == set()
    (report,) = (h.tmp / "reports").glob("*.json")  # but writes its report, as the CLI does
    assert json.loads(report.read_text())["migration_info"]["dry_run"] is True
    update_only = h.materialize(
        key=key, run_config={"ops": {"student_change_set": {"config": {"mode": "update-only"}}}}
    )
    assert materialization_metadata(update_only, "student_change_set")["rejection_breakdown"] == {
        "NOT_FOUND": 20,
        "MISSING_NAME": 1,
    }


def test_job_partitions_tab_backfill_is_refused(harness: Harness) -> None:
    """A run tagged with a range AND the first cell's tags (Dagster 1.13's job backfill path)."""
    h = harness
    seed(h.url, rows=sample_rows(h.days))
    h.register("0-999", "1000-1999")
    first = cell_key("0-999", h.days.before.isoformat())
    tags = {
        "dagster/asset_partition_range_start": str(first),
        "dagster/asset_partition_range_end": str(cell_key("1000-1999", h.days.last.isoformat())),
        "dagster/partition/id_range": "0-999",
        "dagster/partition/modified_date": h.days.before.isoformat(),
    }
    result = h.job().execute_in_process(instance=h.instance, tags=tags, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.user_failure_data.description
    assert "4 cells" in message and "only 1" in message and "asset page" in message
    assert table_state(h.url)["people_person"] == []


@pytest.mark.postgres
def test_passwords_never_reach_dagster_events(
    pg_url: str, tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    from sqlalchemy.engine import make_url

    from student_sync.orchestration.resources import SyncSettings
    from student_sync_tests.dagster.support import Days

    secret = "s3cr3t-pw-xyz"
    url = make_url(pg_url).set(password=secret).render_as_string(hide_password=False)
    settings = SyncSettings(reports_dir=str(tmp_path / "r"))
    h = Harness(url=url, tmp=tmp_path, instance=instance, settings=settings, days=Days())
    seed(url, rows=sample_rows(h.days))  # trust auth: the password is accepted and ignored
    h.register("0-999")
    result = h.materialize(key=cell_key("0-999", h.days.last.isoformat()))
    assert result.success
    logs = [str(e) for e in instance.all_logs(result.run_id)]
    assert logs and not any(secret in line for line in logs)
    report = Path(materialization_metadata(result, "sync_report")["path"]).read_text()
    assert secret not in report and "***" in report


def test_a_range_with_transform_workers_matches_the_engine(
    harness: Harness, twin_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SyncSettings(workers=2): the pool is forked inside the Dagster step; same end state."""
    import dataclasses

    from student_sync.engine import run

    opened: list[int] = []
    original = run.open_transformer

    def recording(workers: int, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        opened.append(workers)
        return original(workers, *args, **kwargs)

    monkeypatch.setattr(run, "open_transformer", recording)
    from student_sync.orchestration.resources import SyncSettings

    settings = SyncSettings(reports_dir=harness.settings.reports_dir, workers=2)
    h = dataclasses.replace(harness, settings=settings)
    result, cells = materialize_two_ranges_two_days(h, twin_url)
    assert opened == [2]  # the Dagster plan step used the pool
    engine = engine_run(twin_url, h.tmp, sorted(cells), h, workers=0)
    assert_same_counts(result, engine, cells=4)
    assert table_state(h.url) == table_state(twin_url)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("bad_key", "reason"),
    [
        ("everything", "not an ID-range partition key (START-END): 'everything'"),
        ("500-1500", "ID-range key '500-1500' overlaps the registered range '0-999'"),
    ],
)
def test_a_hand_added_range_key_fails_fast_and_syncs_nothing(
    harness: Harness, bad_key: str, reason: str
) -> None:
    """What the Materialize dialog's "Add partition" can create: refused in the first step."""
    h = harness
    seed(h.url, rows=sample_rows(h.days))
    h.register("0-999", "1000-1999", bad_key)
    result = h.materialize(key=cell_key(bad_key, h.days.last.isoformat()))
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert failure.step_key == "legacy_students"
    message = failure.step_failure_data.user_failure_data.description
    assert reason in message and "student_sync_id_range_sensor" in message
    assert table_state(h.url)["people_person"] == []
