"""The legacy-slice profile and the id bounds the range sensor reads (engine functions)."""

from __future__ import annotations

from datetime import datetime

import pytest

from student_sync.engine.db import DatabaseUrls, normalize_url
from student_sync.engine.errors import DatabaseUnavailable
from student_sync.engine.legacy_profile import legacy_id_bounds, profile_legacy
from student_sync.engine.options import DateWindow, IdRange, SyncOptions
from student_sync_tests.helpers import legacy_row, write_legacy


def urls(url: str) -> DatabaseUrls:
    return DatabaseUrls(normalize_url(url), normalize_url(url))


@pytest.fixture
def legacy(db_url: str) -> str:
    write_legacy(
        db_url,
        [
            legacy_row(1, modified_date="2026-03-05 08:00:00.000"),
            legacy_row(2, name="NULL", modified_date="Mar  5 2026  7:15AM"),  # non-ISO, in window
            legacy_row(3, kname=None, modified_date="2026-03-06 00:00:00.000"),  # next day
            legacy_row(4, modified_date=None, created_date="2026-03-05 23:59:00.000"),
            legacy_row(5, modified_date=None, created_date=None),  # undated
            legacy_row("A0123", modified_date="2026-03-05 09:00:00.000"),  # bad id, in window
            legacy_row(" ", modified_date="2026-02-01 09:00:00.000"),  # bad id, outside
            legacy_row("99999999999"),  # digits, but too large for a student id
            legacy_row(1500, ipk=None, modified_date="2026-03-05 10:00:00.000"),
        ],
    )
    return db_url


def test_profile_of_a_one_day_slice(legacy: str) -> None:
    window = DateWindow(since=datetime(2026, 3, 5), until=datetime(2026, 3, 6))
    profile = profile_legacy(urls(legacy), SyncOptions(id_ranges=(IdRange(0, 999),), window=window))
    assert profile.row_count == 3  # ids 1, 2 and 4
    assert profile.bad_id_count == 1  # A0123: no range can hold it
    assert profile.null_counts["name"] == 1
    assert profile.null_rates["name"] == pytest.approx(100 / 3)
    assert profile.null_counts["modified_date"] == 1


def test_profile_of_a_whole_range_and_the_first_day_window(legacy: str) -> None:
    whole = profile_legacy(urls(legacy), SyncOptions(id_ranges=(IdRange(0, 1999),)))
    assert whole.row_count == 6 and whole.bad_id_count == 2
    assert whole.null_counts["ipk"] == 1 and whole.null_counts["kname"] == 6  # 'NULL' marker
    first_day = DateWindow(until=datetime(2026, 3, 5), include_undated=True)
    older = profile_legacy(
        urls(legacy), SyncOptions(id_ranges=(IdRange(0, 999),), window=first_day)
    )
    assert older.row_count == 1  # only the undated row 5
    assert older.bad_id_count == 1  # ' ' (February)


def test_id_bounds_ignore_bad_and_oversized_ids(legacy: str) -> None:
    assert legacy_id_bounds(urls(legacy)) == (1, 1500)


def test_id_bounds_of_an_empty_table(db_url: str) -> None:
    write_legacy(db_url, [legacy_row("A1"), legacy_row("000")])
    assert legacy_id_bounds(urls(db_url)) is None


def test_unreachable_database_is_a_masked_error() -> None:
    url = "postgresql+psycopg://sis:hunter2@127.0.0.1:1/sis"
    with pytest.raises(DatabaseUnavailable) as err:
        legacy_id_bounds(urls(url))
    assert "hunter2" not in str(err.value)
