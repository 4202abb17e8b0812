"""A realistic day of edits on a demo legacy table, so incremental runs have something to find.

:func:`plan_day_of_edits` is pure (rows in, a :class:`DayOfEdits` out);
:func:`apply_day_of_edits` reads the table, plans and writes the plan back.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Connection, Engine, delete, select

from student_sync.demo.generator import LegacyRow, generate_legacy_rows
from student_sync.demo.pools import latin_names
from student_sync.demo.validity import NAME_MARKER_RE, bare_name, is_valid_row, school_email_key
from student_sync.demo.vocabulary import KNOWN_CODES, SCHOOL_EMAIL_DOMAIN
from student_sync.domain import is_null
from student_sync.engine.bulk import chunked, insert_tuples
from student_sync.engine.db import reflect_table
from student_sync.engine.legacy_load import begin
from student_sync.engine.schema import LEGACY_TABLE_NAME

_KNOWN_CODE_RE = re.compile(r"<(" + "|".join(KNOWN_CODES) + r")>")
_CONTACT_COLUMNS = (
    "emg_contact_person",
    "contact_person_phone",
    "relationship",
    "contact_person_address",
)
# How the day's edit budget splits over the categories.
EDIT_SHARES = (
    ("renames", 0.25),
    ("sponsor_changes", 0.15),
    ("sponsor_removals", 0.10),
    ("contact_removals", 0.15),
    ("deletions", 0.15),
    ("new_students", 0.20),
)
NEW_STUDENT_WITH_MODIFIED_DATE = 0.5  # the other half has created_date only


@dataclass(frozen=True)
class DayOfEdits:
    """What a day of edits changed, by legacy student id (categories are disjoint)."""

    edit_day: date
    renames: tuple[str, ...] = ()
    sponsor_changes: tuple[str, ...] = ()
    sponsor_removals: tuple[str, ...] = ()
    contact_removals: tuple[str, ...] = ()
    deletions: tuple[str, ...] = ()
    new_students: tuple[str, ...] = ()
    updated_rows: tuple[LegacyRow, ...] = field(default=(), repr=False)  # full rows after edit
    new_rows: tuple[LegacyRow, ...] = field(default=(), repr=False)

    CATEGORIES = tuple(name for name, _ in EDIT_SHARES)

    def by_category(self) -> dict[str, tuple[str, ...]]:
        return {name: getattr(self, name) for name in self.CATEGORIES}

    def counts(self) -> dict[str, int]:
        return {name: len(ids) for name, ids in self.by_category().items()}

    @property
    def edited_ids(self) -> frozenset[str]:
        """Ids of existing rows that changed (new students excluded)."""
        return frozenset(row["id"] for row in self.updated_rows)  # type: ignore[misc]

    @property
    def total(self) -> int:
        return sum(self.counts().values())


def _allocate(total: int) -> dict[str, int]:
    """Split the edit budget over the categories: at least one each once the budget allows."""
    names = [name for name, _ in EDIT_SHARES]
    if total < len(names):
        return {name: int(position < total) for position, name in enumerate(names)}
    counts = {name: max(1, int(total * share)) for name, share in EDIT_SHARES}
    turn = 0
    while sum(counts.values()) < total:
        counts[names[turn % len(names)]] += 1
        turn += 1
    while sum(counts.values()) > total:  # max(1, ...) may overshoot on small budgets
        biggest = max(counts, key=counts.__getitem__)
        counts[biggest] -= 1
    return counts


def _edit_timestamp(rng: random.Random, day: date) -> str:
    seconds = rng.randrange(7 * 3600, 19 * 3600)
    return (
        f"{day.isoformat()} {seconds // 3600:02d}:{seconds // 60 % 60:02d}:"
        f"{seconds % 60:02d}.{rng.randrange(1000):03d}"
    )


def _rename(rng: random.Random, name: str, personal_names: Sequence[str]) -> str:
    """Replace the personal name (words after the family name), keeping every marker."""
    parts = NAME_MARKER_RE.split(name)
    markers = NAME_MARKER_RE.findall(name)
    for position, part in enumerate(parts):
        words = part.split()
        if words and any(char.isalpha() for char in part):
            lead = part[: len(part) - len(part.lstrip())]
            trail = part[len(part.rstrip()) :]
            for _ in range(20):  # differ after upper-casing, or the sync sees no change
                candidate = f"{lead}{words[0]} {rng.choice(personal_names)}{trail}"
                if candidate.upper().split() != part.upper().split():
                    break
            parts[position] = candidate
            break
    out = parts[0]
    for marker, part in zip(markers, parts[1:], strict=True):
        out += marker + part
    return out


def _remove_code(name: str, code: str) -> str:
    marker = f"<{code}>"
    for pattern in (r"\s+" + re.escape(marker), re.escape(marker) + r"\s*"):
        new, hits = re.subn(pattern, "", name, count=1)
        if hits:
            return new
    return name


def _editable(rows: Sequence[LegacyRow]) -> list[LegacyRow]:
    """Valid, not deleted rows with a unique id and school e-mail, in a fixed order."""
    id_counts = Counter(row.get("id") for row in rows)
    email_counts = Counter(school_email_key(row.get("school_email")) for row in rows)

    def editable(row: LegacyRow) -> bool:
        email = school_email_key(row.get("school_email"))
        return (
            is_valid_row(row)
            and (row.get("deleted") or "").strip() != "1"
            and id_counts[row.get("id")] == 1
            and (email is None or email_counts[email] == 1)
        )

    chosen = [row for row in rows if editable(row)]
    chosen.sort(key=lambda row: (row.get("id") or "", row.get("ipk") or ""))  # order-independent
    return chosen


class _Picker:
    """Draws rows for one category at a time; a row is edited at most once a day."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.taken: set[str] = set()

    def pick(self, candidates: list[LegacyRow], count: int) -> list[LegacyRow]:
        free = [row for row in candidates if row["id"] not in self.taken]
        chosen = self.rng.sample(free, min(count, len(free)))
        chosen.sort(key=lambda row: row["id"] or "")
        self.taken.update(row["id"] for row in chosen)  # type: ignore[misc]
        return chosen


