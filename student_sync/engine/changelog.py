"""What the sync wrote, and what a registrar changed since: the change log and conflicts.

The sync remembers what it last wrote to each column it owns as short digests
(``student_sync_written``). Before it updates a student, the SIS row's current values are
compared with them: a column whose value no longer matches was changed in the SIS since (a
registrar edit). When the legacy value disagrees with that edit, it is a *conflict*:
``keep-sis`` (the default) leaves the column as the registrar set it and writes the rest;
``legacy-wins`` overwrites it, and the change log keeps the overwritten value. A conflict is
reported once per pair of values (``student_sync_conflict`` remembers the pair).

Every write of a batch is logged in the batch's own transaction (``student_sync_change_log``):
one row per SIS row written, with the changed columns' old and new values.

Pure parts: ``digest``/``digests``, ``find_conflicts``, ``diff``, ``batch_changes``. Statement
builders: ``check_conflicts`` (planner, updates only), ``close_checked`` (apply),
``finish_run`` (pruning, open count), ``open_conflict_count``. Nothing here runs for unchanged
rows, so a rerun where nothing changed reads and writes none of it.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, and_, delete, func, select, update

from student_sync.engine import schema, target
from student_sync.engine.model import (
    Conflict,
    ContactValues,
    PlanBatch,
    PlannedStudent,
    StateRow,
)

# The columns the sync owns (writes from the legacy row), per part of a student. Their order
# is the order of the digests in ``student_sync_written``: append, never reorder.
OWNED: dict[str, tuple[str, ...]] = {
    "person": (
        "family_name",
        "personal_name",
        "full_name",
        "khmer_name",
        "preferred_gender",
        "school_email",
        "personal_email",
        "date_of_birth",
        "birth_province",
        "citizenship",
    ),
    "profile": (
        "legacy_ipk",
        "is_monk",
        "is_transfer_student",
        "current_status",
        "last_enrollment_date",
    ),
    "contact": tuple(ContactValues.__dataclass_fields__),
}
# The SIS table of each part as declared. The contact table is the one the SIS really has
# (``SisSchema.contact``: people_contact or people_emergencycontact): callers pass its name.
SIS_TABLE_NAMES: dict[str, str] = {
    "person": schema.person.name,
    "profile": schema.student_profile.name,
    "contact": schema.emergency_contact.name,
}


def sis_table_names(contact_table: str) -> dict[str, str]:
    """The SIS table of each part, with the run's contact table."""
    return {**SIS_TABLE_NAMES, "contact": contact_table}


SPONSORSHIPS = schema.sponsored_student.name
DIGEST_CHARS = 8  # 32 bits per column (hex)
# Compact JSON of a change: one encoder for the run (json.dumps with options builds one a call).
_to_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


# --------------------------------------------------------------------------- pure parts
def _crc(value: Any) -> int:
    """CRC-32 of a value's text, seeded by its type so that ``1``, ``True`` and ``"1"``
    differ whatever the driver returned (bool before int). C speed: a forced rewrite digests
    twenty columns a student."""
    kind = type(value)
    if kind is str:  # most values: checked first
        return zlib.crc32(value.encode(), 1)
    if value is None:
        return 0
    if kind is bool:
        return 2 if value else 3
    if kind is int:
        return zlib.crc32(str(value).encode(), 4)
    if isinstance(value, datetime):
        return zlib.crc32(value.isoformat().encode(), 5)
    if isinstance(value, date):
        return zlib.crc32(value.isoformat().encode(), 6)
    return zlib.crc32(str(value).encode(), 7)


def digest(value: Any) -> str:
    """One column's digest (8 hex digits); a missed edit needs a CRC-32 collision between
    the old and the new value, 1 in 4 billion."""
    return f"{_crc(value):08x}"


def same(a: Any, b: Any) -> bool:
    """Equal values of the same type: the cheap test before any digest (True == 1 is not)."""
    return type(a) is type(b) and a == b


# One packer per part: its columns' CRCs as big-endian 32-bit words.
_PACKS = {part: struct.Struct(f">{len(c)}I").pack for part, c in OWNED.items()}


def digests(part: str, values: Mapping[str, Any] | None) -> str | None:
    """The compact record of what was written to one part: one digest per owned column."""
    if values is None:
        return None
    columns, get = OWNED[part], values.get
    # Text (most values) inline: a call per value was most of a create's bookkeeping.
    crcs = [zlib.crc32(v.encode(), 1) if type(v) is str else _crc(v) for v in map(get, columns)]
    return _PACKS[part](*crcs).hex()


