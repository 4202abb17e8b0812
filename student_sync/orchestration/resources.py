"""Resources: where the databases are and how runs behave.

Configuration lives here so the assets only orchestrate. Database URLs come from environment
variables through ``EnvVar`` (the UI shows the variable's name, never its value); with neither
set, the embedded SQLite file the CLI uses is the default.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import dagster as dg
from pydantic import Field

from student_sync.engine import (
    DATABASE_URL_ENV,
    DEFAULT_BATCH_SIZE,
    DEFAULT_CHANGE_LOG_DAYS,
    DEFAULT_TIMEZONE,
    LEGACY_URL_ENV,
    ConfigurationError,
    DatabaseUrls,
    SyncOptions,
    describe_url,
    normalize_url,
    resolve_urls,
)
from student_sync.orchestration.partitions import FIRST_DAY


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


def database_kind(url: str) -> str:
    """The kind badge for a SIS database URL: ``postgres`` or ``sqlite`` (Dagster's names)."""
    return "sqlite" if normalize_url(url).startswith("sqlite") else "postgres"


def configured_database_kind() -> str:
    """The badge for the SIS database this code location is configured with (at load time)."""
    try:
        return database_kind(resolve_urls(os.environ.get(DATABASE_URL_ENV) or None).sis)
    except ConfigurationError:  # a bad URL fails the first run with a clear message instead
        return "sql"


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
    timezone: str = Field(
        default=DEFAULT_TIMEZONE,
        description="The school's time zone (the date partitions use it too).",
    )
    reports_dir: str = Field(default="reports", description="Where sync_report writes JSON.")
    change_set_retention_days: int = Field(
        default=14,
        description="Change sets (kept in the SIS database's student_sync_change_set tables) "
        "older than this are deleted when a new one is planned.",
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

    def reports_path(self) -> Path:
        return Path(self.reports_dir)

    def base_options(self) -> SyncOptions:
        return SyncOptions(
            batch_size=self.batch_size,
            timezone=self.timezone,
            reports_dir=self.reports_path(),
            allow_mass_delete=self.allow_mass_delete,
            workers=self.workers,
            on_conflict=self.on_conflict,
            change_log_days=self.change_log_days,
        )
