"""A profile of one legacy slice: how many rows, how many unusable ids, how empty the key columns.

The Dagster ``legacy_students`` asset shows these numbers before anything is planned, so a
half-loaded export or a column that went blank shows up on the asset page, not in the SIS.
Built from ``LegacySource`` expressions (SQLAlchemy Core); like the extract, it never casts an id.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Connection, case, func, literal, not_, or_, select

from student_sync.engine.db import DatabaseUrls, connected_engine
from student_sync.engine.extract import LegacySource, max_student_id, min_student_id, row_in_window
from student_sync.engine.options import SyncOptions

# Columns whose emptiness changes what the sync can do (identity, names, dates, contact).
KEY_COLUMNS: tuple[str, ...] = (
    "name",
    "kname",
    "ipk",
    "birth_date",
    "gender",
    "modified_date",
    "emg_contact_person",
    "school_email",
)


@dataclass(frozen=True)
class SliceProfile:
    """Counts over one slice; null means SQL NULL or a legacy null marker ('', 'NULL', 'N/A'...)."""

    row_count: int
    bad_id_count: int
    null_counts: dict[str, int] = field(default_factory=dict)

    @property
    def null_rates(self) -> dict[str, float]:
        """Percent (0-100) of the slice's rows with each key column empty."""
        if not self.row_count:
            return {name: 0.0 for name in self.null_counts}
        return {name: 100.0 * n / self.row_count for name, n in self.null_counts.items()}


def _flag(condition: ColumnElement) -> ColumnElement:
    return case((condition, literal(1)), else_=literal(0))


def _bad_id(source: LegacySource) -> ColumnElement:
    raw = func.trim(source.text_of("id"))
    return or_(source.text_of("id").is_(None), not_(source.digits_only(raw)))


def profile_slice(conn: Connection, source: LegacySource, options: SyncOptions) -> SliceProfile:
    """Profile the rows ``options`` selects (ID ranges and date window; ``limit`` is ignored).

    ``bad_id_count`` counts rows in the date window whose id is missing or not numeric. Such
    rows belong to no ID range, so a range-scoped run never sees them; only a whole-table run
    rejects them (``INVALID_ID``), which is why the profile reports them on every slice.
    """
    columns = [c for c in KEY_COLUMNS if c in source.table.c]
    flags = [_flag(source.clean(c).is_(None)).label(c) for c in columns]
    window = options.window
    in_slice = source.where(options)
    bad_in_window = _bad_id(source) & source.in_window(window)
    if window.is_open:
        agg = select(func.count(), *(func.coalesce(func.sum(f), 0) for f in flags))
        row = conn.execute(agg.select_from(source.table).where(in_slice)).one()
        bad = conn.execute(
            select(func.count()).select_from(source.table).where(bad_in_window)
        ).scalar_one()
        return SliceProfile(
            row_count=int(row[0]),
            bad_id_count=int(bad),
            null_counts={c: int(v) for c, v in zip(columns, row[1:], strict=True)},
        )
    # A date window: SQL narrows the rows, then the exact test (non-ISO texts) runs in Python,
    # as in the extract. Slices are bounded by their ID ranges, so this stream stays small.
    effective = source.effective_date().label("_effective")
    counts = dict.fromkeys(columns, 0)
    total = 0
    for row in conn.execute(select(effective, *flags).where(in_slice)).mappings():
        if row_in_window(row["_effective"], window):
            total += 1
            for c in columns:
                counts[c] += row[c]
    bad = sum(
        1
        for (eff,) in conn.execute(select(effective).where(bad_in_window))
        if row_in_window(eff, window)
    )
    return SliceProfile(row_count=total, bad_id_count=bad, null_counts=counts)


@contextmanager
def _legacy_connection(urls: DatabaseUrls) -> Iterator[Connection]:
    """A read connection to the legacy database; connection errors come out masked."""
    engine = connected_engine(urls.legacy)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def profile_legacy(urls: DatabaseUrls, options: SyncOptions) -> SliceProfile:
    """``profile_slice`` on the legacy database the URLs name (what the Dagster asset calls)."""
    with _legacy_connection(urls) as conn:
        return profile_slice(conn, LegacySource.reflect(conn), options)


def legacy_id_bounds(urls: DatabaseUrls) -> tuple[int, int] | None:
    """(smallest, largest) usable numeric id, or None when no row has one; never casts."""
    with _legacy_connection(urls) as conn:
        source = LegacySource.reflect(conn)
        low, high = min_student_id(conn, source), max_student_id(conn, source)
    return None if low is None or high is None else (low, high)