def split_digests(part: str, text: str | None) -> dict[str, str] | None:
    """Column -> digest; None when unknown (never written, or an older column list)."""
    columns = OWNED[part]
    if not text or len(text) != DIGEST_CHARS * len(columns):
        return None
    return {c: text[i * DIGEST_CHARS : (i + 1) * DIGEST_CHARS] for i, c in enumerate(columns)}


def plain(value: Any) -> Any:
    """A value as JSON holds it (dates as ISO text)."""
    return value.isoformat() if isinstance(value, date) else value


def find_conflicts(
    student_id: int,
    part: str,
    sis: Mapping[str, Any],
    legacy: Mapping[str, Any],
    last_written: Mapping[str, str],
    reported: Mapping[str, str],
    policy: str,
    *,
    table: str | None = None,
) -> tuple[list[Conflict], dict[str, Any]]:
    """Registrar edits the legacy value disagrees with, and the SIS values to keep.

    ``last_written``: column -> digest of what the sync last wrote; ``reported``: column ->
    digest of the value pair an open conflict was already reported with; ``table``: the
    part's SIS table (default: as declared).
    """
    conflicts: list[Conflict] = []
    kept: dict[str, Any] = {}
    for column in OWNED[part]:
        sis_value, legacy_value = sis.get(column), legacy.get(column)
        if same(sis_value, legacy_value):
            continue  # nothing to write (the common case of a forced rewrite)
        sis_digest, legacy_digest = digest(sis_value), digest(legacy_value)
        if sis_digest == last_written[column] or sis_digest == legacy_digest:
            continue  # the sync's own value, or the registrar and the legacy table agree
        pair = sis_digest + legacy_digest
        conflicts.append(
            Conflict(
                student_id=student_id,
                table=table or SIS_TABLE_NAMES[part],
                column=column,
                sis_value=plain(sis_value),
                legacy_value=plain(legacy_value),
                digest=pair,
                reported=policy == "legacy-wins" or reported.get(column) != pair,
                resolution="legacy-wins" if policy == "legacy-wins" else "kept-sis",
            )
        )
        if policy != "legacy-wins":
            kept[column] = sis_value
    return conflicts, kept


def diff(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, columns: Iterable[str]
) -> dict[str, list[Any]]:
    """``{column: [old, new]}`` of the columns whose value changed (None: no row)."""
    out: dict[str, list[Any]] = {}
    for column in columns:
        before = None if old is None else old.get(column)
        after = None if new is None else new.get(column)
        if (
            old is None
            or new is None
            or not (same(before, after) or digest(before) == digest(after))
        ):
            out[column] = [plain(before), plain(after)]
    return out


def written_values(p: PlannedStudent, part: str) -> Mapping[str, Any] | None:
    """What an update or create writes to one part: the legacy values, kept SIS ones on top.

    Read-only: without kept values it is the record's own mapping (no copy per student)."""
    record = p.record
    if record is None:
        return None
    if part == "contact":
        if record.contact is None:
            return None
        base: Mapping[str, Any] = vars(record.contact)
    else:
        base = getattr(record, part)
    kept = p.kept.get(part)
    return {**base, **kept} if kept else base


# The order of a change-log row's values in ``BatchChanges.entries``.
CHANGE_LOG_COLUMNS = ("run_id", "changed_at", "student_id", "table_name", "action", "changes")


@dataclass
class BatchChanges:
    """The rows one batch adds to the sync's own bookkeeping."""

    # student_sync_change_log rows, positional (CHANGE_LOG_COLUMNS): ~3 a created student,
    # millions on a first load, so no dict a row
    entries: list[tuple[Any, ...]] = field(default_factory=list)
    written: list[dict[str, Any]] = field(default_factory=list)  # student_sync_written
    # Digests of the students this batch created: rows believed new (inserted, not merged).
    written_new: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)  # student_sync_conflict
    checked: list[int] = field(default_factory=list)  # students whose conflicts were checked


