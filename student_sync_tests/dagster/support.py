"""Helpers for the Dagster tests: sample rows, a harness that runs cells, table comparisons."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
from sqlalchemy import create_engine, select

from student_sync.engine import schema
from student_sync.engine.db import normalize_url
from student_sync.orchestration.assets import ASSETS
from student_sync.orchestration.checks import CHECKS
from student_sync.orchestration.definitions import build_definitions, build_resources
from student_sync.orchestration.partitions import (
    ID_RANGES_NAME,
    partition_first_day,
    partition_last_day,
)
from student_sync.orchestration.resources import SisDatabase, SyncSettings
from student_sync_tests.helpers import legacy_row

# The seven assets a cell materializes, in graph order (the tests' own list, not the code's).
CELL_ASSET_NAMES = (
    "legacy_students",
    "student_change_set",
    "persons",
    "student_profiles",
    "emergency_contacts",
    "sponsorships",
    "sync_report",
)
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def stamp(day: date, hour: int = 10) -> str:
    """A legacy timestamp (school local) on ``day``."""
    return f"{day.isoformat()} {hour:02d}:00:00.000"


@dataclass
class Days:
    """The days tests build rows on, relative to the real clock like the partitions are."""

    first: date = field(default_factory=partition_first_day)
    last: date = field(default_factory=lambda: partition_last_day() or partition_first_day())

    @property
    def before(self) -> date:
        return self.last - timedelta(days=1)

    @property
    def ancient(self) -> date:
        return self.first - timedelta(days=400)


def sample_rows(days: Days) -> list[dict[str, Any]]:
    """Rows over two ID ranges and four kinds of day; yesterday's 0-999 cell has 21 rows with
    one rejection (95.2%: a passing success rate).

    0-999: ids 1-20 modified yesterday (7 has a blank name: MISSING_NAME), 21 undated-modified
    but created yesterday, 22-23 the day before (22 with a sponsor), 24 long before the first
    day, 25 with no date at all (both owned by the first day's cell).
    1000-1999: 1001-1003 yesterday, 1004 the day before, 1005 long before the first day.
    """
    out = [legacy_row(n, modified_date=stamp(days.last)) for n in range(1, 21)]
    out[6] = legacy_row(7, name="", modified_date=stamp(days.last))
    out += [
        legacy_row(21, modified_date=None, created_date=stamp(days.last, 23)),
        legacy_row(22, name="KEO Sophea <CRST>", modified_date=stamp(days.before)),
        legacy_row(23, modified_date=stamp(days.before)),
        legacy_row(24, modified_date=stamp(days.ancient)),
        legacy_row(25, modified_date=None, created_date=None),
    ]
    out += [legacy_row(n, modified_date=stamp(days.last)) for n in (1001, 1002, 1003)]
    out += [
        legacy_row(1004, modified_date=stamp(days.before)),
        legacy_row(1005, modified_date=stamp(days.ancient)),
    ]
    return out


@dataclass
class Harness:
    """Everything a Dagster test needs: instance, resources, and helpers to run cells."""

    url: str
    tmp: Path
    instance: dg.DagsterInstance
    settings: SyncSettings
    days: Days

    @property
    def resources(self) -> dict[str, Any]:
        return build_resources(SisDatabase(database_url=self.url), self.settings)

    def register(self, *ranges: str) -> None:
        self.instance.add_dynamic_partitions(ID_RANGES_NAME, list(ranges))

    def materialize(
        self,
        *,
        key: str | None = None,
        start: str | None = None,
        end: str | None = None,
        run_config: dict | None = None,
        tags: dict[str, str] | None = None,
    ) -> dg.ExecuteInProcessResult:
        """Materialize the whole group (plus checks) like the asset page does."""
        all_tags = dict(tags or {})
        if start and end:
            all_tags.update({RANGE_START: start, RANGE_END: end})
        return dg.materialize(
            [*ASSETS, *CHECKS],
            instance=self.instance,
            partition_key=key,
            tags=all_tags,
            run_config=run_config or {},
            resources=self.resources,
            raise_on_error=False,
        )

    def job(self, name: str = "student_sync_job") -> dg.JobDefinition:
        defs = build_definitions(SisDatabase(database_url=self.url), self.settings)
        return defs.resolve_job_def(name)


# Columns that differ between two databases synced at different moments by design.
# seen_count: how many runs saw a rejection, so it differs after a re-materialization.
_DROP = {"unique_id", "created_at", "updated_at", "last_run_id", "seen_count"}
_AS_FLAG = {"deleted_at", "first_seen_at", "last_seen_at", "resolved_at"}


def table_state(url: str) -> dict[str, list[tuple]]:
    """Every SIS and sync-state row, minus uuids and wall-clock timestamps, by primary key."""
    engine = create_engine(normalize_url(url))
    out: dict[str, list[tuple]] = {}
    with engine.connect() as conn:
        for t in (*schema.SIS_TABLES, schema.sync_state, schema.rejection):
            cols = [c for c in t.columns if c.name not in _DROP]
            rows = conn.execute(select(*cols).order_by(*t.primary_key.columns)).all()
            out[t.name] = [
                tuple(
                    (v is not None) if c.name in _AS_FLAG else v
                    for c, v in zip(cols, r, strict=True)
                )
                for r in rows
            ]
    engine.dispose()
    return out


def materialization_metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    """The metadata of the asset's (first) materialization in a run, as plain values."""
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        if materialization.asset_key == dg.AssetKey(asset):
            return {k: v.value for k, v in materialization.metadata.items()}
    raise AssertionError(f"{asset} was not materialized")


def materialized_partitions(result: dg.ExecuteInProcessResult, asset: str) -> set[str]:
    return {
        str(e.materialization.partition)
        for e in result.get_asset_materialization_events()
        if e.materialization.asset_key == dg.AssetKey(asset)
    }
