"""The success-rate and efficiency checks at each level; an ERROR blocks sync_report."""

from __future__ import annotations

import dagster as dg
import pytest

from student_sync.orchestration.checks import success_outcome
from student_sync.orchestration.partitions import cell_key
from student_sync_tests.dagster.support import (
    Harness,
    materialization_metadata,
    materialized_partitions,
    stamp,
)
from student_sync_tests.helpers import init_db, legacy_row, write_legacy


def slice_with(h: Harness, total: int, rejected: int) -> str:
    """Yesterday's cell of 0-999 with ``total`` rows, the first ``rejected`` with blank names."""
    rows = [
        legacy_row(n, modified_date=stamp(h.days.last), **({"name": "  "} if n <= rejected else {}))
        for n in range(1, total + 1)
    ]
    init_db(h.url)
    write_legacy(h.url, rows)
    h.register("0-999")
    return cell_key("0-999", h.days.last.isoformat())


def evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("total", "rejected", "passed", "severity", "level", "report"),
    [
        (40, 1, True, None, "normal", True),  # 97.5%
        (20, 1, False, dg.AssetCheckSeverity.WARN, "warning", True),  # 95.0%: not above 95
        (10, 2, False, dg.AssetCheckSeverity.ERROR, "critical", False),  # 80%: blocks report
    ],
)
def test_success_rate_levels(
    harness: Harness,
    total: int,
    rejected: int,
    passed: bool,
    severity: dg.AssetCheckSeverity | None,
    level: str,
    report: bool,
) -> None:
    key = slice_with(harness, total, rejected)
    result = harness.materialize(key=key)
    check = evaluations(result)["success_rate"]
    assert check.passed is passed
    if severity is not None:
        assert check.severity == severity
    assert check.metadata["success_level"].value == level
    assert check.metadata["rejection_breakdown"].value == {"MISSING_NAME": rejected}
    # The tables were written either way; only the report waits on a passing (or WARN) check.
    assert materialized_partitions(result, "student_profiles") == {str(key)}
    assert (materialized_partitions(result, "sync_report") == {str(key)}) is report
    assert result.success is report
    efficiency = evaluations(result)["efficiency"]
    assert efficiency.passed  # a one-day window explains a low efficiency ...
    assert efficiency.metadata["efficiency_level"].value.startswith("not rated: a date-window")
    profiles = materialization_metadata(result, "student_profiles")  # ... so it is not rated
    assert profiles["efficiency"] == 0.0
    assert profiles["efficiency_level"].startswith("not rated: a date-window run")
    # Which students were rejected, not only how many: a table of the first ones.
    table = materialization_metadata(result, "student_change_set")["rejected_students"]
    assert [(r.data["student_id"], r.data["reason"]) for r in table.records] == [
        (f"{n:05d}", "MISSING_NAME") for n in range(1, rejected + 1)
    ]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_cell_without_rows_says_so_instead_of_100_percent(harness: Harness) -> None:
    slice_with(harness, 3, 0)  # rows only yesterday; the day before is empty
    result = harness.materialize(key=cell_key("0-999", harness.days.before.isoformat()))
    assert result.success
    for asset in ("student_change_set", "student_profiles", "sync_report"):
        meta = materialization_metadata(result, asset)
        assert meta["outcome"] == "no rows in this slice: nothing to sync", asset
        assert meta["success_level"] == meta["efficiency_level"] == "no rows", asset
        assert "success_rate" not in meta and "efficiency" not in meta, asset
    checks = evaluations(result)
    for name in ("success_rate", "efficiency"):
        assert checks[name].passed
        assert checks[name].description == "no rows in this slice: nothing to judge"
    # Open conflicts are the database's, not the slice's: still counted (none here).
    assert checks["open_conflicts"].passed
    assert checks["open_conflicts"].metadata["open_conflicts"].value == 0


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_efficiency_is_optimal_on_a_rerun(harness: Harness) -> None:
    key = slice_with(harness, 40, 0)
    harness.materialize(key=key)
    again = evaluations(harness.materialize(key=key))["efficiency"]
    assert again.passed
    assert again.metadata["efficiency_level"].value == "optimal"
    assert again.metadata["efficiency"].value == 100.0


def test_thresholds() -> None:
    assert success_outcome(95.01) == (True, dg.AssetCheckSeverity.WARN)
    assert success_outcome(95.0) == (False, dg.AssetCheckSeverity.WARN)
    assert success_outcome(90.0) == (False, dg.AssetCheckSeverity.WARN)
    assert success_outcome(89.99) == (False, dg.AssetCheckSeverity.ERROR)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_open_conflicts_warn_and_the_report_lists_them(harness: Harness) -> None:
    """A registrar edit the legacy row disagrees with: kept, listed in sync_report's metadata
    once, and the open_conflicts check warns while it is open."""
    from sqlalchemy import update

    from student_sync.engine import schema
    from student_sync.engine.db import make_engine, normalize_url
    from student_sync_tests.helpers import person_of, update_legacy

    key = slice_with(harness, 5, 0)
    first = harness.materialize(key=key)
    assert evaluations(first)["open_conflicts"].passed
    person = person_of(harness.url, 2)
    assert person is not None
    engine = make_engine(normalize_url(harness.url))
    with engine.begin() as conn:  # the registrar fixes the Khmer name in the SIS
        conn.execute(
            update(schema.person).where(schema.person.c.id == person["id"]).values(khmer_name="សុខា")
        )
    engine.dispose()
    update_legacy(harness.url, "00002", email="other@example.org")  # same day, same cell

    second = harness.materialize(key=key)
    check = evaluations(second)["open_conflicts"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["open_conflicts"].value == 1
    report = next(
        m
        for m in second.get_asset_materialization_events()
        if m.asset_key == dg.AssetKey("sync_report")
    ).materialization.metadata
    assert report["conflicts"].value == 1
    assert "| 2 | people_person | khmer_name | សុខា |" in report["conflict_table"].value
    assert person_of(harness.url, 2)["khmer_name"] == "សុខា"  # type: ignore[index]

    third = harness.materialize(
        key=key, run_config={"ops": {"student_change_set": {"config": {"force_update": True}}}}
    )
    report = next(
        m
        for m in third.get_asset_materialization_events()
        if m.asset_key == dg.AssetKey("sync_report")
    ).materialization.metadata
    assert report["conflicts"].value == 0  # reported once
    assert not evaluations(third)["open_conflicts"].passed  # still open
