"""The range sensor, the two schedules and the failure sensor, evaluated tick by tick."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from student_sync.definitions import defs
from student_sync.orchestration.automation import (
    student_sync_daily_schedule,
    student_sync_id_range_sensor,
    student_sync_run_failure_sensor,
    student_sync_weekly_full_refresh,
)
from student_sync.orchestration.partitions import (
    ID_RANGES_NAME,
    partition_first_day,
    student_partitions,
)
from student_sync.orchestration.resources import SisDatabase, SyncSettings
from student_sync_tests.helpers import legacy_row, write_legacy

SCHOOL = ZoneInfo("Asia/Phnom_Penh")
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


@pytest.fixture(scope="module")
def disk_instance() -> Iterator[dg.DagsterInstance]:
    """Schedule contexts need an instance they can reference: a temporary on-disk one."""
    with dg.instance_for_test() as inst:
        yield inst


@pytest.fixture
def ref_instance(disk_instance: dg.DagsterInstance) -> Iterator[dg.DagsterInstance]:
    yield disk_instance
    for key in disk_instance.get_dynamic_partitions(ID_RANGES_NAME):
        disk_instance.delete_dynamic_partition(ID_RANGES_NAME, key)


def tick(
    instance: dg.DagsterInstance, url: str, cursor: str | None, **settings: int
) -> dg.SensorResult | dg.SkipReason:
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={"sis": SisDatabase(database_url=url), "settings": SyncSettings(**settings)},
    )
    return student_sync_id_range_sensor(context)


def registered(result: dg.SensorResult) -> list[str]:
    return [k for r in result.dynamic_partitions_requests for k in r.partition_keys]


def apply(instance: dg.DagsterInstance, result: dg.SensorResult) -> None:
    """What the daemon does with the sensor's requests."""
    for request in result.dynamic_partitions_requests:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))


def test_sensor_registers_ranges_once(sqlite_url: str, instance: dg.DagsterInstance) -> None:
    ids = ["00007", "1999", "2500", "A0123", " ", "99999999999", "0000"]  # junk ids are ignored
    write_legacy(sqlite_url, [legacy_row(i) for i in ids])
    first = tick(instance, sqlite_url, None)
    assert isinstance(first, dg.SensorResult)
    assert registered(first) == ["0-999", "1000-1999", "2000-2999"]
    assert {r.partitions_def_name for r in first.dynamic_partitions_requests} == {ID_RANGES_NAME}
    apply(instance, first)

    second = tick(instance, sqlite_url, first.cursor)  # no new ids: nothing registered
    assert isinstance(second, dg.SkipReason)
    assert instance.get_dynamic_partitions(ID_RANGES_NAME) == ["0-999", "1000-1999", "2000-2999"]

    write_legacy(sqlite_url, [legacy_row(i) for i in [*ids, "4321"]])
    third = tick(instance, sqlite_url, first.cursor)
    assert registered(third) == ["3000-3999", "4000-4999"]
    apply(instance, third)
    # A lost cursor re-reads the table but registers nothing already there.
    fourth = tick(instance, sqlite_url, None)
    assert isinstance(fourth, dg.SensorResult) and registered(fourth) == []


def test_sensor_width_and_per_tick_cap(sqlite_url: str, instance: dg.DagsterInstance) -> None:
    write_legacy(sqlite_url, [legacy_row(18_250), legacy_row(18_900), legacy_row(20_010)])
    capped = tick(instance, sqlite_url, None, id_range_width=500, max_new_ranges_per_tick=2)
    assert registered(capped) == ["18000-18499", "18500-18999"]
    assert capped.cursor is None  # not finished: the next tick continues
    apply(instance, capped)
    rest = tick(instance, sqlite_url, capped.cursor, id_range_width=500, max_new_ranges_per_tick=2)
    assert registered(rest) == ["19000-19499", "19500-19999"]
    apply(instance, rest)
    last = tick(instance, sqlite_url, rest.cursor, id_range_width=500, max_new_ranges_per_tick=2)
    assert registered(last) == ["20000-20499"] and last.cursor is not None


def test_sensor_skips_without_a_legacy_table(sqlite_url: str, instance: dg.DagsterInstance) -> None:
    result = tick(instance, sqlite_url, None)
    assert isinstance(result, dg.SkipReason) and "legacy table" in result.skip_message


def schedule_tick(
    schedule: dg.ScheduleDefinition, instance: dg.DagsterInstance, when: datetime
) -> list[dg.RunRequest]:
    context = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=when, repository_def=defs.get_repository_def()
    )
    data = schedule.evaluate_tick(context)
    return list(data.run_requests or [])


@pytest.fixture
def two_ranges(ref_instance: dg.DagsterInstance) -> dg.DagsterInstance:
    ref_instance.add_dynamic_partitions(ID_RANGES_NAME, ["1000-1999", "0-999"])
    return ref_instance


