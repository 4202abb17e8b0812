"""The batch writer (``engine.writer``): a run's writes, handed over while the next are built.

On PostgreSQL a thread of its own runs them; what a run depends on must hold as if they ran
in the caller's thread: order, one transaction per batch, commit only after the lock was
verified, the first failure rolling its batch back and reaching the caller, nothing written
after it, progress reported for committed batches only. And a whole run writes the same rows.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, select
from sqlalchemy.exc import IntegrityError

from student_sync.engine import run as run_module
from student_sync.engine import schema
from student_sync.engine.db import normalize_url
from student_sync.engine.errors import LockLost
from student_sync.engine.lock import RunLock
from student_sync.engine.writer import BatchWriter, batch_writer
from student_sync_tests.helpers import content, init_db, legacy_row, rows, run, write_legacy

_meta = MetaData()
notes = Table(
    "writer_notes", _meta, Column("id", Integer, primary_key=True), Column("text", String)
)


def _insert(conn: Any, note_id: int, text: str) -> None:
    conn.execute(notes.insert().values(id=note_id, text=text))


def _count(conn: Any) -> int:
    return len(conn.execute(select(notes.c.id)).all())


@pytest.fixture
def engine(db_url: str) -> Iterator[Any]:
    engine = create_engine(normalize_url(db_url))
    _meta.create_all(engine)
    yield engine
    engine.dispose()


def _stored(engine: Any) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(notes).order_by(notes.c.id))]


def test_writes_run_in_order_one_transaction_per_batch(engine) -> None:
    done: list[tuple[str, int]] = []
    caller = threading.get_ident()
    threads: set[int] = set()
    with batch_writer(engine, RunLock("test")) as writer:
        for batch in (1, 2):
            w = writer.begin()
            w.run(_insert, batch * 10 + 1, f"batch {batch}, first")
            # A read sees the batch's own writes before they are committed.
            assert w.call(_count) == 2 * batch - 1
            w.run(_insert, batch * 10 + 2, f"batch {batch}, second")
            writer.commit()
            writer.then(
                lambda b=batch: (done.append(("committed", b)), threads.add(threading.get_ident()))
            )
        writer.settle()
        assert done == [("committed", 1), ("committed", 2)]
        assert writer.batches_committed == 2
    assert threads == {caller}  # progress callbacks run in the run's own thread
    assert _stored(engine) == [
        (11, "batch 1, first"),
        (12, "batch 1, second"),
        (21, "batch 2, first"),
        (22, "batch 2, second"),
    ]


def test_a_failed_write_rolls_its_batch_back_and_reaches_the_caller(engine) -> None:
    done: list[int] = []
    ran_after: list[str] = []
    with pytest.raises(IntegrityError), batch_writer(engine, RunLock("test")) as writer:
        w = writer.begin()
        w.run(_insert, 1, "committed")
        writer.commit()
        writer.then(lambda: done.append(1))
        w = writer.begin()
        w.run(_insert, 2, "rolled back with its batch")
        w.run(_insert, 1, "duplicate key: fails")
        w.run(lambda conn: ran_after.append("ran"))  # after the failure: never runs
        writer.commit()
        writer.then(lambda: done.append(2))
        writer.settle()
    assert _stored(engine) == [(1, "committed")]
    assert ran_after == []
    assert done == [1]  # only the committed batch was reported


def test_a_caller_failing_mid_batch_leaves_the_open_batch_unwritten(engine) -> None:
    with pytest.raises(KeyboardInterrupt), batch_writer(engine, RunLock("test")) as writer:
        w = writer.begin()
        w.run(_insert, 1, "committed")
        writer.commit()
        w = writer.begin()
        w.run(_insert, 2, "half a batch")
        raise KeyboardInterrupt  # Ctrl-C while the batch's next rows were being built
    assert _stored(engine) == [(1, "committed")]


class _LostLock(RunLock):
    def verify(self) -> None:
        raise LockLost("lost the run lock on test")


def test_a_lost_lock_stops_the_commit(engine) -> None:
    with pytest.raises(LockLost), batch_writer(engine, _LostLock("test")) as writer:
        w = writer.begin()
        w.run(_insert, 1, "never committed")
        writer.commit()
        writer.settle()
    assert _stored(engine) == []


def test_ids_drawn_ahead_come_from_the_tables_sequence(pg_url) -> None:
    init_db(pg_url)
    engine = create_engine(normalize_url(pg_url))
    try:
        with batch_writer(engine, RunLock("test")) as writer:
            w = writer.begin()
            first = w.new_ids(schema.sponsor, 3)
            second = w.new_ids(schema.sponsor, 2)
            writer.commit()
    finally:
        engine.dispose()
    assert first is not None and second is not None
    assert len(set(first + second)) == 5 and sorted(first) == first and second[0] > first[-1]


@contextmanager
def _inline_writer(engine: Any, lock: RunLock) -> Iterator[BatchWriter]:
    writer = BatchWriter(engine, lock, threaded=False)
    try:
        yield writer
    except BaseException:
        writer.close(failed=True)
        raise
    writer.close(failed=False)


def _change_log(url: str) -> list[tuple[Any, ...]]:
    t = schema.change_log
    return [
        (r["student_id"], r["table_name"], r["action"], r["changes"])
        for r in sorted(rows(url, t), key=lambda r: r["id"])
    ]


def test_a_threaded_run_writes_what_an_inline_run_writes(monkeypatch, tmp_path) -> None:
    """1,200 students in batches of 600: every COPY path, written by the writer's thread
    (PostgreSQL) and, in a second database, in the run's own thread."""
    from student_sync_tests.conftest import fresh_postgres_url

    legacy = [legacy_row(n) for n in range(1, 1201)]
    results = []
    for threaded in (True, False):
        for url in fresh_postgres_url():
            init_db(url)
            write_legacy(url, legacy)
            if not threaded:
                monkeypatch.setattr(run_module, "batch_writer", _inline_writer)
            counters = run(url, tmp_path, batch_size=600).counters
            results.append((counters.as_dict(), content(url), _change_log(url)))
    assert results[0][0]["classes"]["create"] == 1200
    assert results[0] == results[1]
