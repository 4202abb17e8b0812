"""The 2-D partitioning: ID ranges (registered by a sensor) x school days.

A cell ``(id_range, modified_date)`` is the rows of that ID range whose effective date
(modified, else created; school local time) falls on that day. The first day also owns every
older row and every undated row, so the cells together cover every row with a usable id.
``fold_partition_keys`` turns whatever set of cells a run targets (one cell, a backfill range,
the whole span) into the engine's filters: a tuple of ``IdRange`` and one ``DateWindow``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from student_sync.engine import DEFAULT_TIMEZONE, MAX_STUDENT_ID, DateWindow, IdRange

ID_RANGE_DIM = "id_range"
DATE_DIM = "modified_date"
ID_RANGES_NAME = "id_ranges"
DEFAULT_FIRST_DAY = "2026-01-01"
FIRST_DAY_ENV = "STUDENT_SYNC_FIRST_DAY"


def first_day_setting() -> str:
    """The date dimension's first day (``STUDENT_SYNC_FIRST_DAY``): it owns all older rows.

    Read when the code location loads, because a partitions definition is fixed at load time.
    """
    value = os.environ.get(FIRST_DAY_ENV, "").strip() or DEFAULT_FIRST_DAY
    date.fromisoformat(value)  # fail at load time, naming the variable's bad value
    return value


FIRST_DAY = first_day_setting()
SCHOOL_TIMEZONE = DEFAULT_TIMEZONE

id_ranges_partitions = dg.DynamicPartitionsDefinition(name=ID_RANGES_NAME)
modified_date_partitions = dg.DailyPartitionsDefinition(
    start_date=FIRST_DAY, timezone=SCHOOL_TIMEZONE
)
student_partitions = dg.MultiPartitionsDefinition(
    {ID_RANGE_DIM: id_ranges_partitions, DATE_DIM: modified_date_partitions}
)

_RANGE_KEY = re.compile(r"^(\d+)-(\d+)$")


def range_key(id_range: IdRange) -> str:
    """``IdRange(18000, 18999)`` -> ``"18000-18999"`` (the dynamic partition key)."""
    return f"{id_range.start}-{id_range.end}"


def parse_range_key(key: str) -> IdRange:
    match = _RANGE_KEY.match(key)
    if not match or int(match.group(1)) > int(match.group(2)):
        raise ValueError(f"not an ID-range partition key (START-END): {key!r}")
    if int(match.group(2)) > MAX_STUDENT_ID:
        raise ValueError(
            f"ID-range key {key!r} ends beyond the largest student id {MAX_STUDENT_ID}"
        )
    return IdRange(int(match.group(1)), int(match.group(2)))


def invalid_range_keys(registered: Sequence[str]) -> dict[str, str]:
    """Registered id_range keys no run may use, each with the reason (pure).

    The dimension is dynamic, so the UI's Materialize dialog lets anyone add a key; only the
    range sensor should. A key is invalid when it is not ``START-END`` or when it overlaps a
    key registered before it (rows would be synced under two cells). Keys are judged in
    registration order, so the sensor's own grid always stays valid.
    """
    accepted: list[tuple[str, IdRange]] = []
    invalid: dict[str, str] = {}
    for key in registered:
        try:
            id_range = parse_range_key(key)
        except ValueError as exc:
            invalid[key] = str(exc)
            continue
        clash = next(
            (k for k, r in accepted if r.start <= id_range.end and id_range.start <= r.end), None
        )
        if clash is not None:
            invalid[key] = f"ID-range key {key!r} overlaps the registered range {clash!r}"
        else:
            accepted.append((key, id_range))
    return invalid


def grid_ranges(min_id: int, max_id: int, width: int) -> list[IdRange]:
    """The width-aligned ranges covering ``[min_id, max_id]`` (e.g. 18000-18999, 19000-19999)."""
    if width < 1:
        raise ValueError(f"id_range_width must be at least 1, got {width}")
    first, last = min_id // width, max_id // width
    return [IdRange(k * width, k * width + width - 1) for k in range(first, last + 1)]


def cell_key(id_range: str, day: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({ID_RANGE_DIM: id_range, DATE_DIM: day})


def split_key(key: str | dg.MultiPartitionKey) -> tuple[str, str]:
    """(id_range key, day key) of a cell, from a MultiPartitionKey or its ``a|b`` string."""
    if isinstance(key, dg.MultiPartitionKey):
        dims = key.keys_by_dimension
        return dims[ID_RANGE_DIM], dims[DATE_DIM]
    # Dimensions are ordered by name in the string form: id_range|modified_date.
    id_part, _, day_part = str(key).partition("|")
    return id_part, day_part


@dataclass(frozen=True)
class SyncSlice:
    """What a run syncs: the engine filters plus a description for logs and metadata."""

    id_ranges: tuple[IdRange, ...]
    window: DateWindow
    first_day: date
    last_day: date
    cells: int

    @property
    def label(self) -> str:
        ranges = ", ".join(f"{r.start}-{r.end}" for r in self.id_ranges)
        days = (
            self.first_day.isoformat()
            if self.first_day == self.last_day
            else f"{self.first_day.isoformat()}..{self.last_day.isoformat()}"
        )
        return f"ids {ranges}; days {days} ({self.cells} cell{'s' if self.cells != 1 else ''})"

    @property
    def window_label(self) -> str:
        w = self.window
        if w.is_open:
            return "every row (full scan, includes undated rows)"
        since = w.since.isoformat(sep=" ") if w.since else "the beginning"
        until = w.until.isoformat(sep=" ") if w.until else "now"
        extra = ", plus undated rows" if w.include_undated else ""
        return f"effective date in [{since}, {until}) school time{extra}"


def _merge(ranges: Iterable[IdRange]) -> tuple[IdRange, ...]:
    """Adjacent or overlapping ranges merge, so the SQL filter stays short."""
    merged: list[IdRange] = []
    for r in sorted(ranges):
        if merged and r.start <= merged[-1].end + 1:
            last = merged.pop()
            merged.append(IdRange(last.start, max(last.end, r.end)))
        else:
            merged.append(r)
    return tuple(merged)


def fold_partition_keys(
    keys: Sequence[str | dg.MultiPartitionKey],
    *,
    first_day: date,
    last_day: date | None = None,
) -> SyncSlice:
    """Fold a run's cells into (ID ranges, one date window); pure, so one cell and a range agree.

    The cells must form a rectangle (every range x every day) over contiguous days, which is
    what a single cell, a partition-key range, and Dagster's single-run backfills give.
    - the window is ``[first selected day 00:00, day after the last 00:00)`` in school time;
    - when the first selected day is ``first_day`` the window is open to the left and takes
      undated rows (that cell owns everything older);
    - when the days run from ``first_day`` to ``last_day`` (the latest partition) the window
      is fully open: a full scan, which is also what lets the engine find vanished students.
    """
    if not keys:
        raise ValueError("a partitioned run with no partition keys")
    cells = {split_key(k) for k in keys}
    range_keys = sorted({r for r, _ in cells}, key=lambda k: parse_range_key(k))
    days = sorted({date.fromisoformat(d) for _, d in cells})
    if len(cells) != len(range_keys) * len(days):
        raise ValueError(
            f"the {len(cells)} selected cells are not every ID range x every day "
            f"({len(range_keys)} ranges x {len(days)} days); launch one run per ID range"
        )
    if (days[-1] - days[0]).days + 1 != len(days):
        raise ValueError("the selected days are not contiguous; launch one run per day span")
    if days[0] < first_day:
        raise ValueError(f"day {days[0]} is before the first partition day {first_day}")
    owns_older = days[0] == first_day
    if owns_older and last_day is not None and days[-1] >= last_day:
        window = DateWindow()
    else:
        window = DateWindow(
            since=None if owns_older else datetime.combine(days[0], time.min),
            until=datetime.combine(days[-1] + timedelta(days=1), time.min),
            include_undated=owns_older,
        )
    return SyncSlice(
        id_ranges=_merge(parse_range_key(k) for k in range_keys),
        window=window,
        first_day=days[0],
        last_day=days[-1],
        cells=len(cells),
    )


def partition_first_day() -> date:
    return date.fromisoformat(FIRST_DAY)


def partition_last_day(now: datetime | None = None) -> date | None:
    """The latest partition day: yesterday in school time (today is not complete yet)."""
    moment = now or datetime.now(UTC)
    last = moment.astimezone(ZoneInfo(SCHOOL_TIMEZONE)).date() - timedelta(days=1)
    return last if last >= partition_first_day() else None


def ranges_to_register(
    low: int, high: int, width: int, registered: Sequence[IdRange]
) -> list[IdRange]:
    """New ranges covering ids ``[low, high]`` that no registered range covers.

    Registered ranges are kept as they are; new ones extend below and above them on the
    ``width`` grid, clipped so a later width change never overlaps an old range.
    """
    if not registered:
        return grid_ranges(low, high, width)
    first, last = min(r.start for r in registered), max(r.end for r in registered)
    new: list[IdRange] = []
    if low < first:
        new += [IdRange(r.start, min(r.end, first - 1)) for r in grid_ranges(low, first - 1, width)]
    if high > last:
        new += [IdRange(max(r.start, last + 1), r.end) for r in grid_ranges(last + 1, high, width)]
    return new