def test_daily_schedule_asks_for_yesterdays_cells_in_one_run(
    two_ranges: dg.DagsterInstance,
) -> None:
    assert student_sync_daily_schedule.cron_schedule == "0 2 * * *"
    assert student_sync_daily_schedule.execution_timezone == "Asia/Phnom_Penh"
    when = datetime.combine(
        partition_first_day() + timedelta(days=5), datetime.min.time(), SCHOOL
    ).replace(hour=2)
    yesterday = (when.date() - timedelta(days=1)).isoformat()
    (request,) = schedule_tick(student_sync_daily_schedule, two_ranges, when)
    # Registration order (1000-1999 first here): the range covers exactly the registered keys.
    assert (request.tags[RANGE_START], request.tags[RANGE_END]) == (
        f"1000-1999|{yesterday}",
        f"0-999|{yesterday}",
    )
    assert request.run_config == {
        "ops": {"student_change_set": {"config": {"mode": "upsert", "force_update": False}}}
    }
    covered = student_partitions.get_partition_keys_in_range(
        dg.PartitionKeyRange(request.tags[RANGE_START], request.tags[RANGE_END]),
        dynamic_partitions_store=two_ranges,
    )
    assert sorted(map(str, covered)) == [f"0-999|{yesterday}", f"1000-1999|{yesterday}"]


def test_daily_schedule_uses_school_time(two_ranges: dg.DagsterInstance) -> None:
    # 19:30 UTC is already 02:30 the next day in Phnom Penh.
    day = partition_first_day() + timedelta(days=3)
    when = datetime(day.year, day.month, day.day, 19, 30, tzinfo=ZoneInfo("UTC"))
    (request,) = schedule_tick(student_sync_daily_schedule, two_ranges, when)
    assert request.tags[RANGE_END].endswith(day.isoformat())


def test_schedules_skip_without_ranges(ref_instance: dg.DagsterInstance) -> None:
    when = datetime.now(SCHOOL)
    context = dg.build_schedule_context(
        instance=ref_instance,
        scheduled_execution_time=when,
        repository_def=defs.get_repository_def(),
    )
    data = student_sync_daily_schedule.evaluate_tick(context)
    assert not data.run_requests and "no ID ranges" in (data.skip_message or "")


def test_weekly_full_refresh_is_one_run_per_range_of_the_range_keyed_asset(
    two_ranges: dg.DagsterInstance,
) -> None:
    assert student_sync_weekly_full_refresh.cron_schedule == "0 3 * * 0"
    assert student_sync_weekly_full_refresh.job_name == "student_sync_full_refresh_job"
    sunday = date.today() + timedelta(days=(6 - date.today().weekday()) % 7)
    when = datetime.combine(sunday, datetime.min.time(), SCHOOL).replace(hour=3)
    requests = schedule_tick(student_sync_weekly_full_refresh, two_ranges, when)
    # Keyed by ID range only: one partition per run, however many days have passed.
    assert [r.partition_key for r in requests] == ["0-999", "1000-1999"]
    assert len({r.run_key for r in requests}) == 2


def test_hand_added_range_keys_are_skipped_by_schedules_and_removed_by_the_sensor(
    sqlite_url: str, two_ranges: dg.DagsterInstance
) -> None:
    two_ranges.add_dynamic_partitions(ID_RANGES_NAME, ["oops", "500-1500"])
    when = datetime.combine(
        partition_first_day() + timedelta(days=5), datetime.min.time(), SCHOOL
    ).replace(hour=2)
    # The hand-added keys sit after the valid ones: the run's range still covers only those.
    (request,) = schedule_tick(student_sync_daily_schedule, two_ranges, when)
    assert request.tags[RANGE_START].startswith("1000-1999|")
    assert request.tags[RANGE_END].startswith("0-999|")
    write_legacy(sqlite_url, [legacy_row(5), legacy_row(1500)])
    result = tick(two_ranges, sqlite_url, None)
    deletes = [
        r
        for r in result.dynamic_partitions_requests
        if isinstance(r, dg.DeleteDynamicPartitionsRequest)
    ]
    assert [sorted(r.partition_keys) for r in deletes] == [["500-1500", "oops"]]


def test_failure_sensor_logs_and_appends_an_alert(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    @dg.op
    def boom() -> None:
        raise RuntimeError("cannot connect to postgresql://sis:hunter2@db/sis")

    @dg.job
    def failing() -> None:
        boom()

    result = failing.execute_in_process(instance=instance, raise_on_error=False)
    run = instance.get_run_by_id(result.run_id)
    (entry,) = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    failure = entry.dagster_event
    context = dg.build_run_status_sensor_context(
        sensor_name="student_sync_run_failure_sensor",
        dagster_instance=instance,
        dagster_run=run,
        dagster_event=failure,
        resources={"settings": SyncSettings(reports_dir=str(tmp_path))},
    ).for_run_failure()
    student_sync_run_failure_sensor(context)
    (alert,) = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    assert alert["run_id"] == result.run_id and alert["job"] == "failing"
    assert "cannot connect to postgresql://sis:***@db/sis" in alert["message"]
    assert "hunter2" not in json.dumps(alert)
