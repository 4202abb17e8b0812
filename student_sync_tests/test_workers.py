"""Transform in worker processes: the same plan and the same end state as in one process.

Runs with ``workers=2`` use the pool even on small data; pages smaller than the data make
the planner prepare page k+1 (and hand it to the workers) before page k is written.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest

from student_sync import demo
from student_sync.engine import extract
from student_sync.engine.db import DatabaseUrls, make_engine, normalize_url
from student_sync.engine.options import SyncOptions
from student_sync.engine.run import sync
from student_sync.engine.workers import (
    AUTO_MIN_ROWS,
    InlineTransformer,
    PoolTransformer,
    auto_workers,
    open_transformer,
    prefetched,
)
from student_sync_tests.conftest import fresh_postgres_url
from student_sync_tests.helpers import content, init_db, legacy_row, run, write_legacy

TODAY = date(2026, 3, 10)
NOW = datetime.fromisoformat("2026-03-10T03:00:00+00:00")
SMALL_PAGES = {"batch_size": 40, "page_size": 100}


def test_automatic_workers_only_for_big_runs_on_several_cores() -> None:
    assert auto_workers(AUTO_MIN_ROWS - 1, cpus=8) == 0
    assert auto_workers(AUTO_MIN_ROWS, cpus=1) == 0
    assert auto_workers(AUTO_MIN_ROWS, cpus=2) == 1
    assert auto_workers(AUTO_MIN_ROWS, cpus=3) == 2
    assert auto_workers(10 * AUTO_MIN_ROWS, cpus=16) == 2


def test_pool_results_come_back_in_row_order() -> None:
    rows = [dict(r) for r in demo.generate_legacy_rows(1_200, 3, today=TODAY)]
    rows[5]["id"] = "not a number"
    sponsors = {"ABC": 1, "XYZ": 2}
    inline = InlineTransformer(sponsors, "v1").submit(rows)()
    with open_transformer(2, sponsors, "v1") as pool:
        assert isinstance(pool, PoolTransformer)
        first, second = pool.submit(rows[:700]), pool.submit(rows[700:])
        assert first() + second() == inline
    assert inline[5].reason == "INVALID_ID"


def test_pages_larger_than_a_chunk_go_out_in_capped_chunks_and_come_back_in_order(
    monkeypatch,
) -> None:
    from student_sync.engine import workers

    monkeypatch.setattr(workers, "_MAX_CHUNK", 100)  # the cap that bounds a worker's memory
    rows = [dict(r) for r in demo.generate_legacy_rows(1_050, 4, today=TODAY)]
    inline = InlineTransformer({"ABC": 1}, "v1").submit(rows)()
    with open_transformer(1, {"ABC": 1}, "v1") as pool:
        pending = pool.submit(rows)
        assert len(pending.args[0]) == 11  # 1,050 rows in chunks of at most 100
        assert pending() == inline


def test_prefetch_holds_at_most_depth_items_on_the_reading_side() -> None:
    """An item counts against the depth from the moment it is produced: with depth 1 the
    reader does not start page 3 while the consumer still holds page 1 and page 2 waits."""
    asked: list[int] = []
    third_asked = threading.Event()

    def produce() -> Iterator[int]:
        for n in range(1, 6):
            asked.append(n)
            if n == 3:
                third_asked.set()
            yield n

    with prefetched(produce, depth=1, name="test-prefetch") as items:
        assert next(items) == 1
        # Page 2 may be produced now; page 3 only once page 2 is taken.
        assert not third_asked.wait(timeout=0.5), asked
        assert next(items) == 2
        assert third_asked.wait(timeout=10)
        assert list(items) == [3, 4, 5]


@pytest.fixture
def twin_urls(db_url: str, tmp_path) -> Iterator[tuple[str, str]]:
    """Two empty databases of the same kind, both initialized."""
    if db_url.startswith("sqlite"):
        other = f"sqlite:///{tmp_path / 'other.sqlite'}"
        init_db(db_url), init_db(other)
        yield db_url, other
        return
    for other in fresh_postgres_url():
        init_db(db_url), init_db(other)
        yield db_url, other


def _load(url: str, rows: list[dict]) -> None:
    engine = make_engine(normalize_url(url))
    demo.write_legacy_table(engine, rows)
    engine.dispose()


def _edit(url: str) -> None:
    engine = make_engine(normalize_url(url))
    demo.apply_day_of_edits(engine, seed=5, edit_day=TODAY - timedelta(days=1), fraction=0.05)
    engine.dispose()


def test_workers_plan_and_write_what_one_process_does(twin_urls, tmp_path) -> None:
    """Initial load, a day of edits, a dry run and a forced rewrite, page by page."""
    pooled, single = twin_urls
    rows = list(demo.generate_legacy_rows(700, 11, today=TODAY))
    for url in twin_urls:
        _load(url, rows)

    def both(**options) -> None:
        a = run(pooled, tmp_path / "a", now=NOW, workers=2, **SMALL_PAGES, **options)
        b = run(single, tmp_path / "b", now=NOW, workers=0, **SMALL_PAGES, **options)
        assert a.counters.as_dict() == b.counters.as_dict()
        assert a.summary.status == "completed"

    both()
    assert content(pooled) == content(single)
    for url in twin_urls:
        _edit(url)
    both(dry_run=True)
    both()
    assert content(pooled) == content(single)
    both(force_update=True)
    assert content(pooled) == content(single)


def test_school_email_taken_on_an_earlier_page_is_still_refused(db_url: str, tmp_path) -> None:
    """Claims made on one page must bind later pages, in a real run and in a dry run."""
    init_db(db_url)
    write_legacy(
        db_url,
        [
            legacy_row(i, school_email="shared@school.example" if i in (3, 250) else None)
            for i in range(1, 301)
        ],
    )
    dry = run(db_url, tmp_path, now=NOW, workers=2, dry_run=True, **SMALL_PAGES)
    real = run(db_url, tmp_path, now=NOW, workers=2, **SMALL_PAGES)
    for result in (dry, real):
        assert result.counters.rejections == {"DUPLICATE_SCHOOL_EMAIL": 1}
        assert result.counters.classes["create"] == 299
    again = run(db_url, tmp_path, now=NOW, workers=0, **SMALL_PAGES)
    assert again.counters.rejections == {"DUPLICATE_SCHOOL_EMAIL": 1}


@pytest.fixture
def two_postgres() -> Iterator[tuple[str, str]]:
    for first in fresh_postgres_url():
        for second in fresh_postgres_url():
            init_db(first), init_db(second)
            yield first, second


@pytest.mark.postgres
def test_staged_bulk_writes_equal_row_by_row_statements(two_postgres, monkeypatch, tmp_path):
    """PostgreSQL batches of STAGE_MIN_ROWS or more rows are COPYed into staging tables and
    merged in one statement per table; smaller ones use pipelined statements. Both paths
    must write the same rows: creates, a day of edits (renames, contacts removed, sponsors
    ended and opened, deletions), then a forced rewrite."""
    from student_sync.engine import bulk

    staged, row_wise = two_postgres
    rows = list(demo.generate_legacy_rows(900, 13, today=TODAY))
    for url in two_postgres:
        _load(url, rows)

    def step(**options) -> None:
        counters = []
        for url, threshold in ((staged, 1), (row_wise, 10**9)):
            monkeypatch.setattr(bulk, "STAGE_MIN_ROWS", threshold)
            result = run(url, tmp_path, now=NOW, workers=0, batch_size=300, **options)
            counters.append(result.counters.as_dict())
        assert counters[0] == counters[1]
        assert content(staged) == content(row_wise)

    step()
    for url in two_postgres:
        _edit(url)
    step()
    step(force_update=True)


def test_bulk_uuids_are_distinct_version_4_values() -> None:
    import uuid

    from student_sync.engine.bulk import new_uuids

    texts = new_uuids(2_000, as_text=True)
    parsed = [uuid.UUID(t) for t in texts]
    assert len(set(parsed)) == 2_000
    assert all(u.version == 4 and u.variant == uuid.RFC_4122 for u in parsed)
    assert [str(u) for u in parsed] == texts  # canonical text, as PostgreSQL prints it
    assert all(isinstance(u, uuid.UUID) for u in new_uuids(3, as_text=False))


def test_a_batch_larger_than_a_page_is_cut_from_several_pages(twin_urls, tmp_path) -> None:
    """``--batch-size`` above the page size: every batch but the last holds batch-size rows
    (one transaction each), the pages read stay page-sized, and the end state is the one a
    single page gives."""
    paged, whole = twin_urls
    rows = [legacy_row(i) for i in range(1, 62)]
    for url in twin_urls:
        write_legacy(url, rows)
    options = SyncOptions(batch_size=25, page_size=10, workers=2, reports_dir=tmp_path / "r")
    engine = make_engine(normalize_url(paged))
    try:
        with engine.connect() as conn:
            source = extract.LegacySource.reflect(conn)
            pages = extract.iter_legacy_pages(conn, source, options)
            assert [len(page) for page in pages] == [10] * 6 + [1]
    finally:
        engine.dispose()
    progress: list[tuple[int, int]] = []
    result = sync(
        DatabaseUrls(normalize_url(paged), normalize_url(paged)),
        options,
        now=NOW,
        progress=lambda p: progress.append((p["batch"], p["processed"])),
    )
    assert progress == [(1, 25), (2, 50), (3, 61)]
    assert result.counters.classes["create"] == 61
    run(whole, tmp_path / "one", now=NOW, workers=0, batch_size=25, page_size=1000)
    assert content(paged) == content(whole)


def test_a_school_email_claimed_in_a_batch_not_yet_written_binds_the_next_page(
    db_url: str, tmp_path
) -> None:
    """A batch spanning two pages is written after both are planned: the second page must
    see the first page's claims although the database does not hold them yet."""
    init_db(db_url)
    write_legacy(
        db_url,
        [
            legacy_row(i, school_email="shared@school.example" if i in (3, 15) else None)
            for i in range(1, 31)
        ],
    )
    result = run(db_url, tmp_path, now=NOW, workers=2, batch_size=30, page_size=10)
    assert result.summary.status == "completed"
    assert result.counters.rejections == {"DUPLICATE_SCHOOL_EMAIL": 1}
    assert result.counters.classes["create"] == 29


def test_a_school_email_an_update_gives_up_is_free_for_a_later_page_in_a_dry_run(
    db_url: str, tmp_path
) -> None:
    """Student 3 moves to a new email and student 250, two pages later, takes the old one:
    the dry run must see the old email freed, as the real run does once student 3's batch is
    written (its counts equal the real run's). Forced, so that the unchanged rows between
    them are read too (in one page, the move is refused until the next run)."""
    init_db(db_url)
    rows = [legacy_row(i) for i in range(1, 301)]
    rows[2]["school_email"] = "old@school.example"
    write_legacy(db_url, rows)
    run(db_url, tmp_path, now=NOW, workers=0, **SMALL_PAGES)
    rows[2]["school_email"] = "new@school.example"
    rows[249]["school_email"] = "old@school.example"
    write_legacy(db_url, rows)
    forced = {"force_update": True, **SMALL_PAGES}
    dry = run(db_url, tmp_path, now=NOW, workers=2, dry_run=True, **forced)
    real = run(db_url, tmp_path, now=NOW, workers=2, **forced)
    for result in (dry, real):
        assert result.counters.rejections == {}
        assert result.counters.classes["update"] == 300
