"""Batches written by a thread of their own while the run builds the next writes.

A first load's batch spends much of its time waiting: PostgreSQL indexes the rows a COPY sent
long after the last of them left the run (measured on a 50,000-student first load: the run's
main thread blocked on the server 4.1 s of 10.6 s, mostly at the end of each COPY). So
``apply_batch`` only builds rows and hands each write, in order, to a ``BatchWriter``. On
PostgreSQL the writer's thread runs them in the batch's one transaction, verifies the run lock
and commits, while the main thread builds the next write; a thread waiting on the server
releases the GIL. Ids the rows need are drawn ahead from the tables' sequences on the main
thread's own connection (``bulk.draw_ids``). On SQLite every write runs at once, in the
caller's thread: the same steps, no thread.

Guarantees kept from writing in the caller's thread:
- writes run in the order they were handed over, one transaction per batch, committed only
  after the run lock was verified: a crash leaves whole batches or nothing;
- ``settle`` returns once every batch handed over is committed: the planner reads the
  database only after it (``Planner.finish`` trusts earlier batches to be committed);
- the first failure (a database error, a lost lock) rolls its batch back, every later write
  is dropped, and the failure is raised in the caller's thread at its next call;
- the callbacks handed to ``then`` run in the caller's thread, in order, once what was handed
  over before them is committed (progress reports count committed batches only).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, Engine, Table

from student_sync.engine.bulk import draw_ids, id_sequence, is_postgres
from student_sync.engine.lock import RunLock

T = TypeVar("T")

# Writes the main thread may build ahead of the writer. Each holds the rows of one table of
# one batch: a bound on the extra memory (a 20,000-student batch's people are ~25 MB).
WRITES_AHEAD = 3


class Writes(Protocol):
    """Where ``apply_batch`` sends a batch's writes (``Immediate`` or a ``BatchWriter``)."""

    postgres: bool

    def run(self, write: Callable[..., Any], *args: Any) -> None:
        """``write(conn, *args)`` in the batch's transaction, after the writes before it."""

    def call(self, read: Callable[..., T], *args: Any) -> T:
        """``read(conn, *args)`` in the batch's transaction, waited for: its result."""

    def new_ids(self, table: Table, count: int) -> list[int] | None:
        """``count`` ids for new rows of ``table`` (None: the table has no sequence)."""


