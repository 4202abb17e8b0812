"""Where the time goes: pyinstrument hotspots, memo-cache statistics, domain-rule call counts."""

from __future__ import annotations

import functools
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from time import perf_counter
from typing import Any

from benchmarks.phases import Undo, rebind_aliases

# Self time is grouped into areas by the file it was spent in (first match wins).
AREAS: tuple[tuple[str, str], ...] = (
    ("/psycopg/", "psycopg (driver + waiting on PostgreSQL)"),
    ("/psycopg_binary/", "psycopg (driver + waiting on PostgreSQL)"),
    ("/sqlalchemy/", "SQLAlchemy (statement build, compile, params, rows)"),
    ("student_sync/domain/", "student_sync.domain (rules)"),
    ("student_sync/engine/transform", "student_sync.engine.transform"),
    ("student_sync/engine/", "student_sync.engine (other modules)"),
    ("/json/", "stdlib json (fingerprint payload)"),
    ("hashlib", "hashlib"),
    ("/re/", "stdlib re"),
    ("/uuid", "uuid"),
    ("/pyinstrument/", "profiler"),
)


def _area(path: str | None) -> str:
    path = (path or "").replace("\\", "/")
    for needle, name in AREAS:
        if needle in path:
            return name
    return "other (stdlib, builtins, harness)"


def hotspots(session: Any, top: int = 20) -> dict[str, Any]:
    """Flat self time per function, inclusive time per engine function, self time per area."""
    root = session.root_frame()
    total = root.time if root is not None else 0.0
    self_time: dict[tuple[str, str, int], float] = defaultdict(float)
    inclusive: dict[tuple[str, str, int], float] = defaultdict(float)
    areas: dict[str, float] = defaultdict(float)
    stack: list[tuple[Any, frozenset]] = [(root, frozenset())] if root is not None else []
    while stack:
        frame, ancestors = stack.pop()
        if frame.is_synthetic:
            continue
        key = (frame.function, frame.file_path_short or frame.file_path or "?", frame.line_no or 0)
        own = frame.total_self_time
        self_time[key] += own
        areas[_area(frame.file_path)] += own
        if key not in ancestors:  # recursion counted once
            inclusive[key] += frame.time
        below = ancestors | {key}
        stack.extend((child, below) for child in frame.children)

    def rows(data: dict[tuple[str, str, int], float], keep: Callable[[str], bool]) -> list:
        ranked = sorted(((v, k) for k, v in data.items() if keep(k[1])), reverse=True)[:top]
        return [
            {
                "function": f,
                "where": f"{p}:{line}",
                "seconds": round(v, 4),
                "share": round(v / total, 4) if total else 0.0,
            }
            for v, (f, p, line) in ranked
        ]

    def engine_code(path: str) -> bool:
        return "student_sync" in path and "benchmarks" not in path

    return {
        "total_seconds": round(total, 4),
        "self": rows(self_time, lambda p: True),
        "engine_inclusive": rows(inclusive, engine_code),
        "areas": sorted(
            (
                {"area": a, "seconds": round(v, 4), "share": round(v / total, 4) if total else 0.0}
                for a, v in areas.items()
            ),
            key=lambda r: -r["seconds"],
        ),
    }


def cache_stats() -> list[dict[str, Any]]:
    """``cache_info()`` of every lru_cache found at module level in student_sync (used ones)."""
    out: list[dict[str, Any]] = []
    seen: set[int] = set()
    for name, module in sorted(sys.modules.items()):
        if not name.startswith("student_sync") or module is None:
            continue
        for attr, value in sorted(vars(module).items()):
            if not isinstance(value, functools._lru_cache_wrapper) or id(value) in seen:
                continue
            seen.add(id(value))
            ci = value.cache_info()
            calls = ci.hits + ci.misses
            if calls:
                out.append(
                    {
                        "cache": f"{name}.{attr}",
                        "calls": calls,
                        "hits": ci.hits,
                        "hit_rate": round(ci.hits / calls, 4),
                        "size": ci.currsize,
                        "maxsize": ci.maxsize,
                    }
                )
    return out


class DomainCalls:
    """Per domain rule: calls, distinct argument tuples, inclusive seconds."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = defaultdict(int)
        self.distinct: dict[str, set] = defaultdict(set)
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def counted(*args: Any, **kwargs: Any) -> Any:
            key = (args, tuple(sorted(kwargs.items())))
            try:
                self.distinct[name].add(key)
            except TypeError:
                self.distinct[name].add(repr(key))
            self.calls[name] += 1
            t0 = perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] += perf_counter() - t0

        return counted

    def summary(self) -> list[dict[str, Any]]:
        out = []
        for name, calls in self.calls.items():
            distinct = len(self.distinct[name])
            seconds = self.seconds[name]
            out.append(
                {
                    "function": name,
                    "calls": calls,
                    "distinct_args": distinct,
                    "repeat_share": round(1 - distinct / calls, 4) if calls else 0.0,
                    "seconds_inclusive": round(seconds, 4),
                    "us_per_call": round(seconds / calls * 1e6, 2) if calls else 0.0,
                    "cache_would_save_s": round(seconds * (1 - distinct / calls), 4)
                    if calls
                    else 0,
                }
            )
        return sorted(out, key=lambda r: -r["cache_would_save_s"])


@contextmanager
def count_domain_calls() -> Iterator[DomainCalls]:
    """Wrap every public ``student_sync.domain`` function wherever a module refers to it.

    Functions the engine already memoizes (an lru_cache holding the original) show up only
    through :func:`cache_stats`; nested rule calls are counted inclusively.
    """
    import student_sync.domain as domain

    counter = DomainCalls()
    undo: Undo = []
    for name in getattr(domain, "__all__", ()):
        original = getattr(domain, name, None)
        if not callable(original) or isinstance(original, type):
            continue
        rebind_aliases(original, counter.wrap(name, original), undo)
    try:
        yield counter
    finally:
        for module, attr, original in reversed(undo):
            setattr(module, attr, original)