def batch_changes(
    batch: PlanBatch,
    *,
    run_id: str,
    now: datetime,
    today: date,
    contact_table: str = SIS_TABLE_NAMES["contact"],
) -> BatchChanges:
    """Change-log rows, last-written digests and conflicts of a planned batch (pure).

    ``contact_table``: the SIS's contact table (``SisSchema.contact.name``)."""
    out = BatchChanges()
    tables = sis_table_names(contact_table)

    def log(student_id: int, table: str, action: str, changes: dict[str, list[Any]] | str) -> None:
        """One change-log row; ``changes`` as a dict, or as its JSON text already."""
        text = changes if type(changes) is str else _to_json(changes)
        out.entries.append((run_id, now, student_id, table, action, text))

    for p in batch.students:
        if p.row_class == "create" and p.record is not None:
            out.written_new.append(_log_create(p, tables, log))
        elif p.row_class == "update" and p.record is not None and p.state is not None:
            _log_update(p, tables, log)
            written = _written_after_update(p)
            last = p.before.get("written")
            if last is None or any(written[part] != last.get(part) for part in OWNED):
                out.written.append(written)  # unchanged digests (a forced rewrite): no write
            if p.before.get("written") is not None:
                out.checked.append(p.student_id)
            out.conflicts += [_conflict_row(c, run_id, now) for c in p.conflicts]
        elif p.row_class == "delete" and p.state is not None and not p.state.is_deleted:
            _log_soft_delete(p.state, "delete", now, log)
        for action in p.sponsorships:
            name = "open" if action.action == "create" else action.action
            log(p.student_id, SPONSORSHIPS, name, _sponsorship_change(action, today))
    for state in batch.vanished:
        _log_soft_delete(state, "vanish", now, log)
    return out


def _created(values: Mapping[str, Any] | None, columns: Iterable[str]) -> dict[str, list[Any]]:
    """A new row's columns that hold something (blank ones would only add noise)."""
    if values is None:
        return {}
    get = values.get
    return {
        c: [None, v.isoformat() if isinstance(v, date) else v]
        for c in columns
        if (v := get(c)) is not None and v != ""
    }


def _log_create(p: PlannedStudent, tables: Mapping[str, str], log: Any) -> dict[str, Any]:
    """Log a new student's rows; returns its last-written digests (``student_sync_written``).

    One pass a part builds both the change's JSON and the digests (``_created_part``); a
    value of another type, or a registrar edit kept, takes the general path."""
    assert p.record is not None
    contact = p.contact_action == "create"
    parts = (
        ("person", p.record.person),
        ("profile", p.record.profile),
        *((("contact", written_values(p, "contact")),) if contact else ()),
    )
    written: dict[str, Any] = {"student_id": p.student_id}
    written.update(dict.fromkeys(OWNED))  # the parts in order; no contact: None
    for part, values in parts:
        fast = None if p.kept or values is None else _created_part(values, _CREATE_HEADS[part])
        if fast is None:  # the general path: the same text and digests
            log(p.student_id, tables[part], "create", _created(values, _CREATED_COLUMNS[part]))
            written[part] = digests(part, written_values(p, part))
        else:
            log(p.student_id, tables[part], "create", fast[0])
            written[part] = _PACKS[part](*fast[1]).hex()
    return written


def _create_heads(columns: Sequence[str], digested: Sequence[str]) -> tuple[Any, ...]:
    """Per column of a created row's change: (column, its JSON head, whether digested)."""
    return tuple((c, f"{_encode_text(c)}:[null,", c in digested) for c in columns)


_encode_text = json.encoder.encode_basestring  # what ``_to_json`` makes of a str
# The columns a created row's change lists: the owned ones, and the profile's student id.
_CREATED_COLUMNS = {**OWNED, "profile": ("student_id", *OWNED["profile"])}
_CREATE_HEADS = {part: _create_heads(c, OWNED[part]) for part, c in _CREATED_COLUMNS.items()}


def _created_part(
    values: Mapping[str, Any], heads: tuple[Any, ...]
) -> tuple[str, list[int]] | None:
    """``_to_json(_created(values, columns))`` and the CRCs ``digests`` packs, in one pass,
    byte for byte; None when a value is of a type other than text, None, bool, int, date
    (the general path writes those). Text and None, most values, are tested first."""
    get = values.get
    items: list[str] = []
    crcs: list[int] = []
    for column, head, digested in heads:
        v = get(column)
        kind = type(v)
        if kind is str:
            if v:
                items.append(f"{head}{_encode_text(v)}]")
            if digested:
                crcs.append(zlib.crc32(v.encode(), 1))
            continue
        if v is None:
            text = None
        elif kind is bool:
            text = "true" if v else "false"
        elif kind is int:
            text = int.__repr__(v)
        elif kind is date or kind is datetime:
            text = _encode_text(v.isoformat())
        else:
            return None
        if text is not None:
            items.append(f"{head}{text}]")
        if digested:
            crcs.append(_crc(v))
    return "{" + ",".join(items) + "}", crcs


