"""Read the legacy slice: filters pushed into SQL, keyset pages, a raw digest per row.

No statement here ever casts an id to a number: ids are compared as digit strings
(length, then text) so one bad id can never abort a run, and keyset pages keep their
place even when the table is reloaded between pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from itertools import takewhile
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Date,
    DateTime,
    Engine,
    Index,
    Select,
    Table,
    Text,
    and_,
    case,
    cast,
    func,
    inspect,
    literal,
    null,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.exc import DBAPIError

from student_sync import domain
from student_sync.engine import schema
from student_sync.engine.db import index_names, reflect_table
from student_sync.engine.errors import ConfigurationError, LegacyTableMissing
from student_sync.engine.options import MAX_STUDENT_ID, DateWindow, IdRange, SyncOptions

KEYSET_INDEX_NAME = "ix_legacy_students_sync_key2"  # v2: NULL-safe order expressions
# The domain's null markers as SQL compares them (upper-cased, against UPPER(TRIM(value))).
_SQL_NULL_MARKERS = tuple(sorted(marker.upper() for marker in domain.NULL_MARKERS))
_NULL_SENTINEL = "\u2400"  # stands for SQL NULL inside the digest input


@dataclass(frozen=True)
class SkipUnchanged:
    """Leave rows the sync state already matches inside the database (counted, not moved)."""

    mapping_version: str
    exclude_keys: frozenset[str] = frozenset()


def inline(value: str) -> ColumnElement:
    """A constant written into the statement's text, not sent as a parameter.

    The keyset index is on expressions such as ``ltrim(trim(id), '0')``; SQLite matches a
    query's expression to an index only when they are the same text, so a parameter in place
    of the ``'0'`` leaves the index unused (the vanished-students check then scans the whole
    legacy table once per student: 40 s for 10,000 students).
    """
    return literal(value, literal_execute=True)


def byte_order(expr: ColumnElement, dialect: str) -> ColumnElement:
    """Byte-order comparison on PostgreSQL, so ordering never depends on the locale."""
    return expr.collate("C") if dialect == "postgresql" else expr


def digits_only(expr: ColumnElement, dialect: str) -> ColumnElement:
    if dialect == "postgresql":
        return expr.op("~")("^[0-9]+$")
    return and_(expr != "", expr.op("NOT GLOB")("*[^0-9]*"))


def ids_in_ranges(
    raw_id: ColumnElement, ranges: tuple[IdRange, ...], dialect: str
) -> ColumnElement:
    """Raw text ids that are numeric and inside any of the inclusive ranges, never cast.

    Ids compare as digit strings (length, then text) once spaces and leading zeros are off,
    the key ``transform.legacy_key`` computes; a non-numeric id is simply outside.
    """
    if not ranges:
        return true()
    key = func.ltrim(func.trim(raw_id), inline("0"))
    length = func.length(key)
    clauses = []
    for r in ranges:
        lo, hi = str(r.start).lstrip("0"), str(r.end).lstrip("0")
        clauses.append(
            and_(
                or_(length > len(lo), and_(length == len(lo), byte_order(key, dialect) >= lo)),
                or_(length < len(hi), and_(length == len(hi), byte_order(key, dialect) <= hi)),
            )
        )
    return and_(digits_only(func.trim(raw_id), dialect), or_(*clauses))


@dataclass
class LegacySource:
    """The reflected legacy table and the expressions every query is built from."""

    table: Table
    dialect: str

    @classmethod
    def reflect(cls, conn: Connection, table_name: str = schema.LEGACY_TABLE_NAME) -> LegacySource:
        if not inspect(conn).has_table(table_name):
            raise LegacyTableMissing(table_name)
        table = reflect_table(conn, table_name)
        missing = [c for c in schema.LEGACY_REQUIRED_COLUMNS if c not in table.c]
        if missing:
            raise ConfigurationError(
                f"legacy table {table_name!r} lacks required column(s): {', '.join(missing)}"
            )
        return cls(table=table, dialect=conn.dialect.name)

    # ---------------------------------------------------------------- expressions
    def text_of(self, name: str) -> ColumnElement:
        """A legacy column as text (absent columns read as NULL)."""
        if name not in self.table.c:
            return null()
        column = self.table.c[name]
        return column if isinstance(column.type, Text | type(None)) else cast(column, Text)

    @property
    def key_expr(self) -> ColumnElement:
        """Must agree with ``transform.legacy_key``."""
        return func.ltrim(func.trim(self.text_of("id")), inline("0"))

    def _c(self, expr: ColumnElement) -> ColumnElement:
        return byte_order(expr, self.dialect)

    @property
    def order_columns(self) -> tuple[ColumnElement, ...]:
        # Never NULL: a row comparison with NULL is NULL, so a page ending on a NULL id would
        # end the keyset walk and silently drop every later row.
        key = func.coalesce(self.key_expr, inline(""))
        return (
            func.length(key),
            self._c(key),
            self._c(func.coalesce(self.text_of("id"), inline(""))),
            self._c(func.coalesce(self.text_of("ipk"), inline(""))),
        )

    def keyset_index(self) -> Index:
        """An expression index on the keyset order: each page becomes an index range scan.

        Without it every page re-sorts the table; with it a page costs only its own rows.
        """
        return Index(KEYSET_INDEX_NAME, *self.order_columns)

    def has_keyset_index(self, conn: Connection) -> bool:
        return KEYSET_INDEX_NAME in index_names(conn, self.table.name)

    def digits_only(self, expr: ColumnElement) -> ColumnElement:
        return digits_only(expr, self.dialect)

    def in_ranges(self, ranges: tuple[IdRange, ...]) -> ColumnElement:
        """Numeric ids inside any of the inclusive ranges, compared without casting."""
        return ids_in_ranges(self.text_of("id"), ranges, self.dialect)

    def clean(self, name: str) -> ColumnElement:
        """A text column with the legacy null markers read as NULL."""
        value = func.trim(self.text_of(name))
        return case(
            (func.upper(value).in_(_SQL_NULL_MARKERS), null()),
            (value.like(domain.ZERO_DATE + "%"), null()),
            else_=value,
        )

    def _typed_dates(self) -> bool:
        columns = [self.table.c[n] for n in ("modified_date", "created_date") if n in self.table.c]
        return bool(columns) and all(isinstance(c.type, Date | DateTime) for c in columns)

    def effective_date(self) -> ColumnElement:
        if self._typed_dates():
            cols = [self.table.c[n] for n in ("modified_date", "created_date") if n in self.table.c]
            return func.coalesce(*cols)
        return func.coalesce(self.clean("modified_date"), self.clean("created_date"))

    def in_window(self, window: DateWindow) -> ColumnElement:
        """Coarse SQL filter; ``row_in_window`` settles the rows SQL cannot judge."""
        if window.is_open:
            return true()
        eff = self.effective_date()
        if self._typed_dates():
            parts = []
            if window.since is not None:
                parts.append(eff >= window.since)
            if window.until is not None:
                parts.append(eff < window.until)
            dated = and_(eff.is_not(None), *parts)
        else:
            iso = eff.like("____-__-__%")
            parts = []
            if window.since is not None:
                parts.append(self._c(eff) >= window.since.date().isoformat())
            if window.until is not None:
                parts.append(self._c(eff) < window.until.date().isoformat())
            # Non-ISO texts come through and are parsed in Python.
            dated = and_(eff.is_not(None), or_(and_(iso, *parts), ~iso))
        return or_(dated, eff.is_(None)) if window.include_undated else dated

    def digest_expr(self) -> ColumnElement:
        """md5 of the raw legacy values, computed inside the database."""
        parts = [func.coalesce(self.text_of(c), _NULL_SENTINEL) for c in schema.LEGACY_COLUMNS]
        joined = reduce(lambda a, b: a.op("||")(literal("\x1f")).op("||")(b), parts)
        return func.md5(joined)

    def where(self, options: SyncOptions) -> ColumnElement:
        return and_(self.in_ranges(options.id_ranges), self.in_window(options.window))

    def unchanged_clause(self, skip: SkipUnchanged) -> ColumnElement:
        """Rows whose raw digest and mapping version match the stored sync state.

        Only usable when the sync state lives in the legacy table's database.
        """
        state = schema.sync_state
        clause = and_(
            state.c.person_id.is_not(None),
            state.c.mapping_version == skip.mapping_version,
            # Never NULL: NOT (NULL) would drop the row from the pages *and* from this count
            # (a student soft-deleted as vanished has no digest and must come back).
            state.c.raw_digest.is_not(None),
            state.c.raw_digest == self.digest_expr(),
        )
        if skip.exclude_keys:
            clause = and_(clause, self.key_expr.not_in(sorted(skip.exclude_keys)))
        return clause

    def _joined(self, skip: SkipUnchanged) -> Any:
        state = schema.sync_state
        return self.table.outerjoin(state, state.c.legacy_key == self.key_expr)

    def page_query(
        self,
        options: SyncOptions,
        after: tuple | None,
        page_size: int,
        skip: SkipUnchanged | None = None,
        offset: int = 0,
    ) -> Select:
        """One keyset page: rows at or after ``after`` in the order, ``offset`` of the rows
        equal to it already read. ``iter_legacy_pages`` reads the columns by position."""
        columns = [self.text_of(c).label(c) for c in schema.LEGACY_COLUMNS]
        order = self.order_columns
        stmt = select(
            *columns,
            self.key_expr.label("_key"),
            self.digest_expr().label("_digest"),
            self.effective_date().label("_effective"),
            *(o.label(f"_k{i}") for i, o in enumerate(order)),
        ).where(self.where(options))
        if skip is not None:
            stmt = stmt.select_from(self._joined(skip)).where(~self.unchanged_clause(skip))
        if after is not None:
            # offset 0: strictly after (the last row read may since have been applied and
            # dropped by ``skip``, so an OFFSET would pass over an unread row instead).
            past = tuple_(*order) >= tuple_(*after) if offset else tuple_(*order) > tuple_(*after)
            stmt = stmt.where(past)
        stmt = stmt.order_by(*order).limit(page_size)
        return stmt.offset(offset) if offset else stmt


def ensure_keyset_index(engine: Engine, source: LegacySource) -> bool:
    """Create the keyset index on the legacy table if it is missing; False if not allowed.

    The legacy table is a staging copy; an index on it changes no data. A read-only legacy
    database simply keeps the slower, still correct, path.
    """
    try:
        with engine.begin() as conn:
            if not source.has_keyset_index(conn):
                source.keyset_index().create(conn)
    except DBAPIError:
        return False
    return True


def _as_datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if hasattr(value, "year") and hasattr(value, "month"):
        return datetime(value.year, value.month, value.day)
    return domain.parse_timestamp(value)


def row_in_window(effective: Any, window: DateWindow) -> bool:
    """The exact window test on a row's effective date (school local, naive)."""
    if window.is_open:
        return True
    moment = _as_datetime(effective)
    if moment is None:
        return window.include_undated and effective is None
    if window.since is not None and moment < window.since:
        return False
    return not (window.until is not None and moment >= window.until)


