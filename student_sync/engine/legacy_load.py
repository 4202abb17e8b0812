"""Load the school's SQL Server export (CSV) into the ``legacy_students`` staging table.

The export has ~87 CamelCase columns in an order that varies, literal ``NULL`` for missing
values, and carries the legacy login (``UI``) and password (``PW``). The loader:

* validates the whole file BEFORE touching the database (UTF-8, no NUL bytes, a header with
  ``ID``/``Name``/``IPK``, every record with the header's field count), so a refused file
  leaves the table exactly as it was; errors name the line, byte offset or column;
* maps headers by name (case-insensitive) through :data:`EXPORT_COLUMNS`; unknown headers are
  snake_cased and kept as extra TEXT columns;
* drops ``UI`` and ``PW`` before pandas even parses them (``usecols``), so they never reach
  the database, a log line or an error message;
* writes in ONE transaction: replace the contents, or (``merge=True``) upsert by id.

NULL decision: the literal ``NULL`` becomes SQL NULL in every column except ``id``, ``name``
and ``ipk``. Those three are NOT NULL in SQL Server, so a ``NULL`` there can only be the text;
it is kept as the text ``'NULL'``, which the sync treats as a null marker (a row without id or
name is rejected and keeps a visible id in the rejection report; a row without IPK syncs).
Any other spelling (``null``, ``NA``, blanks) is kept verbatim: telling markers apart is the
sync's job, not the loader's.
"""

from __future__ import annotations

import codecs
import csv
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Column, Connection, Engine, MetaData, Table, Text, delete, inspect

from student_sync.engine.bulk import chunked, insert_tuples
from student_sync.engine.db import reflect_table
from student_sync.engine.errors import LegacyLoadError
from student_sync.engine.schema import (
    LEGACY_COLUMNS,
    LEGACY_REQUIRED_COLUMNS,
    LEGACY_TABLE_NAME,
    legacy_students_table,
)

log = logging.getLogger(__name__)

# Export header -> legacy_students column, in the school's export order
# (from docs/legacy-export-columns.csv).
EXPORT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("UI", "ui"),
    ("PW", "pw"),
    ("ID", "id"),
    ("Name", "name"),
    ("KName", "kname"),
    ("BirthDate", "birth_date"),
    ("BirthPlace", "birth_place"),
    ("Gender", "gender"),
    ("MaritalStatus", "marital_status"),
    ("Nationality", "nationality"),
    ("HomeAddress", "home_address"),
    ("HomePhone", "home_phone"),
    ("Email", "email"),
    ("MobilePhone", "mobile_phone"),
    ("EmploymentPlace", "employment_place"),
    ("Position", "position"),
    ("FatherName", "father_name"),
    ("SpouseName", "spouse_name"),
    ("Emg_ContactPerson", "emg_contact_person"),
    ("Relationship", "relationship"),
    ("ContactPersonAddress", "contact_person_address"),
    ("ContactPersonPhone", "contact_person_phone"),
    ("HighSchoolProgram_School", "high_school_program_school"),
    ("HighSchoolProgram_Province", "high_school_program_province"),
    ("HighSchoolProgram_Year", "high_school_program_year"),
    ("HighSchoolProgram_Diploma", "high_school_program_diploma"),
    ("EnglishProgram_School", "english_program_school"),
    ("EnglishProgram_Level", "english_program_level"),
    ("EnglishProgram_Year", "english_program_year"),
    ("LessThanFourYearProgram_School", "less_than_four_year_program_school"),
    ("LessThanFourYearProgram_Year", "less_than_four_year_program_year"),
    ("FourYearProgram_School", "four_year_program_school"),
    ("FourYearProgram_Degree", "four_year_program_degree"),
    ("FourYearProgram_Major", "four_year_program_major"),
    ("FourYearProgram_Year", "four_year_program_year"),
    ("GraduateProgram_School", "graduate_program_school"),
    ("GraduateProgram_Degree", "graduate_program_degree"),
    ("GraduateProgram_Major", "graduate_program_major"),
    ("GraduateProgram_Year", "graduate_program_year"),
    ("PostGraduateProgram_School", "post_graduate_program_school"),
    ("PostGraduateProgram_Degree", "post_graduate_program_degree"),
    ("PostGraduateProgram_Major", "post_graduate_program_major"),
    ("PostGraduateProgram_Year", "post_graduate_program_year"),
    ("CurrentProgram", "current_program"),
    ("SelProgram", "sel_program"),
    ("SelectedProgram", "selected_program"),
    ("SelMajor", "sel_major"),
    ("SelectedMajor", "selected_major"),
    ("SelFaculty", "sel_faculty"),
    ("SelectedFaculty", "selected_faculty"),
    ("SelectedDegreeType", "selected_degree_type"),
    ("AdmissionDate", "admission_date"),
    ("AdmissionDateForUnder", "admission_date_for_under"),
    ("AdmissionDateForMaster", "admission_date_for_master"),
    ("AdmissionDateForDoctor", "admission_date_for_doctor"),
    ("PreviousDegree", "previous_degree"),
    ("PreviousInstitution", "previous_institution"),
    ("YearAwarded", "year_awarded"),
    ("OtherCreditTransferInstitution", "other_credit_transfer_institution"),
    ("DegreeAwarded", "degree_awarded"),
    ("GraduationDate", "graduation_date"),
    ("FirstTerm", "first_term"),
    ("PaidTerm", "paid_term"),
    ("BatchID", "batch_id"),
    ("BatchIDForUnder", "batch_id_for_under"),
    ("BatchIDForMaster", "batch_id_for_master"),
    ("BatchIDForDoctor", "batch_id_for_doctor"),
    ("GroupID", "group_id"),
    ("intGroupID", "int_group_id"),
    ("Color", "color"),
    ("Admitted", "admitted"),
    ("Deleted", "deleted"),
    ("Status", "status"),
    ("SchoolEmail", "school_email"),
    ("BAGradDate", "ba_grad_date"),
    ("MAGradDate", "ma_grad_date"),
    ("Notes", "notes"),
    ("Lastenroll", "lastenroll"),
    ("Firstenroll", "firstenroll"),
    ("Firstenroll_Lang", "firstenroll_lang"),
    ("Firstenroll_BA", "firstenroll_ba"),
    ("Firstenroll_MA", "firstenroll_ma"),
    ("Transfer", "transfer"),
    ("KName2", "kname2"),
    ("CreatedDate", "created_date"),
    ("ModifiedDate", "modified_date"),
    ("IPK", "ipk"),
)

