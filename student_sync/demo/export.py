"""The school's CSV export format (SQL Server), written from demo rows."""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable
from itertools import chain
from pathlib import Path

from student_sync.demo.generator import LegacyRow
from student_sync.engine.legacy_load import EXPORT_COLUMNS, NULL_LITERAL


def write_export_csv(
    rows: Iterable[LegacyRow], path: str | Path, *, seed: int = 0, bom: bool = False
) -> int:
    """Write rows as the school's SQL Server export; returns the number of data rows.

    All 87 CamelCase headers in a seed-shuffled order (the export's order varies), literal
    ``NULL`` for None, CRLF line ends, UTF-8 (optionally with BOM). ``UI`` and ``PW`` get
    synthetic junk logins, so tests can prove the loader drops them. Row keys that are not
    export columns are appended with the key as header.
    """
    rng = random.Random(f"export:{seed}")
    iterator = iter(rows)
    first = next(iterator, None)
    export = list(EXPORT_COLUMNS)
    known = {column for _, column in export}
    if first is not None:
        export += [(key, key) for key in first if key not in known]
    rng.shuffle(export)
    headers = [header for header, _ in export]
    columns = [column for _, column in export]
    written = 0
    with Path(path).open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(headers)
        for row in chain([first] if first is not None else [], iterator):
            writer.writerow([_cell(rng, row, column) for column in columns])
            written += 1
    return written


def _cell(rng: random.Random, row: LegacyRow, column: str) -> str:
    """One exported value; the legacy login columns get junk the loader must drop."""
    if column == "ui":
        return f"usr{rng.getrandbits(24):06x}"
    if column == "pw":
        return f"pw!{rng.getrandbits(40):010x}"
    value = row.get(column)
    return NULL_LITERAL if value is None else value