def _log_update(p: PlannedStudent, tables: Mapping[str, str], log: Any) -> None:
    for part in ("person", "profile"):
        changes = diff(p.before.get(part), written_values(p, part), OWNED[part])
        if p.restore:
            changes = {**changes, "is_deleted": [True, False]}
        if changes:
            log(p.student_id, tables[part], "restore" if p.restore else "update", changes)
    if p.contact_action in ("create", "update", "delete"):
        old = p.before.get("contact") if p.contact_action != "create" else None
        new = written_values(p, "contact") if p.contact_action != "delete" else None
        changes = diff(old, new, OWNED["contact"])
        if changes:
            log(p.student_id, tables["contact"], p.contact_action, changes)


def _log_soft_delete(state: StateRow, action: str, now: datetime, log: Any) -> None:
    for part in ("person", "profile"):
        log(
            state.student_id,
            SIS_TABLE_NAMES[part],
            action,
            {"is_deleted": [False, True], "deleted_at": [None, now.isoformat()]},
        )


def _sponsorship_change(action: Any, today: date) -> dict[str, list[Any]]:
    """What ``apply`` does to the period (see ``apply._end_sponsorships``)."""
    day = today.isoformat()
    if action.action == "create":
        return {"sponsor": [None, action.code], "start_date": [None, day]}
    if action.action == "end":
        if action.start_date is not None and action.start_date >= today:
            # Not started yet: a zero-length period is soft-deleted, its end the next day.
            end = (action.start_date + timedelta(days=1)).isoformat()
            return {
                "sponsor": [action.code, None],
                "end_date": [None, end],
                "is_deleted": [False, True],
            }
        return {"sponsor": [action.code, None], "end_date": [None, day]}
    # reopen: the period opened today and ended (soft-deleted, ending tomorrow) earlier today
    tomorrow = (today + timedelta(days=1)).isoformat()
    return {
        "sponsor": [None, action.code],
        "end_date": [tomorrow, None],
        "is_deleted": [True, False],
    }


def _written_after_update(p: PlannedStudent) -> dict[str, Any]:
    """New digests: the written values, but a kept (registrar) column keeps the sync's own
    last digest, so it is still recognized as a registrar edit next time."""
    last = p.before.get("written") or {}
    state, record = p.state, p.record
    if (
        last
        and state
        and record
        and state.fingerprint == record.fingerprint
        and not p.conflicts
        and not p.before.get("open")
    ):
        # Same legacy values as at the last write, and no registrar edit kept then or now:
        # the digests are those of the values written (a forced rewrite). A column kept
        # earlier holds an older digest and takes the full path below.
        return {"student_id": p.student_id, **last}
    row: dict[str, Any] = {"student_id": p.student_id}
    for part in OWNED:
        if part == "contact" and p.contact_action is None:
            # Not written: what the sync knew stays; else the row as it is (it equals the
            # legacy contact, or there is none).
            row[part] = last.get(part) or digests(part, p.before.get("contact"))
            continue
        if part == "contact" and p.contact_action == "delete":
            row[part] = None
            continue
        values = written_values(p, part)
        old = split_digests(part, last.get(part))
        kept = p.kept.get(part, {})
        if values is None:
            row[part] = None
        elif old is None or not kept:
            row[part] = digests(part, values)
        else:
            row[part] = "".join(old[c] if c in kept else digest(values.get(c)) for c in OWNED[part])
    return row


def _conflict_row(c: Conflict, run_id: str, now: datetime) -> dict[str, Any]:
    return {
        "student_id": c.student_id,
        "table_name": c.table,
        "column_name": c.column,
        "sis_value": json.dumps(c.sis_value, ensure_ascii=False),
        "legacy_value": json.dumps(c.legacy_value, ensure_ascii=False),
        "reported_digest": c.digest,
        "resolution": c.resolution,
        "first_run_id": run_id,
        "detected_at": now,
        "last_run_id": run_id,
        "resolved_at": now if c.resolution == "legacy-wins" else None,
    }


def reported_conflicts(batch: PlanBatch) -> list[Conflict]:
    """The conflicts a run lists in its report: those first seen with these values."""
    return [c for p in batch.students for c in p.conflicts if c.reported]


