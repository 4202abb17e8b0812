"""Resources: where the databases are, how runs behave, and where change-set handles live.

Configuration lives here so the assets only orchestrate. Database URLs come from environment
variables through ``EnvVar`` (the UI shows the variable's name, never its value); with neither
set, the embedded SQLite file the CLI uses is the default.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import dagster as dg
from pydantic import Field

from student_sync.engine.db import (
    DATABASE_URL_ENV,
    LEGACY_URL_ENV,
    DatabaseUrls,
    describe_url,
    mask_url,
    resolve_urls,
)
from student_sync.engine.options import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_CHANGE_LOG_DAYS,
    DEFAULT_TIMEZONE,
    SyncOptions,
)
from student_sync.partitions import FIRST_DAY


class SisDatabase(dg.ConfigurableResource):
    """The SIS database (target) and the database holding ``legacy_students`` (source)."""

    database_url: str | None = Field(
        default=None,
        description=f"SQLAlchemy URL of the SIS database (from ${DATABASE_URL_ENV}); "
        "empty means ./student_sync.sqlite, as for the CLI.",
    )
    legacy_url: str | None = Field(
        default=None,
        description=f"URL of the database holding legacy_students (from ${LEGACY_URL_ENV}); "
        "empty means the SIS database.",
    )

    def urls(self) -> DatabaseUrls:
        """Resolved the same way as the CLI flags (empty strings count as unset)."""
        return resolve_urls(self.database_url or None, self.legacy_url or None)

    def describe(self) -> str:
        """Host and database only: safe for logs and metadata."""
        urls = self.urls()
        where = describe_url(urls.sis)
        return where if urls.same_database else f"{where} (legacy: {describe_url(urls.legacy)})"

    def masked_sis_url(self) -> str:
        return mask_url(self.urls().sis)


def sis_database_from_env() -> SisDatabase:
    """``EnvVar`` for each URL that is set; an unset one falls back like the CLI does.

    An ``EnvVar`` whose variable is unset fails every run, so it is only used when set.
    """

    def env(name: str) -> Any:
        return dg.EnvVar(name) if os.environ.get(name, "").strip() else None

    return SisDatabase(database_url=env(DATABASE_URL_ENV), legacy_url=env(LEGACY_URL_ENV))


class SyncSettings(dg.ConfigurableResource):
    """How runs behave: the values the CLI takes as flags, plus Dagster-only ones."""

    batch_size: int = Field(default=DEFAULT_BATCH_SIZE, description="Rows per transaction.")
    timezone: str = Field(default=DEFAULT_TIMEZONE,
                          description="The school's time zone (the date partitions use it too).")
    reports_dir: str = Field(default="reports", description="Where sync_report writes JSON.")
    change_set_dir: str | None = Field(
        default=None,
        description="Where planned change sets are kept; empty means "
        "$DAGSTER_HOME/student_sync/change_sets (or the temp dir without DAGSTER_HOME).",
    )
    change_set_retention_days: int = Field(
        default=14, description="Change sets older than this are deleted when a new one is planned."
    )
    id_range_width: int = Field(default=1000, description="Ids per ID-range partition.")
    max_new_ranges_per_tick: int = Field(
        default=200, description="The range sensor registers at most this many ranges per tick."
    )
    first_day: str = Field(
        default=FIRST_DAY,
        description="First day of the modified_date partitions (STUDENT_SYNC_FIRST_DAY); "
        "it owns all older and undated rows.",
    )
    allow_mass_delete: bool = Field(
        default=False, description="Let a full scan soft-delete more than 2% of a range."
    )
    on_conflict: Literal["keep-sis", "legacy-wins"] = Field(
        default="keep-sis",
        description="A column edited in the SIS since the sync wrote it: keep the SIS value "
        "and report the conflict (keep-sis), or overwrite it, logged (legacy-wins).",
    )
    change_log_days: int = Field(
        default=DEFAULT_CHANGE_LOG_DAYS,
        description="Change-log rows older than this are pruned after each run (0 keeps all).",
    )
    workers: int | None = Field(
        default=None,
        description="Processes that normalize rows beside the writing one (--workers); "
        "empty means automatic (one per core beyond the first, at most 2, for 20,000+ rows).",
    )

    def change_set_root(self) -> Path:
        if self.change_set_dir:
            return Path(self.change_set_dir)
        home = os.environ.get("DAGSTER_HOME", "").strip()
        base = Path(home) / "student_sync" if home else Path(tempfile.gettempdir()) / "student_sync"
        return base / "change_sets"

    def reports_path(self) -> Path:
        return Path(self.reports_dir)

    def base_options(self) -> SyncOptions:
        return SyncOptions(batch_size=self.batch_size, timezone=self.timezone,
                           reports_dir=self.reports_path(),
                           allow_mass_delete=self.allow_mass_delete, workers=self.workers,
                           on_conflict=self.on_conflict, change_log_days=self.change_log_days)


class ChangeSetHandles(dg.ConfigurableIOManager):
    """Stores the change-set id an op returns, keyed by asset and the run's exact cells.

    Dagster's file IO manager cannot store one output for a range of partitions (a
    single-run backfill); a handle can. The apply step of a later run finds the handle only
    when it targets the very same cells; the engine then still refuses a stale change set.
    """

    settings: SyncSettings

    def _path(self, asset_key: dg.AssetKey, partition_keys: list[str]) -> Path:
        digest = hashlib.sha256("\n".join(sorted(partition_keys)).encode()).hexdigest()[:32]
        return self.settings.change_set_root() / "handles" / "__".join(asset_key.path) / digest

    @staticmethod
    def _keys(context: dg.InputContext | dg.OutputContext) -> list[str]:
        if not context.has_asset_partitions:
            return ["__all__"]
        return [str(k) for k in context.asset_partition_keys]

    def handle_output(self, context: dg.OutputContext, obj: str) -> None:
        keys = self._keys(context)
        path = self._path(context.asset_key, keys).with_suffix(".json")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({
            "change_set_id": obj, "cells": len(keys), "run_id": context.run_id,
            "written_at": datetime.now(UTC).isoformat(),
        }), encoding="utf-8")
        tmp.replace(path)

    def load_input(self, context: dg.InputContext) -> str:
        keys = self._keys(context)
        asset_key = context.asset_key
        path = self._path(asset_key, keys).with_suffix(".json")
        if not path.exists():
            raise dg.Failure(
                description=f"No change set recorded for {asset_key.to_user_string()} over these "
                f"{len(keys)} cell(s): materialize student_change_set for the same cells first "
                "(or materialize the whole group in one run)."
            )
        return json.loads(path.read_text(encoding="utf-8"))["change_set_id"]