class Immediate:
    """Writes run at once on the caller's connection, in its transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.postgres = is_postgres(conn)

    def run(self, write: Callable[..., Any], *args: Any) -> None:
        write(self.conn, *args)

    def call(self, read: Callable[..., T], *args: Any) -> T:
        return read(self.conn, *args)

    def new_ids(self, table: Table, count: int) -> list[int] | None:
        return draw_ids(self.conn, id_sequence(self.conn, table), count)


class BatchWriter:
    """Runs the writes of consecutive batches, one transaction each (see the module).

    ``threaded``: in a thread of its own (PostgreSQL); else at once, in the caller's thread.
    Use it through ``batch_writer``, which closes it however the run ends.
    """

    def __init__(self, engine: Engine, lock: RunLock, *, threaded: bool) -> None:
        self.engine, self.lock = engine, lock
        self.postgres = engine.dialect.name == "postgresql"
        self.batches_committed = 0
        self._conn: Connection | None = None  # the open batch's (the writer thread's own)
        self._failure: BaseException | None = None
        self._failure_raised = False
        self._ready: deque[Callable[[], None]] = deque()  # ``then`` callbacks now due
        self._sequences: dict[str, str | None] = {}
        self._ids: Connection | None = None  # the caller's, for ids drawn ahead
        self._queue: queue.Queue[tuple[str, Any]] | None = None
        self._thread: threading.Thread | None = None
        if threaded:
            self._queue = queue.Queue(maxsize=WRITES_AHEAD)
            self._thread = threading.Thread(
                target=self._work, name="student-sync-write", daemon=True
            )
            self._thread.start()

    # ------------------------------------------------------------------ the caller's side
    def begin(self) -> Writes:
        """Open the next batch: its writes follow until ``commit``."""
        self._hand("begin", None)
        return self

    def run(self, write: Callable[..., Any], *args: Any) -> None:
        self._hand("run", (write, args))

    def call(self, read: Callable[..., T], *args: Any) -> T:
        result: Future[T] = Future()
        self._hand("call", (read, args, result))
        try:
            return result.result()
        except BaseException:
            self._raise_failure()  # the writer's failure, if the read was dropped for it
            raise

    def new_ids(self, table: Table, count: int) -> list[int] | None:
        if self._queue is None:  # in the caller's thread: in the batch's transaction
            return Immediate(self._open_conn()).new_ids(table, count)
        if self._ids is None:
            self._ids = self.engine.connect()
        if table.name not in self._sequences:
            self._sequences[table.name] = id_sequence(self._ids, table)
        ids = draw_ids(self._ids, self._sequences[table.name], count)
        self._ids.commit()  # holds nothing open between draws
        return ids

    def commit(self) -> None:
        """Verify the run lock and commit the open batch."""
        self._hand("commit", None)

    def then(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` here once everything handed over before it is committed."""
        self._hand("then", callback)

    def settle(self) -> None:
        """Wait until every batch handed over is committed (raises the writer's failure)."""
        if self._queue is not None:
            self._queue.join()
        self._raise_failure()

    def close(self, *, failed: bool) -> None:
        """Write what was handed over and stop; a batch still open (no ``commit`` handed
        over: the caller failed while building it) is rolled back."""
        try:
            if self._queue is not None and self._thread is not None:
                self._queue.put(("stop", failed))
                self._thread.join()
            elif failed:
                self._rollback_quietly()
            if self._ids is not None:
                self._ids.close()
        finally:
            self._queue, self._thread = None, None
        if not failed:
            self._raise_failure()

    def _hand(self, kind: str, item: Any) -> None:
        self._raise_failure()
        if self._queue is None:
            self._handle(kind, item)
        else:
            self._queue.put((kind, item))
        self._raise_failure()

    def _raise_failure(self) -> None:
        while self._ready:
            self._ready.popleft()()
        if self._failure is not None and not self._failure_raised:
            self._failure_raised = True  # raised once; the writes after it stay dropped
            raise self._failure

    # ------------------------------------------------------------------ the writer's side
    def _work(self) -> None:
        assert self._queue is not None
        while True:
            kind, item = self._queue.get()
            try:
                if kind == "stop":
                    self._rollback_quietly()
                    return
                if self._failure is None:
                    self._handle(kind, item)
                elif kind == "call":
                    item[2].set_exception(_Dropped())
            except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread
                self._failure = exc
                if kind == "call" and not item[2].done():
                    item[2].set_exception(exc)
                self._rollback_quietly()
            finally:
                self._queue.task_done()

    def _handle(self, kind: str, item: Any) -> None:
        """One write (or step) of a batch, in the thread that runs them."""
        if kind == "begin":
            self._open(self.batches_committed + 1)
        elif kind == "run":
            self._execute(*item)
        elif kind == "call":
            read, args, result = item
            result.set_result(self._execute(read, args))
        elif kind == "commit":
            self._commit()
        elif kind == "then":
            self._ready.append(item)

    def _open(self, number: int) -> None:
        """Batch ``number`` begins (the ones before it are committed)."""
        self._rollback()
        self._conn = self.engine.connect()
        self._conn.begin()

    def _open_conn(self) -> Connection:
        if self._conn is None:
            raise RuntimeError("a batch's write came before its begin()")
        return self._conn

    def _execute(self, write: Callable[..., T], args: tuple[Any, ...]) -> T:
        """One write (or read) of the open batch: ``write(conn, *args)``."""
        return write(self._open_conn(), *args)

    def _commit(self) -> None:
        conn = self._open_conn()
        self.lock.verify()
        conn.commit()
        conn.close()
        self._conn = None
        self.batches_committed += 1

    def _rollback(self) -> None:
        """Roll the open batch back (a failure, or the run stopping halfway)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.rollback()
            finally:
                conn.close()

    def _rollback_quietly(self) -> None:
        """``_rollback`` when the batch already failed: its connection may be gone too."""
        with contextlib.suppress(Exception):
            self._rollback()
        self._conn = None


class _Dropped(Exception):
    """A read handed over after the writer failed (never seen: the failure is raised)."""


@contextmanager
def batch_writer(engine: Engine, lock: RunLock) -> Iterator[BatchWriter]:
    """A ``BatchWriter`` for a run's batches: threaded on PostgreSQL; closed on the way out,
    the open batch rolled back when the run fails or is interrupted."""
    writer = BatchWriter(engine, lock, threaded=engine.dialect.name == "postgresql")
    try:
        yield writer
    except BaseException:
        writer.close(failed=True)
        raise
    writer.close(failed=False)
