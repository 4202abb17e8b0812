"""The date window: ``--modified-since``, a day's cell, the first day's cell (everything
older plus undated rows), and the effective date (modified_date, else created_date).

``parse_modified_since`` turns the flag into school-local midnight; ``LegacySource.in_window``
filters in SQL and ``row_in_window`` settles what SQL cannot parse; the walk and the slice
count must agree. SQL cases run on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Column, DateTime, MetaData, Table, Text

from student_sync.engine import schema
from student_sync.engine.errors import ConfigurationError
from student_sync.engine.extract import LegacySource, count_slice, row_in_window
from student_sync.engine.options import DateWindow, SyncOptions, parse_modified_since
from student_sync_tests.engine.support import legacy_engine, legacy_row, pages

PHNOM_PENH = "Asia/Phnom_Penh"  # UTC+7, no daylight saving


# --------------------------------------------------------------------------- --modified-since
@pytest.mark.parametrize(
    ("text", "now_utc", "zone", "expected"),
    [
        ("yesterday", datetime(2026, 3, 10, 3, 0), PHNOM_PENH, datetime(2026, 3, 9)),
        # 01:30 on the 10th in Phnom Penh while UTC is still on the 9th
        ("yesterday", datetime(2026, 3, 9, 18, 30), PHNOM_PENH, datetime(2026, 3, 9)),
        # 23:59 on the 9th in Phnom Penh
        ("yesterday", datetime(2026, 3, 9, 16, 59), PHNOM_PENH, datetime(2026, 3, 8)),
        ("yesterday", datetime(2026, 3, 9, 18, 30), "UTC", datetime(2026, 3, 8)),
        ("yesterday", datetime(2026, 3, 1, 3, 0), PHNOM_PENH, datetime(2026, 2, 28)),
        (" Yesterday ", datetime(2026, 3, 10, 3, 0), PHNOM_PENH, datetime(2026, 3, 9)),
        ("today", datetime(2026, 3, 9, 18, 30), PHNOM_PENH, datetime(2026, 3, 10)),
        ("2026-02-28", datetime(2026, 3, 10, 3, 0), PHNOM_PENH, datetime(2026, 2, 28)),
    ],
)
def test_modified_since_is_school_local_midnight(text, now_utc, zone, expected) -> None:
    since = parse_modified_since(text, timezone=zone, now=now_utc.replace(tzinfo=UTC))
    assert since == expected
    assert since.tzinfo is None  # compared with legacy timestamps, which are school local


@pytest.mark.parametrize(
    ("text", "zone"),
    [("last week", PHNOM_PENH), ("2026-13-01", PHNOM_PENH), ("", PHNOM_PENH), ("today", "Mars/X")],
)
def test_modified_since_refuses_what_it_cannot_read(text, zone) -> None:
    with pytest.raises(ConfigurationError):
        parse_modified_since(text, timezone=zone, now=datetime(2026, 3, 10, tzinfo=UTC))


# --------------------------------------------------------------------------- windows
SINCE = DateWindow(since=datetime(2026, 3, 9))  # --modified-since 2026-03-09
DAY = DateWindow(since=datetime(2026, 3, 9), until=datetime(2026, 3, 10))  # one day's cell
FIRST_DAY = DateWindow(until=datetime(2026, 3, 9), include_undated=True)  # first cell: 03-08
OPEN = DateWindow()
WINDOWS = {"since": SINCE, "day": DAY, "first_day": FIRST_DAY, "open": OPEN}


@pytest.mark.parametrize(
    ("effective", "inside"),
    [
        (None, {"first_day", "open"}),
        ("2026-03-09 00:00:00.000", {"since", "day", "open"}),
        ("2026-03-08 23:59:59.999", {"first_day", "open"}),
        ("2026-03-10 00:00:00.000", {"since", "open"}),
        (datetime(2026, 3, 9, 12, 0), {"since", "day", "open"}),
        (date(2026, 3, 9), {"since", "day", "open"}),
        ("Mar  9 2026 12:00AM", {"since", "day", "open"}),
        ("03/08/2026", {"first_day", "open"}),
        ("not a date", {"open"}),  # unreadable: only a full run takes it
    ],
)
def test_row_in_window(effective, inside) -> None:
    assert {name for name, window in WINDOWS.items() if row_in_window(effective, window)} == inside


# (id, modified_date, created_date, windows the row belongs to besides the open one)
CASES = [
    ("00001", "2026-03-09 08:00:00.000", "2025-01-01 08:00:00.000", {"since", "day"}),
    ("00002", "2026-03-10 09:00:00.000", "2025-01-01 08:00:00.000", {"since"}),
    ("00003", "2026-03-08 23:59:59.999", "2025-01-01 08:00:00.000", {"first_day"}),
    ("00004", None, "2026-03-09 07:00:00.000", {"since", "day"}),  # NULL: created_date
    ("00005", None, "2025-12-01 07:00:00.000", {"first_day"}),
    ("00006", None, None, {"first_day"}),  # undated: the first day's cell owns it
    ("00007", "NULL", "2026-03-09 10:00:00.000", {"since", "day"}),  # null marker: created
    ("00008", "0000-00-00 00:00:00.000", "2026-03-09 10:00:00.000", {"since", "day"}),
    ("00009", "  ", None, {"first_day"}),  # blank and no created_date: undated
    ("00010", "n/a", "2026-03-09 01:00:00.000", {"since", "day"}),
    ("00011", "Mar  9 2026 12:00AM", None, {"since", "day"}),  # not ISO: parsed in Python
    ("00012", "03/08/2026", None, {"first_day"}),
    ("00013", "2026-03-01 09:00:00.000", "2026-03-09 09:00:00.000", {"first_day"}),  # modified wins
    ("00014", "soon", "2026-03-09 09:00:00.000", set()),  # unreadable, not null: full runs only
]


@pytest.fixture
def dated_table(db_url):
    rows = [
        legacy_row(sid, str(n), modified_date=modified, created_date=created)
        for n, (sid, modified, created, _) in enumerate(CASES, start=1)
    ]
    engine = legacy_engine(db_url, rows)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("window_name", sorted(WINDOWS))
def test_text_dates_walk_and_count_agree(dated_table, window_name) -> None:
    window = WINDOWS[window_name]
    expected = {sid for sid, _, _, inside in CASES if window_name in inside or window.is_open}
    options = SyncOptions(window=window, page_size=2, batch_size=1)
    walked = [row["id"] for page in pages(dated_table, options) for row in page]
    assert sorted(walked) == sorted(expected)
    with dated_table.connect() as conn:
        assert count_slice(conn, LegacySource.reflect(conn), options) == len(expected)


def test_typed_date_columns(db_url) -> None:
    """A legacy table with real DATETIME columns takes the typed path, with the same rules."""
    columns = [
        Column(name, DateTime if name in ("modified_date", "created_date") else Text)
        for name in schema.LEGACY_COLUMNS
    ]
    table = Table(schema.LEGACY_TABLE_NAME, MetaData(), *columns)
    rows = [
        legacy_row("00001", "1", modified_date=datetime(2026, 3, 9, 8), created_date=None),
        legacy_row("00002", "2", modified_date=None, created_date=datetime(2026, 3, 9, 7)),
        legacy_row("00003", "3", modified_date=None, created_date=None),
        legacy_row("00004", "4", modified_date=datetime(2026, 3, 8, 23, 59), created_date=None),
    ]
    engine = legacy_engine(db_url, rows, table=table)
    try:
        inside = {
            name: sorted(
                row["id"]
                for page in pages(engine, SyncOptions(window=window, page_size=2, batch_size=1))
                for row in page
            )
            for name, window in WINDOWS.items()
        }
    finally:
        engine.dispose()
    assert inside == {
        "since": ["00001", "00002"],
        "day": ["00001", "00002"],
        "first_day": ["00003", "00004"],
        "open": ["00001", "00002", "00003", "00004"],
    }
