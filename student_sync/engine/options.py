"""Run options: what the CLI flags and the Dagster run config both turn into."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from student_sync.engine.errors import ConfigurationError, InvalidOption

Mode = Literal["upsert", "create-only", "update-only"]
MODES: tuple[str, ...] = ("upsert", "create-only", "update-only")
OnConflict = Literal["keep-sis", "legacy-wins"]
ON_CONFLICT: tuple[str, ...] = ("keep-sis", "legacy-wins")
DEFAULT_CHANGE_LOG_DAYS = 400  # a school year and its summer, with room to spare
DEFAULT_TIMEZONE = "Asia/Phnom_Penh"
DEFAULT_BATCH_SIZE = 100
# The largest batch a run takes. In memory at once: the batch being written (its records and
# the SIS values they replace) and two pages of at most ``page_size`` rows (one read ahead, one
# being normalized): a batch larger than a page is cut from several pages. At 20,000 a
# 1,000,000-row forced rewrite, the hungriest run, peaks at ~280 MB in the run's process plus
# ~80 MB in its transform worker (issue 18, session 7; 434 MB when pages were as large as the
# batch); a larger --batch-size is clamped to this (``validate``), not refused, so an old
# script still runs.
MAX_BATCH_SIZE = 20_000
MASS_DELETE_THRESHOLD = 0.02
MAX_STUDENT_ID = 2_147_483_647  # people_studentprofile.student_id is a 32-bit integer


@dataclass(frozen=True, order=True)
class IdRange:
    """An inclusive range of numeric student ids."""

    start: int
    end: int

    def __str__(self) -> str:
        return f"{self.start}:{self.end}"

    def __contains__(self, student_id: object) -> bool:
        return isinstance(student_id, int) and self.start <= student_id <= self.end


@dataclass(frozen=True)
class DateWindow:
    """Rows whose effective date (modified, else created) is in [since, until), school local.

    ``include_undated`` also takes rows with neither date: the first day of the Dagster
    partition set owns them, so the cells together cover every row.
    """

    since: datetime | None = None
    until: datetime | None = None
    include_undated: bool = False

    @property
    def is_open(self) -> bool:
        return self.since is None and self.until is None


@dataclass(frozen=True)
class SyncOptions:
    mode: Mode = "upsert"
    window: DateWindow = field(default_factory=DateWindow)
    id_ranges: tuple[IdRange, ...] = ()
    force_update: bool = False
    dry_run: bool = False
    limit: int | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    reports_dir: Path = Path("reports")
    allow_mass_delete: bool = False
    timezone: str = DEFAULT_TIMEZONE
    page_size: int = 10_000
    # Worker processes for transform; None = automatic (``workers.auto_workers``: one per
    # core beyond the first, at most two, when 20,000+ rows need normalizing; else none).
    workers: int | None = None
    # Echo of what the user asked for, for the report (e.g. "yesterday").
    modified_since_text: str | None = None
    # A column a registrar changed in the SIS since the sync last wrote it: keep the SIS value
    # (and report the conflict once) or overwrite it with the legacy value (logged).
    on_conflict: OnConflict = "keep-sis"
    # Change-log rows older than this many days are pruned at the end of a run; 0 keeps all.
    change_log_days: int = DEFAULT_CHANGE_LOG_DAYS

    @property
    def is_full_scan(self) -> bool:
        """Only an unfiltered scan of a range can tell that a student vanished."""
        return self.window.is_open and self.limit is None

    def with_(self, **changes: object) -> SyncOptions:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the ledger's parameters, a stored change set's header, a summary."""
        data = asdict(self)
        data["reports_dir"] = str(self.reports_dir)
        data["window"] = {
            "since": self.window.since.isoformat() if self.window.since else None,
            "until": self.window.until.isoformat() if self.window.until else None,
            "include_undated": self.window.include_undated,
        }
        data["id_ranges"] = [[r.start, r.end] for r in self.id_ranges]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SyncOptions:
        """The inverse of ``to_dict``."""
        w = data["window"]
        return cls(
            **{
                **data,
                "reports_dir": Path(data["reports_dir"]),
                "window": DateWindow(
                    since=datetime.fromisoformat(w["since"]) if w["since"] else None,
                    until=datetime.fromisoformat(w["until"]) if w["until"] else None,
                    include_undated=w["include_undated"],
                ),
                "id_ranges": tuple(IdRange(a, b) for a, b in data["id_ranges"]),
            }
        )


def school_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(f"unknown time zone {name!r}") from None


def parse_modified_since(text: str, *, timezone: str, now: datetime | None = None) -> datetime:
    """``yesterday`` is midnight at the start of yesterday in the school's zone (naive local)."""
    zone = school_zone(timezone)
    value = text.strip().lower()
    local_now = (now or datetime.now(zone)).astimezone(zone)
    if value == "yesterday":
        day = local_now.date() - timedelta(days=1)
    elif value == "today":
        day = local_now.date()
    else:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise InvalidOption(
                "modified_since", f"must be 'yesterday' or YYYY-MM-DD, got {text!r}"
            ) from None
    return datetime.combine(day, time.min)


_RANGE = re.compile(r"^\s*(\d+)\s*[:\-]\s*(\d+)\s*$")


def parse_id_range(text: str) -> IdRange:
    """``START:END``, inclusive, both numeric, START <= END (``START-END`` is accepted too)."""
    match = _RANGE.match(text or "")
    if not match:
        raise InvalidOption("student_id_range", f"must be START:END (numbers), got {text!r}")
    start, end = int(match.group(1)), int(match.group(2))
    if start > end:
        raise InvalidOption("student_id_range", f"start {start} is greater than end {end}")
    if end > MAX_STUDENT_ID:
        raise InvalidOption("student_id_range", f"end {end} exceeds {MAX_STUDENT_ID}")
    return IdRange(start, end)


def batch_size_note(requested: int, *, name: str = "batch_size") -> str | None:
    """What to tell the user when ``requested`` is above ``MAX_BATCH_SIZE`` (else None);
    ``name``: what the caller's user calls the option (the CLI: ``--batch-size``)."""
    if requested <= MAX_BATCH_SIZE:
        return None
    return (
        f"{name} {requested} is above {MAX_BATCH_SIZE}, the largest batch whose rows "
        f"fit the run's memory bound; using {MAX_BATCH_SIZE}"
    )


def validate(options: SyncOptions) -> SyncOptions:
    """Check the options; a batch size above ``MAX_BATCH_SIZE`` comes back clamped to it."""
    if options.mode not in MODES:
        raise InvalidOption("mode", f"must be one of {', '.join(MODES)}, got {options.mode!r}")
    if options.batch_size < 1:
        raise InvalidOption("batch_size", f"must be at least 1, got {options.batch_size}")
    if options.workers is not None and options.workers < 0:
        raise InvalidOption("workers", f"must be 0 or more, got {options.workers}")
    if options.on_conflict not in ON_CONFLICT:
        raise InvalidOption(
            "on_conflict",
            f"must be one of {', '.join(ON_CONFLICT)}, got {options.on_conflict!r}",
        )
    if options.change_log_days < 0:
        raise InvalidOption(
            "change_log_days", f"must be 0 (keep all) or more, got {options.change_log_days}"
        )
    if options.limit is not None and options.limit < 1:
        raise InvalidOption("limit", f"must be at least 1, got {options.limit}")
    school_zone(options.timezone)
    if options.batch_size > MAX_BATCH_SIZE:
        options = options.with_(batch_size=MAX_BATCH_SIZE)
    return options
