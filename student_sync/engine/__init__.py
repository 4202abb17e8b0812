"""The sync engine's public surface: what the Dagster layer (and the CLI) call.

Pure Python, no Dagster: the run's three entry points (``sync``, a whole run; or
``plan_change_set`` then ``apply_change_set``), the options they take, the results and
errors they give back, the run ledger's reports, and the few read-only helpers the
orchestration needs (slice profile, id bounds, stored change sets).
"""

from student_sync.engine.changelog import conflicts_markdown
from student_sync.engine.changeset import applied_summary, latest_change_set
from student_sync.engine.db import (
    DATABASE_URL_ENV,
    LEGACY_URL_ENV,
    DatabaseUrls,
    describe_url,
    mask_text,
    normalize_url,
    resolve_urls,
)
from student_sync.engine.errors import (
    ChangeSetNotFound,
    ConfigurationError,
    DatabaseUnavailable,
    InvalidOption,
    LegacyTableMissing,
    LockHeld,
    MassDeleteRefused,
    NamesAnOption,
    StaleChangeSet,
    SyncFailed,
)
from student_sync.engine.ledger import render_run_report, write_run_report
from student_sync.engine.legacy_profile import legacy_id_bounds, profile_legacy
from student_sync.engine.model import Counters, Rejection, efficiency_level, success_level
from student_sync.engine.options import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_CHANGE_LOG_DAYS,
    DEFAULT_TIMEZONE,
    MAX_STUDENT_ID,
    DateWindow,
    IdRange,
    SyncOptions,
    batch_size_note,
)
from student_sync.engine.rejections import open_rejections_markdown
from student_sync.engine.report import RunSummary, recommendations, write_report
from student_sync.engine.report_html import html_path_for
from student_sync.engine.run import RunResult, apply_change_set, plan_change_set, sync

__all__ = [
    "DATABASE_URL_ENV",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_CHANGE_LOG_DAYS",
    "DEFAULT_TIMEZONE",
    "LEGACY_URL_ENV",
    "MAX_STUDENT_ID",
    "ChangeSetNotFound",
    "ConfigurationError",
    "Counters",
    "DatabaseUnavailable",
    "DatabaseUrls",
    "DateWindow",
    "IdRange",
    "InvalidOption",
    "LegacyTableMissing",
    "LockHeld",
    "MassDeleteRefused",
    "NamesAnOption",
    "Rejection",
    "RunResult",
    "RunSummary",
    "StaleChangeSet",
    "SyncFailed",
    "SyncOptions",
    "applied_summary",
    "apply_change_set",
    "batch_size_note",
    "conflicts_markdown",
    "describe_url",
    "efficiency_level",
    "html_path_for",
    "latest_change_set",
    "legacy_id_bounds",
    "mask_text",
    "normalize_url",
    "open_rejections_markdown",
    "plan_change_set",
    "profile_legacy",
    "recommendations",
    "render_run_report",
    "resolve_urls",
    "success_level",
    "sync",
    "write_report",
    "write_run_report",
]
