"""What runs beside the writer: ``transform`` in worker processes, the legacy read in a thread.

Transform is pure Python and the largest cost of a run that writes many rows. Rows are
independent, so a pool of worker processes can normalize page k+1 while this process plans
and writes page k (see ``run._plan``). Results come back in row order; a run's output is the
same whichever transformer it uses. Reading a legacy page is mostly waiting for the database,
so a thread fetches the next page meanwhile (``Prefetch``).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
import multiprocessing
import os
import queue
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from operator import itemgetter
from typing import Any, Generic, Protocol, TypeVar

from student_sync.engine.fit import fit_record
from student_sync.engine.model import Rejection, StudentRecord
from student_sync.engine.schema import LEGACY_COLUMNS
from student_sync.engine.sis import FitLimits
from student_sync.engine.transform import transform

Transformed = list[StudentRecord | Rejection]
Pending = Callable[[], Transformed]

# Below this many rows to normalize, a second process (its start, and every row pickled to it
# and back) is not worth it: a run of that size takes a few seconds in one process.
AUTO_MIN_ROWS = 20_000
MAX_AUTO_WORKERS = 2
_MIN_CHUNK = 500
# A worker holds its chunk of rows and their results (and both pickled) at once: capping
# the chunk keeps its memory flat whatever the batch size (a page of 20,000 rows used to go
# out as two chunks of 10,000: 36 MB more in the worker at 200,000 rows).
_MAX_CHUNK = 2_500


class Transformer(Protocol):
    def submit(
        self, rows: Sequence[Mapping[str, Any]], limits: FitLimits | None = None
    ) -> Pending: ...

    def close(self) -> None: ...


def auto_workers(rows_to_transform: int, cpus: int | None = None) -> int:
    """Worker processes when ``--workers`` is not given: none for small runs, a single
    core, or outside Linux (where children would have to be spawned, see PoolTransformer);
    else one per core beyond the first, at most two."""
    if sys.platform != "linux":
        return 0
    cpus = cpus if cpus is not None else len(os.sched_getaffinity(0))
    if cpus < 2 or rows_to_transform < AUTO_MIN_ROWS:
        return 0
    # One core stays with this process (planning, writing) and the database server; beyond
    # two workers this process is the bottleneck.
    return max(1, min(MAX_AUTO_WORKERS, cpus - 1))


def normalize(
    row: Mapping[str, Any],
    known_sponsors: frozenset[str],
    mapping_version: str,
    limits: FitLimits | None,
) -> StudentRecord | Rejection:
    """``transform``, then ``fit_record`` to ``limits`` (none: the record as transformed).

    Fitting here, beside the transform, keeps it off the run's own process: there it was
    15% of the writer's time on a first load (a new contact value object per student).
    """
    record = transform(row, known_sponsors=known_sponsors, mapping_version=mapping_version)
    if limits is None or not isinstance(record, StudentRecord):
        return record
    return fit_record(record, limits)


class InlineTransformer:
    """Transforms in the calling process (small runs, one core, tests)."""

    def __init__(self, known_sponsors: Mapping[str, int], mapping_version: str) -> None:
        self._known = frozenset(known_sponsors)
        self._version = mapping_version

    def submit(self, rows: Sequence[Mapping[str, Any]], limits: FitLimits | None = None) -> Pending:
        results = [normalize(r, self._known, self._version, limits) for r in rows]
        return lambda: results

    def close(self) -> None:
        pass


# ---- worker side: set once per process by the pool's initializer
_worker_known: frozenset[str] = frozenset()
_worker_version = ""


def _init_worker(known_sponsors: frozenset[str], mapping_version: str, parent: int) -> None:
    global _worker_known, _worker_version
    _worker_known, _worker_version = known_sponsors, mapping_version
    # Ctrl-C reaches the whole process group: the parent alone decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent)


def _die_with_parent(parent: int) -> None:
    """Ask Linux to SIGKILL this worker when the run's process dies, however it dies.

    A run killed with ``kill -9`` runs no cleanup; a worker left behind would keep its
    inherited descriptors open: the run's database sessions (and the run lock), and the
    stdout a supervisor is waiting on.
    """
    if sys.platform != "linux":
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _transform_chunk(values: list[tuple[Any, ...]], limits: FitLimits | None) -> Transformed:
    return [
        normalize(dict(zip(LEGACY_COLUMNS, v, strict=True)), _worker_known, _worker_version, limits)
        for v in values
    ]


_legacy_values = itemgetter(*LEGACY_COLUMNS)  # a row's values as the pool's tuples


class PoolTransformer:
    """Transforms in ``workers`` child processes; rows travel as plain tuples.

    On Linux the children are forked: they run nothing but ``transform`` (pure Python, no
    I/O), and ``spawn`` would re-run the caller's main module in every child, which a script
    without an ``if __name__ == "__main__"`` guard cannot survive. The objects alive at the
    fork (database connections among them) are frozen out of the children's garbage
    collector, so a child never finalizes, and thereby closes, a connection it inherited.
    Elsewhere ``spawn`` is used.
    """

    def __init__(
        self, workers: int, known_sponsors: Mapping[str, int], mapping_version: str
    ) -> None:
        self.workers = workers
        method = "fork" if sys.platform == "linux" else "spawn"
        self._pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context(method),
            initializer=_init_worker,
            initargs=(frozenset(known_sponsors), mapping_version, os.getpid()),
        )
        # Start the children now, while this process is small and holds no page of rows:
        # a forked child's RSS counts every page it shares with its parent.
        gc.freeze()  # objects alive now stay out of the children's collections
        try:
            self._pool.submit(int).result()
        finally:
            gc.unfreeze()

    def submit(self, rows: Sequence[Mapping[str, Any]], limits: FitLimits | None = None) -> Pending:
        try:  # one C call a row; a row lacking a column (None, as ``get`` gives) is rare
            values = list(map(_legacy_values, rows))
        except KeyError:
            values = [tuple(map(r.get, LEGACY_COLUMNS)) for r in rows]
        size = min(_MAX_CHUNK, max(_MIN_CHUNK, -(-len(values) // (2 * self.workers))))
        futures = [
            self._pool.submit(_transform_chunk, values[i : i + size], limits)
            for i in range(0, len(values), size)
        ]
        return functools.partial(collect, futures)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def collect(futures: Sequence[Future[Transformed]]) -> Transformed:
    """The results of one submitted page, in row order (waits for the workers)."""
    return [record for f in futures for record in f.result()]


@contextmanager
def open_transformer(
    workers: int, known_sponsors: Mapping[str, int], mapping_version: str
) -> Iterator[Transformer]:
    transformer: Transformer = (
        PoolTransformer(workers, known_sponsors, mapping_version)
        if workers > 0
        else InlineTransformer(known_sponsors, mapping_version)
    )
    try:
        yield transformer
    finally:
        transformer.close()


T = TypeVar("T")
_NOTHING: Any = object()  # end of the producer's items


class Prefetch(Generic[T]):
    """Iterates ``produce()`` in a background thread, up to ``depth`` items ahead.

    An item counts against ``depth`` from the moment the thread starts producing it until
    the consumer takes it, so at most ``depth`` items (pages of rows) exist on this side at
    once: a bounded queue alone would let one more wait, finished, for a place in it.
    The producer's exceptions are raised here, in the consumer, at the item they replaced.
    ``close`` stops the producer and waits for it, so whatever ``produce`` opened (a
    database connection) is closed by the time ``close`` returns.
    """

    _ITEM, _END, _ERROR = range(3)

    def __init__(self, produce: Callable[[], Iterator[T]], *, depth: int = 1, name: str) -> None:
        self._queue: queue.Queue[tuple[int, Any]] = queue.Queue(maxsize=depth)
        self._slots = threading.Semaphore(depth)  # released when the consumer takes an item
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._run, args=(produce,), name=name, daemon=True)
        self._thread.start()

    def _put(self, kind: int, value: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put((kind, value), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _slot(self) -> bool:
        """Wait until an item may be produced; False when the consumer closed us meanwhile."""
        while not self._stop.is_set():
            if self._slots.acquire(timeout=0.1):
                return True
        return False

    def _run(self, produce: Callable[[], Iterator[T]]) -> None:
        try:
            items = produce()
            try:
                while self._slot():
                    item = next(items, _NOTHING)
                    if item is _NOTHING:
                        break
                    if not self._put(self._ITEM, item):
                        return
                    del item  # the consumer owns it now
                else:
                    return
            finally:
                close = getattr(items, "close", None)
                if close is not None:
                    close()
            self._put(self._END, None)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, who raises it
            self._put(self._ERROR, exc)

    def __iter__(self) -> Prefetch[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        kind, value = self._queue.get()
        if kind == self._ITEM:
            self._slots.release()
            return value
        self._done = True
        self._thread.join()
        if kind == self._ERROR:
            raise value
        raise StopIteration

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=0.1)
        self._thread.join()


@contextmanager
def prefetched(
    produce: Callable[[], Iterator[T]], *, depth: int = 1, name: str
) -> Iterator[Prefetch[T]]:
    items = Prefetch(produce, depth=depth, name=name)
    try:
        yield items
    finally:
        items.close()