def conflict_as_dict(c: Conflict) -> dict[str, Any]:
    """A conflict as the JSON report lists it."""
    return {
        "student_id": c.student_id,
        "table": c.table,
        "column": c.column,
        "sis_value": c.sis_value,
        "legacy_value": c.legacy_value,
        "resolution": c.resolution,
    }


def conflicts_markdown(conflicts: Sequence[Conflict], limit: int = 50) -> str:
    """A Markdown table of a run's conflicts (Dagster metadata; the UI renders it)."""
    if not conflicts:
        return "No registrar edits conflicted with the legacy values in this run."

    def cell(value: Any) -> str:
        return str("" if value is None else value).replace("|", "\\|").replace("\n", " ")

    lines = [
        "| student | table | column | SIS value | legacy value | resolution |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {c.student_id} | {c.table} | {c.column} | {cell(c.sis_value)} | "
        f"{cell(c.legacy_value)} | {c.resolution} |"
        for c in conflicts[:limit]
    ]
    if len(conflicts) > limit:
        lines.append(f"\n{len(conflicts) - limit} more in the JSON report.")
    return "\n".join(lines)


# --------------------------------------------------------------------------- statements
def _values_by_id(
    conn: Connection, table: Any, columns: Sequence[str], ids: Iterable[int | None]
) -> dict[int, dict[str, Any]]:
    wanted = sorted({i for i in ids if i is not None})
    found: dict[int, dict[str, Any]] = {}
    for part in target.chunked(wanted):
        stmt = select(table.c.id, *(table.c[c] for c in columns)).where(
            target.member_of(conn, table.c.id, part)
        )
        for row in conn.execute(stmt).mappings():
            found[row["id"]] = {c: row[c] for c in columns}
    return found


def _by_student(conn: Connection, table: Any, student_ids: Sequence[int], *where: Any) -> Any:
    for part in target.chunked(sorted(set(student_ids))):
        yield from conn.execute(
            select(table).where(target.member_of(conn, table.c.student_id, part), *where)
        ).mappings()


def _last_written(conn: Connection, student_ids: Sequence[int]) -> dict[int, dict[str, str | None]]:
    """Student -> part -> the digests of what the sync last wrote there."""
    w = schema.last_written
    written: dict[int, dict[str, str | None]] = {}
    for part_ids in target.chunked(sorted(set(student_ids))):
        for sid, person, profile, contact in conn.execute(
            select(w.c.student_id, w.c.person, w.c.profile, w.c.contact).where(
                target.member_of(conn, w.c.student_id, part_ids)
            )
        ):
            written[sid] = {"person": person, "profile": profile, "contact": contact}
    return written


def _open_conflicts(
    conn: Connection, student_ids: Sequence[int]
) -> dict[int, dict[str, dict[str, str]]]:
    """Open conflicts: student -> table -> column -> the digest of the value pair reported."""
    c = schema.conflict
    reported: dict[int, dict[str, dict[str, str]]] = {}
    for r in _by_student(conn, c, student_ids, c.c.resolved_at.is_(None)):
        by_table = reported.setdefault(r["student_id"], {})
        by_table.setdefault(r["table_name"], {})[r["column_name"]] = r["reported_digest"]
    return reported


def _before_update(
    state: StateRow,
    persons: Mapping[int, dict[str, Any]],
    profiles: Mapping[int, dict[str, Any]],
    contacts: Mapping[int, tuple[int, ContactValues]],
    written: dict[str, str | None] | None,
    reported: Mapping[str, Mapping[str, str]],
) -> dict[str, Any]:
    """A student's SIS values before the update (``PlannedStudent.before``), by part, with
    the digests last written (``written``) and the open conflicts ("table.column" -> pair)."""
    # The contact row is the sync's only while it still belongs to this person.
    owner, contact = contacts.get(state.contact_id or -1, (None, None))
    if owner is None or owner != state.person_id:
        contact = None
    return {
        "person": persons.get(state.person_id or -1),
        "profile": profiles.get(state.profile_id or -1),
        "contact": dict(vars(contact)) if contact is not None else None,
        "written": written,
        "open": {
            f"{table}.{column}": pair
            for table, columns in reported.items()
            for column, pair in columns.items()
        }
        or None,
    }


