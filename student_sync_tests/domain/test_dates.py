"""Dates and timestamps in every format of domain.md."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from student_sync.domain import parse_date, parse_timestamp


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Jan 15 1990 12:00AM", date(1990, 1, 15)),
        ("Sep  3 1990 12:00:00:000AM", date(1990, 9, 3)),
        ("Sep 3 1990 11:59:59:997PM", date(1990, 9, 3)),
        ("2009-04-07 00:00:00.000", date(2009, 4, 7)),
        ("2009-04-07", date(2009, 4, 7)),
        ("2009-04-07T08:30:00", date(2009, 4, 7)),
        ("2009/04/07", date(2009, 4, 7)),
        ("04/07/2009", date(2009, 4, 7)),  # m/d/Y
        ("4/7/2009", date(2009, 4, 7)),
        ("25/12/2009", date(2009, 12, 25)),  # d/m/Y: 25 cannot be a month
        ("12/25/2009", date(2009, 12, 25)),
        ("15 Jan 1990", date(1990, 1, 15)),
        ("15-Jan-1990", date(1990, 1, 15)),
        ("January 15, 1990", date(1990, 1, 15)),
        ("Sept 3 1990", date(1990, 9, 3)),
        ("20090407", date(2009, 4, 7)),
        ("2000-02-29", date(2000, 2, 29)),
        (date(2001, 2, 3), date(2001, 2, 3)),
        (datetime(2001, 2, 3, 4, 5), date(2001, 2, 3)),
        ("2009-04-06T20:00:00Z", date(2009, 4, 7)),  # 03:00 next day in Phnom Penh
    ],
)
def test_parse_date(raw: object, expected: date) -> None:
    parsed = parse_date(raw, "birth_date")
    assert parsed.value == expected
    assert parsed.warnings == ()


@pytest.mark.parametrize("raw", [None, "NULL", "", "0000-00-00", "0000-00-00 00:00:00.000"])
def test_null_dates(raw: object) -> None:
    assert parse_date(raw, "birth_date") == parse_date(None, "birth_date")
    assert parse_date(raw, "birth_date").value is None
    assert parse_date(raw, "birth_date").warnings == ()


@pytest.mark.parametrize(
    "raw",
    [
        "2009-02-30",
        "2009-13-01",
        "13/13/2009",
        "2/30/2009",
        "Feb 30 2009",
        "Foo 3 1990",
        "1990",
        "yesterday",
        "04/07/09",
        "1850-01-01",
        "2009-04-07 25:00:00",
        "Sep 3 1990 13:00PM",
        "1900-01-01 00:00:00.000",
    ],
)
def test_invalid_dates_warn(raw: str) -> None:
    parsed = parse_date(raw, "lastenroll")
    assert parsed.value is None
    assert [(w.code, w.field) for w in parsed.warnings] == [("INVALID_DATE", "lastenroll")]
    assert raw in parsed.warnings[0].detail


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-05-01 13:45:10.123", datetime(2024, 5, 1, 13, 45, 10, 123000)),
        ("May  1 2024  1:45PM", datetime(2024, 5, 1, 13, 45)),
        ("May 1 2024 12:05:00:000AM", datetime(2024, 5, 1, 0, 5)),
        ("May 1 2024 12:05PM", datetime(2024, 5, 1, 12, 5)),
        ("05/01/2024 08:00", datetime(2024, 5, 1, 8, 0)),
        ("2024-05-01T06:00:00+00:00", datetime(2024, 5, 1, 13, 0)),  # converted to UTC+7
        ("2024-05-01T13:00:00+07:00", datetime(2024, 5, 1, 13, 0)),
        ("2024-05-01", datetime(2024, 5, 1)),
        (datetime(2024, 5, 1, 6, tzinfo=UTC), datetime(2024, 5, 1, 13)),
        (datetime(2024, 5, 1, 6), datetime(2024, 5, 1, 6)),
        (None, None),
        ("NULL", None),
        ("garbage", None),
        ("2024-02-30 10:00", None),
        ("1900-01-01 00:00:00.000", None),  # SQL Server's empty-string datetime
    ],
)
def test_parse_timestamp(raw: object, expected: datetime | None) -> None:
    value = parse_timestamp(raw)
    assert value == expected
    assert value is None or value.tzinfo is None