# The legacy login and password: never loaded, logged or echoed.
SECRET_COLUMNS: frozenset[str] = frozenset({"ui", "pw"})
NULL_LITERAL = "NULL"

_HEADER_FOR_COLUMN = {column: header for header, column in EXPORT_COLUMNS}
_COLUMN_BY_LOWER = {header.lower(): column for header, column in EXPORT_COLUMNS}
_COLUMN_BY_LOWER.update({column: column for _, column in EXPORT_COLUMNS})
_COLUMN_BY_LOWER.update({column: column for column in LEGACY_COLUMNS})
_MAX_IDENTIFIER = 63  # PostgreSQL truncates longer names silently: refuse them instead.

Row = Sequence[str | None]


@dataclass(frozen=True)
class LoadResult:
    """What a load did, for the CLI and the tests."""

    rows_read: int
    rows_written: int
    columns: tuple[str, ...]
    dropped_columns: tuple[str, ...]
    mode: str  # "replace" or "merge"
    table_name: str = LEGACY_TABLE_NAME
    rows_deleted: int = 0  # replace: previous contents; merge: old rows whose id came again


# --------------------------------------------------------------------------- headers
def column_for_header(header: str) -> str:
    """The staging column for an export header: known headers case-insensitively, else snake."""
    text = header.strip()
    known = _COLUMN_BY_LOWER.get(text.lower())
    if known is not None:
        return known
    return snake_case(text)


def snake_case(text: str) -> str:
    """``SomeHeader_Name2`` -> ``some_header_name2``; '' when nothing usable is left."""
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", text)
    return re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_").lower()


def header_for_column(column: str) -> str:
    """The export header the school uses for a column (the column itself when unknown)."""
    return _HEADER_FOR_COLUMN.get(column, column)


# --------------------------------------------------------------------------- database helpers
def legacy_table(table_name: str = LEGACY_TABLE_NAME, extra_columns: Sequence[str] = ()) -> Table:
    """The shared staging declaration (all TEXT) on a fresh MetaData, with extra columns."""
    return legacy_students_table(MetaData(), tuple(extra_columns), name=table_name)


@contextmanager
def begin(bind: Engine | Connection) -> Iterator[Connection]:
    """One transaction: a new one on an Engine; on a Connection, the caller's (begun if idle)."""
    if isinstance(bind, Engine):
        with bind.begin() as conn:
            yield conn
    elif bind.in_transaction():
        yield bind
    else:
        with bind.begin():
            yield bind


