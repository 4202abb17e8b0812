"""The keyset page walk (``engine/extract.py``): pages never skip or repeat a row.

Odd ids are the point: zero padding, spaces, NULL and empty ids, letters, ids longer than
any integer, two spellings of one key, and exact duplicate rows that tie in the order and
straddle page boundaries. Each case runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections import Counter

import pytest

from student_sync.engine.options import IdRange, SyncOptions
from student_sync.engine.transform import legacy_key
from student_sync_tests.engine.support import legacy_engine, legacy_row, pages

ODD_IDS = [
    "00001",
    "1",  # same key as 00001
    "  7",
    "007",  # same key as '  7'
    "9",
    "10",
    "00003 ",
    "A0123",
    "12-34",
    " ",
    "",
    None,
    "00000",  # key '' once the zeros go
    "0",
    "99999999999999999999",
    "2147483648",
    "٣",  # an Arabic-Indic digit: not an ASCII number
]
DUPLICATE = legacy_row("00005", "5")  # appears four times, identical


def odd_rows() -> list[dict]:
    rows = [legacy_row(sid, str(100 + n)) for n, sid in enumerate(ODD_IDS)]
    rows += [dict(DUPLICATE) for _ in range(4)]
    rows += [legacy_row(f"{n:05d}", str(n) if n % 5 else None) for n in range(11, 40, 3)]
    rows.append(legacy_row("00012", "12"))  # the same id twice with different ipks
    rows.append(legacy_row("00012", "912"))
    return rows


def identity(row: dict) -> tuple:
    return (row["id"], row["ipk"])


def order_key(row: dict) -> tuple:
    """The keyset order (length of key, key, id, ipk) computed back from the row (code point
    order is UTF-8 byte order, the order the database sorts in)."""
    key = legacy_key(row["id"])
    return (len(key), key, row["id"] or "", row["ipk"] or "")


@pytest.fixture
def odd_table(db_url):
    engine = legacy_engine(db_url, odd_rows())
    yield engine
    engine.dispose()


def test_every_row_exactly_once_whatever_the_page_size(odd_table) -> None:
    expected = Counter(identity(row) for row in odd_rows())
    whole = [row for page in pages(odd_table, SyncOptions(page_size=1000)) for row in page]
    assert Counter(identity(row) for row in whole) == expected
    keys = [order_key(row) for row in whole]
    assert keys == sorted(keys)  # one total order: (length of key, key, id, ipk)
    for size in (1, 2, 3, 4, 7):
        walked = pages(odd_table, SyncOptions(page_size=size, batch_size=1))
        assert all(len(page) <= size for page in walked)
        rows = [row for page in walked for row in page]
        assert [identity(row) for row in rows] == [identity(row) for row in whole], size


@pytest.mark.parametrize(
    ("ranges", "expected_keys"),
    [
        ((IdRange(1, 9),), {"1", "3", "5", "7", "9"}),
        ((IdRange(10, 12), IdRange(35, 38)), {"10", "11", "12", "35", "38"}),
        ((IdRange(2147483648, 2147483648),), {"2147483648"}),
        ((IdRange(40, 99),), set()),
    ],
)
def test_id_ranges_page_by_page(odd_table, ranges, expected_keys) -> None:
    walked = pages(odd_table, SyncOptions(id_ranges=ranges, page_size=2, batch_size=1))
    rows = [row for page in walked for row in page]
    assert {row["_key"] for row in rows} == expected_keys
    everything = [row for page in pages(odd_table, SyncOptions(page_size=1000)) for row in page]
    in_ranges = [row for row in everything if row["_key"] in expected_keys]
    assert [identity(row) for row in rows] == [identity(row) for row in in_ranges]


@pytest.mark.parametrize("limit", [1, 5, 6, 9, 60])
def test_limit_takes_the_first_rows_in_order(odd_table, limit) -> None:
    everything = [row for page in pages(odd_table, SyncOptions(page_size=1000)) for row in page]
    walked = pages(odd_table, SyncOptions(limit=limit, page_size=3, batch_size=1))
    rows = [row for page in walked for row in page]
    assert [identity(row) for row in rows] == [identity(row) for row in everything[:limit]]


def test_empty_table_yields_no_page(db_url) -> None:
    engine = legacy_engine(db_url, [])
    try:
        assert pages(engine, SyncOptions(page_size=2, batch_size=1)) == []
    finally:
        engine.dispose()