def _apply_policy(
    p: PlannedStudent,
    written: Mapping[str, str | None],
    tables: Mapping[str, str],
    reported: Mapping[str, Mapping[str, str]],
    policy: str,
) -> None:
    """Compare each part's SIS values (``p.before``) with what the sync last wrote: record the
    registrar edits the legacy values disagree with (``p.conflicts``) and the SIS values to
    keep (``p.kept``); drop the contact write when only kept values differed."""
    for part in OWNED:
        sis = p.before[part]
        if part == "contact" and p.contact_action != "update":
            continue
        legacy = written_values(p, part)
        if sis is None or legacy is None:
            continue
        if all(same(sis.get(c), legacy.get(c)) for c in OWNED[part]):
            continue  # the SIS holds the legacy values: no conflict possible (fast path)
        last_part = split_digests(part, written[part])
        if last_part is None:
            continue
        found, kept = find_conflicts(
            p.student_id,
            part,
            sis,
            legacy,
            last_part,
            reported.get(tables[part], {}),
            policy,
            table=tables[part],
        )
        p.conflicts += found
        if kept:
            p.kept[part] = kept
    if "contact" in p.kept and written_values(p, "contact") == p.before["contact"]:
        p.contact_action = None  # only the registrar's edits differed: nothing to write


def check_conflicts(
    conn: Connection,
    planned: Sequence[PlannedStudent],
    policy: str,
    contacts: Mapping[int, tuple[int, ContactValues]] | None = None,
    contact_table: Table = schema.emergency_contact,
) -> None:
    """For the page's updates: read the SIS rows as they are, find registrar edits, apply the
    policy (``p.kept``), and keep the old values for the change log (``p.before``).

    Set-based: one query per table per page, and only for rows about to be updated.
    ``contacts``: the current contacts by id, (person id, values), when the caller has read
    them already (``target.load_contacts``); ``contact_table``: the SIS's contact table.
    """
    updates = [p for p in planned if p.row_class == "update" and p.state and p.record]
    if not updates:
        return
    states = [p.state for p in updates if p.state]
    persons = _values_by_id(conn, schema.person, OWNED["person"], (s.person_id for s in states))
    profiles = _values_by_id(
        conn, schema.student_profile, OWNED["profile"], (s.profile_id for s in states)
    )
    if contacts is None:
        contacts = target.load_contacts(conn, (s.contact_id for s in states), contact_table)
    ids = [p.student_id for p in updates]
    written, reported = _last_written(conn, ids), _open_conflicts(conn, ids)
    tables = sis_table_names(contact_table.name)
    for p in updates:
        assert p.state is not None
        last, open_ones = written.get(p.student_id), reported.get(p.student_id, {})
        p.before = _before_update(p.state, persons, profiles, contacts, last, open_ones)
        if last is None:
            continue  # synced before the change log existed: nothing to compare with
        _apply_policy(p, last, tables, open_ones, policy)


def close_checked(conn: Connection, student_ids: Sequence[int], run_id: str, now: datetime) -> None:
    """Close the open conflicts of students just checked; those still there are re-upserted
    right after (in the same transaction), the rest were settled (values agree again)."""
    c = schema.conflict
    for part in target.chunked(sorted(set(student_ids))):
        conn.execute(
            update(c)
            .where(target.member_of(conn, c.c.student_id, part), c.c.resolved_at.is_(None))
            .values(resolved_at=now, resolution="agreed", last_run_id=run_id)
        )


def _aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes (stored as UTC): compare them as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def open_conflict_count(conn: Connection) -> int:
    c = schema.conflict
    stmt = select(func.count()).select_from(c).where(c.c.resolved_at.is_(None))
    return int(conn.execute(stmt).scalar_one())


def finish_run(conn: Connection, *, now: datetime, keep_days: int, prune: bool) -> int:
    """Prune change-log rows (and settled conflicts) older than ``keep_days`` (0 keeps all);
    return the number of open conflicts. An index range scan: nothing to do costs nothing."""
    if prune and keep_days > 0:
        cutoff = now - timedelta(days=keep_days)
        log, c = schema.change_log, schema.conflict
        # min() is one index probe whatever the table's statistics; a DELETE with a range
        # predicate on a freshly loaded, unanalyzed table may be planned as a full scan.
        oldest = conn.execute(select(func.min(log.c.changed_at))).scalar()
        if oldest is not None and _aware(oldest) < cutoff:
            conn.execute(delete(log).where(log.c.changed_at < cutoff))
        conn.execute(delete(c).where(and_(c.c.resolved_at.is_not(None), c.c.resolved_at < cutoff)))
    return open_conflict_count(conn)
