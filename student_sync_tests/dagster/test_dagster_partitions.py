"""Folding a run's cells into (ID ranges, date window): one cell and a range go the same way."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from student_sync.engine.options import DateWindow, IdRange
from student_sync.orchestration.partitions import (
    fold_partition_keys,
    grid_ranges,
    invalid_range_keys,
    parse_range_key,
    range_key,
    ranges_to_register,
)

FIRST, LAST = date(2026, 1, 1), date(2026, 3, 9)


def fold(*keys: str, last: date | None = LAST):
    return fold_partition_keys(list(keys), first_day=FIRST, last_day=last)


def test_one_cell_is_that_day_in_school_time() -> None:
    sl = fold("18000-18999|2026-03-05")
    assert sl.id_ranges == (IdRange(18000, 18999),)
    assert sl.window == DateWindow(since=datetime(2026, 3, 5), until=datetime(2026, 3, 6))
    assert sl.cells == 1 and sl.label == "ids 18000-18999; days 2026-03-05 (1 cell)"


def test_contiguous_days_merge_into_one_window_and_adjacent_ranges_merge() -> None:
    keys = [f"{r}|2026-03-0{d}" for r in ("0-999", "1000-1999", "5000-5999") for d in (3, 4, 5)]
    sl = fold(*reversed(keys))
    assert sl.id_ranges == (IdRange(0, 1999), IdRange(5000, 5999))
    assert sl.window == DateWindow(since=datetime(2026, 3, 3), until=datetime(2026, 3, 6))
    assert sl.cells == 9


def test_the_first_day_owns_older_and_undated_rows() -> None:
    sl = fold("0-999|2026-01-01", "0-999|2026-01-02")
    assert sl.window == DateWindow(since=None, until=datetime(2026, 1, 3), include_undated=True)


def test_the_whole_span_is_a_full_scan() -> None:
    keys = [
        f"0-999|{date.fromordinal(d).isoformat()}"
        for d in range(FIRST.toordinal(), LAST.toordinal() + 1)
    ]
    assert fold(*keys).window.is_open
    assert not fold(*keys, last=date(2026, 3, 10)).window.is_open  # a day short of the span
    assert fold(*keys[:-1]).window.until == datetime(2026, 3, 9)


def test_cells_that_are_not_a_rectangle_or_not_contiguous_are_refused() -> None:
    with pytest.raises(ValueError, match="not every ID range x every day"):
        fold("0-999|2026-03-03", "1000-1999|2026-03-04")
    with pytest.raises(ValueError, match="not contiguous"):
        fold("0-999|2026-03-03", "0-999|2026-03-05")
    with pytest.raises(ValueError, match="no partition keys"):
        fold()
    with pytest.raises(ValueError, match="ID-range partition key"):
        fold("abc|2026-03-03")


def test_range_keys_and_the_grid() -> None:
    assert range_key(IdRange(18000, 18999)) == "18000-18999"
    assert parse_range_key("18000-18999") == IdRange(18000, 18999)
    assert grid_ranges(18250, 19000, 1000) == [IdRange(18000, 18999), IdRange(19000, 19999)]
    registered = [IdRange(1000, 1999)]
    assert ranges_to_register(1500, 1700, 1000, registered) == []
    assert ranges_to_register(900, 2100, 500, registered) == [
        IdRange(500, 999),
        IdRange(2000, 2499),
    ]
    # A width change never overlaps an old range: the new grid is clipped at its edges.
    assert ranges_to_register(1000, 2600, 700, registered) == [
        IdRange(2000, 2099),
        IdRange(2100, 2799),
    ]


def test_hand_added_range_keys_are_judged_in_registration_order() -> None:
    registered = ["0-999", "1000-1999", "abc", "1500-2500", "2000-2999", "5-1", "3000-99999999999"]
    assert invalid_range_keys(registered) == {
        "abc": "not an ID-range partition key (START-END): 'abc'",
        "1500-2500": "ID-range key '1500-2500' overlaps the registered range '1000-1999'",
        "5-1": "not an ID-range partition key (START-END): '5-1'",
        "3000-99999999999": "ID-range key '3000-99999999999' ends beyond the largest student "
        "id 2147483647",
    }
    assert invalid_range_keys(["0-999", "1000-1999"]) == {}