def add_text_columns(conn: Connection, table: Table, columns: Iterable[str]) -> Table:
    """ALTER TABLE ... ADD COLUMN (TEXT) for columns the table lacks; returns the new table."""
    missing = [c for c in columns if c not in table.c]
    if not missing:
        return table
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    ops = Operations(MigrationContext.configure(connection=conn))
    for name in missing:
        ops.add_column(table.name, Column(name, Text, nullable=True), schema=table.schema)
    return reflect_table(conn, table.name, schema=table.schema)


# --------------------------------------------------------------------------- validation
@dataclass(frozen=True)
class _Scan:
    headers: tuple[str, ...]
    columns: tuple[str, ...]  # mapped name per header position
    rows: int
    ids: frozenset[str] | None


def _check_bytes(path: Path) -> None:
    """Refuse non-UTF-8 text and NUL bytes, naming the byte offset and line."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    offset = 0  # bytes of the file before the current chunk
    newlines = 0  # newlines in the file before the current chunk
    with path.open("rb") as fh:
        head = fh.read(4)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise LegacyLoadError(
                f"{path.name}: not valid UTF-8 at byte offset 0 (line 1): the file looks like "
                "UTF-16; export it as UTF-8"
            )
        fh.seek(0)
        while chunk := fh.read(1 << 20):
            nul = chunk.find(b"\x00")
            if nul >= 0:
                line = newlines + chunk.count(b"\n", 0, nul) + 1
                raise LegacyLoadError(
                    f"{path.name}: NUL byte at byte offset {offset + nul} (line {line})"
                )
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                position = max(0, exc.start - pending)
                line = newlines + chunk.count(b"\n", 0, position) + 1
                raise LegacyLoadError(
                    f"{path.name}: not valid UTF-8 at byte offset {offset - pending + exc.start}"
                    f" (line {line}); export the file as UTF-8"
                ) from None
            offset += len(chunk)
            newlines += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise LegacyLoadError(
                f"{path.name}: not valid UTF-8 at byte offset {offset - len(decoder.getstate()[0])}"
                f" (line {newlines + 1}): the file ends inside a character"
            ) from None


def _map_headers(path: Path, headers: Sequence[str]) -> tuple[str, ...]:
    columns: list[str] = []
    seen: dict[str, str] = {}
    for position, header in enumerate(headers, start=1):
        column = column_for_header(header)
        if not column:
            raise LegacyLoadError(
                f"{path.name}: column {position} has an unusable header {header.strip()!r}"
            )
        if len(column) > _MAX_IDENTIFIER:
            raise LegacyLoadError(
                f"{path.name}: column {position} header {header.strip()[:40]!r}... is longer than "
                f"{_MAX_IDENTIFIER} characters"
            )
        if column in seen:
            raise LegacyLoadError(
                f"{path.name}: columns {seen[column]!r} and {header.strip()!r} (column {position})"
                f" both map to {column!r}"
            )
        seen[column] = header.strip()
        columns.append(column)
    missing = [c for c in LEGACY_REQUIRED_COLUMNS if c not in seen]
    if missing:
        names = ", ".join(header_for_column(c) for c in missing)
        raise LegacyLoadError(
            f"{path.name}: missing required column(s) {names} in the header line (line 1)"
        )
    return tuple(columns)


def _scan(path: Path, *, collect_ids: bool) -> _Scan:
    """One streaming pass: header mapping, field counts per record, ids for merge mode."""
    _check_bytes(path)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, strict=True)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise LegacyLoadError(f"{path.name}: line 1: malformed header ({exc})") from None
        if not header or not any(h.strip() for h in header):
            raise LegacyLoadError(f"{path.name}: line 1: the file has no header line")
        columns = _map_headers(path, header)
        width = len(header)
        id_index = columns.index("id")
        ids: set[str] | None = set() if collect_ids else None
        rows = 0
        start = reader.line_num + 1
        while True:
            try:
                record = next(reader, None)
            except csv.Error as exc:
                raise LegacyLoadError(f"{path.name}: line {start}: malformed CSV ({exc})") from None
            if record is None:
                break
            if record:  # csv gives [] for a blank line; pandas skips those too
                if len(record) != width:
                    raise LegacyLoadError(
                        f"{path.name}: line {start}: expected {width} fields (as in the header),"
                        f" found {len(record)}"
                    )
                rows += 1
                if ids is not None:
                    ids.add(record[id_index])
            start = reader.line_num + 1
    return _Scan(
        headers=tuple(h.strip() for h in header),
        columns=columns,
        rows=rows,
        ids=frozenset(ids) if ids is not None else None,
    )


# --------------------------------------------------------------------------- load
def load_legacy_csv(
    engine: Engine | Connection,
    path: str | Path,
    *,
    merge: bool = False,
    table_name: str = LEGACY_TABLE_NAME,
    chunk_size: int = 50_000,
) -> LoadResult:
    """Load an export CSV: validate everything first, then replace (or merge) in one transaction.

    Raises LegacyLoadError for a refused file; the database is not touched in that case.
    """
    path = Path(path)
    if not path.is_file():
        raise LegacyLoadError(f"{path}: no such file")
    scan = _scan(path, collect_ids=merge)
    if scan.rows == 0 and not merge:
        raise LegacyLoadError(
            f"{path.name}: the file has a header but no data rows; refusing to empty the table"
        )
    keep = [i for i, c in enumerate(scan.columns) if c not in SECRET_COLUMNS]
    columns = tuple(scan.columns[i] for i in keep)
    dropped = tuple(c for c in scan.columns if c in SECRET_COLUMNS)
    optional = [c not in LEGACY_REQUIRED_COLUMNS for c in columns]
    records = _read_records(path, keep, optional, chunk_size)
    with begin(engine) as conn:
        table, deleted = _prepare_table(conn, table_name, columns, merge_ids=scan.ids)
        written = insert_tuples(conn, table, columns, records, chunk_size=chunk_size)
        if written != scan.rows:  # both parsers must agree; roll back if they do not
            raise LegacyLoadError(
                f"{path.name}: read {scan.rows} records while validating but {written} while "
                "loading; the file's quoting is ambiguous"
            )
    result = LoadResult(
        rows_read=scan.rows,
        rows_written=written,
        columns=columns,
        dropped_columns=dropped,
        mode="merge" if merge else "replace",
        table_name=table_name,
        rows_deleted=deleted,
    )
    log.info(
        "loaded %d rows (%d columns, %d dropped) into %s, mode %s",
        written,
        len(columns),
        len(dropped),
        table_name,
        result.mode,
    )
    return result


def _read_records(
    path: Path, usecols: list[int], optional: Sequence[bool], chunk_size: int
) -> Iterator[list[str | None]]:
    """The file's records, streamed by pandas: only the ``usecols`` positions are parsed (the
    secrets never are), and the literal NULL becomes None in the ``optional`` columns.

    pandas and numpy are imported here, not with the module: the engine's package imports
    this module, and they would add ~60 MB to every run's process (and to its forked
    transform workers) that never loads a CSV file."""
    import numpy as np
    import pandas as pd

    mask = np.array(optional, dtype=bool)
    reader = pd.read_csv(
        path,
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        encoding="utf-8-sig",
        usecols=usecols,
        chunksize=chunk_size,
        skip_blank_lines=True,
        engine="c",
    )
    with reader:
        for frame in reader:
            values = frame.to_numpy(dtype=object)
            block = values[:, mask]
            block[block == NULL_LITERAL] = None
            values[:, mask] = block
            yield from values.tolist()


def _prepare_table(
    conn: Connection,
    table_name: str,
    columns: Sequence[str],
    *,
    merge_ids: frozenset[str] | None,
) -> tuple[Table, int]:
    """The table ready for the file's rows, and how many rows it lost: emptied (replace) or
    rid of the file's ids (merge, ``merge_ids``), then given the columns it lacks; created
    when it does not exist."""
    if not inspect(conn).has_table(table_name):
        table = legacy_table(table_name, [c for c in columns if c not in LEGACY_COLUMNS])
        table.create(conn)
        return table, 0
    table = reflect_table(conn, table_name)
    # DML before DDL: on SQLite this opens the transaction the ALTERs then join.
    if merge_ids is not None:
        deleted = _delete_ids(conn, table, sorted(merge_ids))
    else:
        deleted = conn.execute(delete(table)).rowcount or 0
    return add_text_columns(conn, table, columns), deleted


def _delete_ids(conn: Connection, table: Table, ids: Sequence[str]) -> int:
    deleted = 0
    for chunk in chunked(ids):
        deleted += conn.execute(delete(table).where(table.c.id.in_(chunk))).rowcount or 0
    return deleted
