"""Synthetic demo data: a ``legacy_students`` table with every quirk the sync must survive.

Not part of the sync engine: the demo imports the engine's schema and table helpers, never
the other way round. Everything is invented; nothing describes a real person.

* :func:`generate_legacy_rows` streams rows, deterministic for its arguments
  (:mod:`.generator`; one generator per column with named probabilities in :mod:`.columns`);
* :func:`write_legacy_table` writes them to the staging table (COPY on PostgreSQL) and
  :func:`write_export_csv` writes the school's CSV export format instead;
* :func:`plan_day_of_edits` / :func:`apply_day_of_edits` make a realistic day of edits so
  incremental runs have something to find (:mod:`.edits`).
"""

from student_sync.demo.edits import DayOfEdits, apply_day_of_edits, plan_day_of_edits
from student_sync.demo.export import write_export_csv
from student_sync.demo.generator import (
    EXTRA_COLUMNS,
    ROW_COLUMNS,
    LegacyRow,
    generate_legacy_rows,
)
from student_sync.demo.table import write_legacy_table
from student_sync.demo.validity import bare_name, is_valid_row
from student_sync.demo.vocabulary import (
    DATE_NULL_SPELLINGS,
    KNOWN_CODES,
    NULL_SPELLINGS,
    UNKNOWN_CODES,
)

__all__ = [
    "DATE_NULL_SPELLINGS",
    "EXTRA_COLUMNS",
    "KNOWN_CODES",
    "NULL_SPELLINGS",
    "ROW_COLUMNS",
    "UNKNOWN_CODES",
    "DayOfEdits",
    "LegacyRow",
    "apply_day_of_edits",
    "bare_name",
    "generate_legacy_rows",
    "is_valid_row",
    "plan_day_of_edits",
    "write_export_csv",
    "write_legacy_table",
]