def _change_sponsor(rng: random.Random, row: LegacyRow) -> LegacyRow:
    name = row["name"] or ""
    present = _KNOWN_CODE_RE.findall(name)
    old = rng.choice(present)
    new = rng.choice([code for code in KNOWN_CODES if code not in present])
    return {**row, "name": name.replace(f"<{old}>", f"<{new}>", 1)}


def _remove_sponsor(rng: random.Random, row: LegacyRow) -> LegacyRow:
    name = row["name"] or ""
    return {**row, "name": _remove_code(name, rng.choice(_KNOWN_CODE_RE.findall(name)))}


def _edit_existing(
    rng: random.Random, rows: Sequence[LegacyRow], budget: dict[str, int], seed: int
) -> tuple[list[LegacyRow], dict[str, list[str]]]:
    """(edited rows without their new modified_date, edited ids by category)."""
    editable = _editable(rows)
    picker = _Picker(rng)
    sponsored = [row for row in editable if _KNOWN_CODE_RE.search(row["name"] or "")]
    with_contact = [row for row in editable if not is_null(row.get("emg_contact_person"))]
    personal_names = latin_names(random.Random(f"edit-names:{seed}"))[1]
    edits = {
        "sponsor_changes": [
            _change_sponsor(rng, row) for row in picker.pick(sponsored, budget["sponsor_changes"])
        ],
        "sponsor_removals": [
            _remove_sponsor(rng, row) for row in picker.pick(sponsored, budget["sponsor_removals"])
        ],
        "contact_removals": [
            {**row, **dict.fromkeys(_CONTACT_COLUMNS)}
            for row in picker.pick(with_contact, budget["contact_removals"])
        ],
        "renames": [
            {**row, "name": _rename(rng, row["name"] or "", personal_names)}
            for row in picker.pick(editable, budget["renames"])
        ],
        "deletions": [
            {**row, "deleted": "1"} for row in picker.pick(editable, budget["deletions"])
        ],
    }
    updated = [row for category in edits.values() for row in category]
    ids = {name: [row["id"] for row in category] for name, category in edits.items()}
    return updated, ids  # type: ignore[return-value]


