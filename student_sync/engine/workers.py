"""Where ``transform`` runs: in this process, or in worker processes beside it.

Transform is pure Python and the largest cost of a run that writes many rows. Rows are
independent, so a pool of worker processes can normalize page k+1 while this process plans
and writes page k (see ``run._plan``). Results come back in row order; a run's output is the
same whichever transformer it uses.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, Protocol

from student_sync.engine.model import Rejection, StudentRecord
from student_sync.engine.schema import LEGACY_COLUMNS
from student_sync.engine.transform import transform

Transformed = list[StudentRecord | Rejection]
Pending = Callable[[], Transformed]

# Below this many rows to normalize, starting worker processes (~0.3 s of imports each) costs
# more than it saves.
AUTO_MIN_ROWS = 20_000
MAX_AUTO_WORKERS = 2
_MIN_CHUNK = 500


class Transformer(Protocol):
    workers: int

    def submit(self, rows: Sequence[Mapping[str, Any]]) -> Pending: ...

    def close(self) -> None: ...


def auto_workers(rows_to_transform: int, cpus: int | None = None) -> int:
    """Worker processes when ``--workers`` is not given: none for small runs, a single
    core, or outside Linux (where children would have to be spawned, see PoolTransformer)."""
    if sys.platform != "linux":
        return 0
    cpus = cpus if cpus is not None else len(os.sched_getaffinity(0))
    if cpus < 2 or rows_to_transform < AUTO_MIN_ROWS:
        return 0
    return min(MAX_AUTO_WORKERS, cpus)


class InlineTransformer:
    """Transforms in the calling process (small runs, one core, tests)."""

    workers = 0

    def __init__(self, known_sponsors: Mapping[str, int], mapping_version: str) -> None:
        self._known = frozenset(known_sponsors)
        self._version = mapping_version

    def submit(self, rows: Sequence[Mapping[str, Any]]) -> Pending:
        results = [
            transform(r, known_sponsors=self._known, mapping_version=self._version) for r in rows
        ]
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


def _transform_chunk(values: list[tuple[Any, ...]]) -> Transformed:
    return [
        transform(
            dict(zip(LEGACY_COLUMNS, v, strict=True)),
            known_sponsors=_worker_known,
            mapping_version=_worker_version,
        )
        for v in values
    ]


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
        self._started = False

    def submit(self, rows: Sequence[Mapping[str, Any]]) -> Pending:
        values = [tuple(r.get(c) for c in LEGACY_COLUMNS) for r in rows]
        size = max(_MIN_CHUNK, -(-len(values) // (2 * self.workers)))
        futures = [self._submit(values[i : i + size]) for i in range(0, len(values), size)]
        return functools.partial(collect, futures)

    def _submit(self, chunk: list[tuple[Any, ...]]) -> Future[Transformed]:
        if self._started:
            return self._pool.submit(_transform_chunk, chunk)
        gc.freeze()  # the first submit starts the children
        try:
            return self._pool.submit(_transform_chunk, chunk)
        finally:
            gc.unfreeze()
            self._started = True

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
