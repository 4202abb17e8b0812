"""Phase split of one engine run, measured from outside by wrapping the engine's functions.

Only the harness process is patched (each scenario runs in its own subprocess). Time is
charged to the innermost active phase, so nested phases never double count: ``transform``
inside ``Planner.prepare``/``finish`` is counted as transform, the rest of them as ``plan``.
With worker processes, ``transform`` is this process's share: handing rows to the workers
and waiting for their results (their own work runs in parallel).
``other`` is the wall time no wrapped function accounts for (lock, ledger, report,
per-page connections). A target missing from the engine is listed in ``unmeasured``.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import sys
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from time import perf_counter
from typing import Any

# (phase, module, attribute): the attribute may be "Class.method".
PHASE_TARGETS: tuple[tuple[str, str, str], ...] = (
    ("setup", "student_sync.engine.initialize", "check_ready"),
    ("setup", "student_sync.engine.extract", "LegacySource.reflect"),
    ("prescan", "student_sync.engine.extract", "count_slice"),
    ("prescan", "student_sync.engine.extract", "duplicate_keys"),
    ("prescan", "student_sync.engine.extract", "ensure_keyset_index"),
    ("prescan", "student_sync.engine.run", "_find_vanished"),
    ("extract", "student_sync.engine.extract", "iter_legacy_pages"),
    ("plan", "student_sync.engine.plan", "Planner.prepare"),
    ("plan", "student_sync.engine.plan", "Planner.finish"),
    ("transform", "student_sync.engine.transform", "transform"),
    # With worker processes: handing rows to them and waiting for their results.
    ("transform", "student_sync.engine.workers", "PoolTransformer.submit"),
    ("transform", "student_sync.engine.workers", "collect"),
    ("apply", "student_sync.engine.apply", "apply_batch"),
    ("commit", "sqlalchemy.engine.base", "Connection._commit_impl"),
)
PHASE_ORDER: tuple[str, ...] = (
    "setup",
    "prescan",
    "extract",
    "transform",
    "plan",
    "apply",
    "commit",
    "other",
)


Undo = list[tuple[Any, str, Any]]  # (holder, attribute, original value), to restore in reverse


def rebind_aliases(original: Any, replacement: Any, undo: Undo) -> None:
    """Point every ``student_sync`` module attribute holding ``original`` at ``replacement``
    (``from x import f`` copies a function into the importing module)."""
    for module_name, module in list(sys.modules.items()):
        if module_name.startswith("student_sync") and module is not None:
            for attr, value in list(vars(module).items()):
                if value is original:
                    undo.append((module, attr, original))
                    setattr(module, attr, replacement)


class PhaseTimer:
    """Exclusive time per phase, per thread stack."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.overlapped: dict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self.unmeasured: list[str] = []
        self._local = threading.local()

    # ----------------------------------------------------------------- accounting
    def _state(self) -> tuple[list[str], list[float]]:
        local = self._local
        if not hasattr(local, "stack"):
            local.stack, local.mark = [], [0.0]
        return local.stack, local.mark

    def _charge(self, phase: str, seconds: float) -> None:
        self.seconds[phase] += seconds
        if threading.current_thread() is not threading.main_thread():
            self.overlapped[phase] += seconds  # ran beside the main thread

    def _enter(self, phase: str) -> None:
        stack, mark = self._state()
        now = perf_counter()
        if stack:
            self._charge(stack[-1], now - mark[0])
        stack.append(phase)
        mark[0] = now

    def _exit(self) -> None:
        stack, mark = self._state()
        now = perf_counter()
        self._charge(stack.pop(), now - mark[0])
        mark[0] = now

    # ----------------------------------------------------------------- wrappers
    def _wrap(self, fn: Any, phase: str) -> Any:
        if isinstance(fn, classmethod | staticmethod):
            return type(fn)(self._wrap(fn.__func__, phase))
        timer = self
        if inspect.isgeneratorfunction(fn):

            @functools.wraps(fn)
            def gen_wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
                timer.calls[phase] += 1
                timer._enter(phase)
                try:
                    gen = fn(*args, **kwargs)
                finally:
                    timer._exit()
                try:
                    while True:
                        timer._enter(phase)
                        try:
                            item = next(gen)
                        except StopIteration:
                            return
                        finally:
                            timer._exit()
                        yield item
                finally:
                    gen.close()

            return gen_wrapper

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            timer.calls[phase] += 1
            timer._enter(phase)
            try:
                return fn(*args, **kwargs)
            finally:
                timer._exit()

        return wrapper

    @contextmanager
    def installed(self) -> Iterator[PhaseTimer]:
        """Patch every target (and every module-level alias of it); restore on exit."""
        undo: Undo = []
        for phase, module_name, attr in PHASE_TARGETS:
            try:
                module = importlib.import_module(module_name)
                owner: Any = module
                *path, name = attr.split(".")
                for part in path:
                    owner = getattr(owner, part)
                original = inspect.getattr_static(owner, name)
            except (ImportError, AttributeError):
                self.unmeasured.append(f"{module_name}.{attr}")
                continue
            wrapped = self._wrap(original, phase)
            undo.append((owner, name, original))
            setattr(owner, name, wrapped)
            if not path:  # module-level function: also rebind `from x import f` aliases
                rebind_aliases(original, wrapped, undo)
        try:
            yield self
        finally:
            for holder, name, original in reversed(undo):
                setattr(holder, name, original)

    def split(self, total: float) -> dict[str, float]:
        """Seconds per phase in PHASE_ORDER, ``other`` = total minus the main thread's phases
        (time spent in other threads, e.g. the prefetching reader, overlaps the main one's)."""
        out = {p: round(self.seconds.get(p, 0.0), 4) for p in PHASE_ORDER if p != "other"}
        main = sum(self.seconds.values()) - sum(self.overlapped.values())
        out["other"] = round(max(total - main, 0.0), 4)
        return out