def _new_students(
    rng: random.Random, *, seed: int, edit_day: date, count: int, next_id: int, next_ipk: int
) -> list[LegacyRow]:
    """``count`` valid new rows created on ``edit_day``, ids from ``next_id``."""
    if not count:
        return []
    new_rows: list[LegacyRow] = []
    candidates = generate_legacy_rows(
        count * 2 + 20, seed=seed, start_id=next_id, today=edit_day + timedelta(days=1)
    )
    for row in candidates:
        if len(new_rows) == count:
            break
        if not is_valid_row(row) or row["deleted"] == "1":
            continue
        number = next_id + len(new_rows)
        stamp = _edit_timestamp(rng, edit_day)
        local = re.sub(r"[^a-z]", "", bare_name(row["name"]).lower())[:20] or "student"
        new_rows.append(
            {
                **row,
                "id": f"{number:05d}",
                "ipk": str(next_ipk + len(new_rows)),
                "school_email": f"{local}.{number}@{SCHOOL_EMAIL_DOMAIN}",
                "created_date": stamp,
                "modified_date": (stamp if rng.random() < NEW_STUDENT_WITH_MODIFIED_DATE else None),
                "deleted": "0",
            }
        )
    return new_rows


def plan_day_of_edits(
    rows: Sequence[LegacyRow],
    *,
    seed: int,
    edit_day: date,
    fraction: float = 0.01,
    next_id: int,
    next_ipk: int,
) -> DayOfEdits:
    """Plan a realistic day of edits over ``rows`` (pure: the input is not modified).

    About ``fraction * len(rows)`` edits split over renames (same ipk, markers kept), sponsor
    code changes, sponsor code removals, contact removals, deletions and new students (ids
    from ``next_id``, ipks from ``next_ipk``). Only valid, not deleted rows with a unique id
    and school e-mail are edited; every edited row gets a ``modified_date`` on ``edit_day``.
    """
    rng = random.Random(f"day-of-edits:{seed}:{edit_day.isoformat()}")
    budget = _allocate(int(round(fraction * len(rows))))
    updated, ids = _edit_existing(rng, rows, budget, seed)
    for row in updated:
        row["modified_date"] = _edit_timestamp(rng, edit_day)
    updated.sort(key=lambda row: row["id"] or "")
    new_rows = _new_students(
        rng,
        seed=seed,
        edit_day=edit_day,
        count=budget["new_students"],
        next_id=next_id,
        next_ipk=next_ipk,
    )
    return DayOfEdits(
        edit_day=edit_day,
        updated_rows=tuple(updated),
        new_rows=tuple(new_rows),
        new_students=tuple(row["id"] for row in new_rows),  # type: ignore[misc]
        **{name: tuple(values) for name, values in ids.items()},
    )


def _max_number(values: Iterable[str | None]) -> int:
    best = 0
    for value in values:
        text = (value or "").strip()
        if text.isascii() and text.isdigit():
            best = max(best, int(text))
    return best


def apply_day_of_edits(
    engine: Engine | Connection,
    *,
    seed: int,
    edit_day: date,
    fraction: float = 0.01,
    table_name: str = LEGACY_TABLE_NAME,
) -> DayOfEdits:
    """Read the legacy table, plan a day of edits and apply it in one transaction.

    Reads the whole table (fine for demo sizes; ~1 GB of Python objects at a million rows).
    An edited row keeps its id and ipk: only its values change.
    """
    with begin(engine) as conn:
        table = reflect_table(conn, table_name)
        keys = tuple(table.c.keys())
        rows = [dict(zip(keys, values, strict=True)) for values in conn.execute(select(table))]
        plan = plan_day_of_edits(
            rows,
            seed=seed,
            edit_day=edit_day,
            fraction=fraction,
            next_id=_max_number(row["id"] for row in rows) + 1,
            next_ipk=_max_number(row["ipk"] for row in rows) + 1,
        )
        # Set-based: delete the edited rows by id, then insert their new versions with the new
        # students (COPY on PostgreSQL). One UPDATE per row would scan the unindexed table once
        # per row. Edited ids are unique in the table (plan_day_of_edits only edits those).
        edited = sorted(plan.edited_ids)
        for chunk in chunked(edited):
            conn.execute(delete(table).where(table.c.id.in_(chunk)))
        columns = [column.name for column in table.columns]
        new_versions = (*plan.updated_rows, *plan.new_rows)
        insert_tuples(
            conn, table, columns, [tuple(row.get(name) for name in columns) for row in new_versions]
        )
    return plan