# Where ``page_query``'s columns are in a row read by position (no mapping per row: the
# read thread's dicts were 17% of its time): the legacy columns, then these.
_PAGE_KEYS = (*schema.LEGACY_COLUMNS, "_key", "_digest")
_KEY_AT = len(schema.LEGACY_COLUMNS)
_EFFECTIVE_AT = _KEY_AT + 2
_ORDER_AT = _KEY_AT + 3  # the keyset columns ``_k0``, ``_k1``, ...


def iter_legacy_pages(
    conn: Connection,
    source: LegacySource,
    options: SyncOptions,
    skip: SkipUnchanged | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Pages of legacy rows in student-id order; ``--limit`` counts rows after every filter."""
    page_size = options.page_size  # a larger batch is cut from several pages (``Planner``)
    remaining = options.limit
    if walks_whole_table(conn, options) and source.has_keyset_index(conn):
        # Only where the index is (not on a dry run's first walk, nor on a legacy database
        # the sync may not index): without it the sort cannot be avoided, and a disabled
        # sort's cost (10^10) put every page statement over PostgreSQL's JIT threshold, so
        # each page was compiled (~0.1 s a statement).
        conn.execute(select(func.set_config("enable_sort", "off", True)))
    after: tuple | None = None
    seen_at_after = 0  # rows equal to ``after`` already read: exact duplicates tie in the order
    n_order = len(source.order_columns)
    while True:
        query = source.page_query(options, after, page_size, skip, offset=seen_at_after)
        rows = conn.execute(query).all()  # tuples, columns at ``page_query``'s positions
        if not rows:
            return
        last = tuple(rows[-1][_ORDER_AT : _ORDER_AT + n_order])
        if last == after:
            seen_at_after += len(rows)
        else:
            after = last
            seen_at_after = _count_tail_equal(rows, last, n_order)
            if skip is not None and _skippable(rows[-1][_KEY_AT], skip):
                # Applying this page may make that row "unchanged" and drop it from the next
                # query; it has no twin (a twin's key is a duplicate, never skipped), so resume
                # strictly after it.
                seen_at_after = 0
        full = len(rows) == page_size
        page = _page_rows(rows, options.window)
        del rows  # the driver's rows and the page share their values; keep only the page
        if remaining is not None:
            page = page[:remaining]
            remaining -= len(page)
        if page:
            yield page
        if not full or remaining == 0:
            return


def walks_whole_table(conn: Connection, options: SyncOptions) -> bool:
    """Whether the pages walk the whole legacy table in key order (PostgreSQL, no id range,
    no date window): then the keyset index is the plan, whatever the table's size.

    Left to itself, PostgreSQL reads a small table's page by sorting every row still ahead
    of it (a page being a large share of the table): at 50,000 rows each page of a first
    load cost ~0.7 s of two server processes against ~0.12 s through the index. It already
    walks the index on a large table, and on any rerun, where its filter keeps few rows.
    The setting is local to the read's transaction (``set_config(..., true)``); it is set
    only where the keyset index exists (``iter_legacy_pages``).
    """
    return conn.dialect.name == "postgresql" and options.window.is_open and not options.id_ranges


def _page_rows(rows: list[Any], window: DateWindow) -> list[dict[str, Any]]:
    """The page as the planner takes it: the legacy columns, ``_key`` and ``_digest``.

    The keyset columns and the effective date have served once the page is cut; leaving
    them out keeps every page held in flight (read ahead, normalizing, being written) smaller.
    """
    # The first columns of every row, in this order (``page_query``); the rest are left out.
    names = _PAGE_KEYS
    if window.is_open:
        return [dict(zip(names, r, strict=False)) for r in rows]
    return [
        dict(zip(names, r, strict=False)) for r in rows if row_in_window(r[_EFFECTIVE_AT], window)
    ]


def _skippable(key: str | None, skip: SkipUnchanged) -> bool:
    """Could ``skip`` drop a row with this key once its batch is applied?"""
    return bool(key) and key.isascii() and key.isdigit() and key not in skip.exclude_keys


def _count_tail_equal(rows: list[Any], last: tuple, n_order: int) -> int:
    """How many rows at the end of a page share the last row's place in the order."""
    end = _ORDER_AT + n_order
    return sum(1 for _ in takewhile(lambda r: tuple(r[_ORDER_AT:end]) == last, reversed(rows)))


def count_slice(conn: Connection, source: LegacySource, options: SyncOptions) -> int:
    """Rows matching the filters (before --limit): the report's total_legacy_records."""
    if options.window.is_open:
        stmt = select(func.count()).select_from(source.table).where(source.where(options))
        return int(conn.execute(stmt).scalar_one())
    stmt = select(source.effective_date()).where(source.where(options))
    return sum(1 for (eff,) in conn.execute(stmt) if row_in_window(eff, options.window))


def duplicate_keys(conn: Connection, source: LegacySource) -> set[str]:
    """Keys held by more than one legacy row: ambiguous, so every such row is rejected."""
    key = source.key_expr
    stmt = (
        select(key)
        .where(key != "", source.digits_only(func.trim(source.text_of("id"))))
        .group_by(key)
        .having(func.count() > 1)
    )
    return {k for (k,) in conn.execute(stmt)}


def holds_key(source: LegacySource, state_key: ColumnElement) -> ColumnElement:
    """EXISTS a legacy row with this key (same database only); uses the keyset index."""
    key = func.coalesce(source.key_expr, inline(""))
    if source.dialect == "sqlite":
        # Beside a bare TEXT column SQLite uses only the index's first column (the length):
        # every same-length id is scanned per student. An expression has no column affinity,
        # so both index columns are used.
        state_key = func.coalesce(state_key, inline(""))
    return (
        select(literal(1))
        .select_from(source.table)
        .where(func.length(key) == func.length(state_key), source._c(key) == state_key)
        .exists()
    )


def present_keys(conn: Connection, source: LegacySource, ranges: tuple[IdRange, ...]) -> set[str]:
    """Every key the legacy table holds in the ranges (for the vanished-students check)."""
    stmt = select(source.key_expr).where(
        source.in_ranges(ranges) if ranges else source.digits_only(func.trim(source.text_of("id")))
    )
    return {k for (k,) in conn.execute(stmt)}


def _student_id_bound(conn: Connection, source: LegacySource, *, largest: bool) -> int | None:
    key = source.key_expr
    length = func.length(key)
    top = str(MAX_STUDENT_ID)
    stmt = select(key).where(
        source.digits_only(func.trim(source.text_of("id"))),
        key != "",
        # Ids a profile cannot hold (over 32 bits) are rejected rows, not range bounds.
        or_(length < len(top), and_(length == len(top), source._c(key) <= top)),
    )
    # The keyset index's leading expressions, so the database walks the index from one end.
    by_length, by_text = source.order_columns[:2]
    order = (by_length.desc(), by_text.desc()) if largest else (by_length, by_text)
    value = conn.execute(stmt.order_by(*order).limit(1)).scalar_one_or_none()
    return int(value) if value is not None else None


def max_student_id(conn: Connection, source: LegacySource) -> int | None:
    """The largest usable numeric id, found by (length, text) order: no id is ever cast."""
    return _student_id_bound(conn, source, largest=True)


def min_student_id(conn: Connection, source: LegacySource) -> int | None:
    """The smallest usable numeric id (where the first ID range starts)."""
    return _student_id_bound(conn, source, largest=False)


__all__ = [
    "LegacySource",
    "count_slice",
    "duplicate_keys",
    "iter_legacy_pages",
    "max_student_id",
    "min_student_id",
    "present_keys",
    "row_in_window",
]
