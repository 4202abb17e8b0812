"""The sync engine's public surface: what the CLI, the Django app and the Dagster layer
import (never the engine's modules themselves).

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
    connected_engine,
    describe_url,
    make_engine,
    mask_text,
    normalize_url,
    resolve_urls,
    url_password,
)
from student_sync.engine.errors import (
    ChangeSetNotFound,
    ConfigurationError,
    DatabaseUnavailable,
    DriverError,
    InvalidOption,
    LegacyLoadError,
    LegacyTableMissing,
    LockHeld,
    MassDeleteRefused,
    NamesAnOption,
    ReportUnavailable,
    StaleChangeSet,
    SyncFailed,
    describe_db_error,
)
from student_sync.engine.history import student_history
from student_sync.engine.initialize import check_readiness, check_ready, initialize
from student_sync.engine.ledger import render_run_report, write_run_report
from student_sync.engine.legacy_load import load_legacy_csv
from student_sync.engine.legacy_profile import legacy_id_bounds, profile_legacy
from student_sync.engine.model import Counters, Rejection, efficiency_level, success_level
from student_sync.engine.options import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_CHANGE_LOG_DAYS,
    DEFAULT_TIMEZONE,
    MAX_STUDENT_ID,
    MODES,
    ON_CONFLICT,
    DateWindow,
    IdRange,
    SyncOptions,
    batch_size_note,
    parse_id_range,
    parse_modified_since,
    school_zone,
)
from student_sync.engine.readiness import Gap, find_gaps
from student_sync.engine.rejections import (
    RejectionQuery,
    export_rejections_csv,
    list_rejections,
    local_time,
    open_rejections_markdown,
)
from student_sync.engine.report import RunSummary, console_block, recommendations, write_report
from student_sync.engine.report_html import html_path_for
from student_sync.engine.run import RunResult, apply_change_set, plan_change_set, sync

__all__ = [
    "ChangeSetNotFound",
    "ConfigurationError",
    "Counters",
    "DATABASE_URL_ENV",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_CHANGE_LOG_DAYS",
    "DEFAULT_TIMEZONE",
    "DatabaseUnavailable",
    "DatabaseUrls",
    "DateWindow",
    "DriverError",
    "Gap",
    "IdRange",
    "InvalidOption",
    "LEGACY_URL_ENV",
    "LegacyLoadError",
    "LegacyTableMissing",
    "LockHeld",
    "MAX_STUDENT_ID",
    "MODES",
    "MassDeleteRefused",
    "NamesAnOption",
    "ON_CONFLICT",
    "Rejection",
    "RejectionQuery",
    "ReportUnavailable",
    "RunResult",
    "RunSummary",
    "StaleChangeSet",
    "SyncFailed",
    "SyncOptions",
    "applied_summary",
    "apply_change_set",
    "batch_size_note",
    "check_readiness",
    "check_ready",
    "conflicts_markdown",
    "connected_engine",
    "console_block",
    "describe_db_error",
    "describe_url",
    "efficiency_level",
    "export_rejections_csv",
    "find_gaps",
    "html_path_for",
    "initialize",
    "latest_change_set",
    "legacy_id_bounds",
    "list_rejections",
    "load_legacy_csv",
    "local_time",
    "make_engine",
    "mask_text",
    "normalize_url",
    "open_rejections_markdown",
    "parse_id_range",
    "parse_modified_since",
    "plan_change_set",
    "profile_legacy",
    "recommendations",
    "render_run_report",
    "resolve_urls",
    "school_zone",
    "student_history",
    "success_level",
    "sync",
    "url_password",
    "write_report",
    "write_run_report",
]
