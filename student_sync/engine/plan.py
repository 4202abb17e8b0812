"""The diff: every legacy row in exactly one class, with the child actions it implies.

Pure decisions (``classify``, ``plan_contact``, ``plan_sponsorships``) are kept apart from
the ``Planner``, which only gathers what they need from the target, a page at a time.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, Table

from student_sync.engine import changelog, schema, target
from student_sync.engine.model import (
    ContactValues,
    PlanBatch,
    PlannedStudent,
    Rejection,
    SponsorshipAction,
    StateRow,
    StudentRecord,
)
from student_sync.engine.options import SyncOptions
from student_sync.engine.sis import FitLimits, SisSchema, declared_limits
from student_sync.engine.transform import parse_student_id, rejection_ids
from student_sync.engine.workers import InlineTransformer, Pending, Transformer


def is_live(state: StateRow | None) -> bool:
    """The target holds a person for this student (deleted or not)."""
    return state is not None and state.person_id is not None


def gate(mode: str, state: StateRow | None) -> tuple[str, str] | None:
    """Mode gates: create-only refuses existing students, update-only unknown ones; the
    rejection's (reason, detail), or None (the planner adds the row's ids only to a row
    refused)."""
    if mode == "create-only" and is_live(state):
        return "EXISTS", "student already exists (mode create-only)"
    if mode == "update-only" and not is_live(state):
        return "NOT_FOUND", "student not in the target (mode update-only)"
    return None


def classify(record: StudentRecord, state: StateRow | None, *, force_update: bool) -> str:
    """create / update / unchanged / delete for a normalized row.

    Unchanged needs BOTH the same IPK and the same fingerprint: the IPK never changes on
    edit, so it alone would miss every rename. A missing IPK equals a missing IPK (None ==
    None), so rows without IPKs are decided by the fingerprint alone; an IPK that appears
    makes the row an update, which stores it.
    """
    if not is_live(state):
        return "unchanged" if record.deleted else "create"
    assert state is not None
    if record.deleted:
        if state.is_deleted and state.fingerprint == record.fingerprint:
            return "unchanged"
        return "delete"
    if force_update or state.is_deleted:
        return "update"
    if state.legacy_ipk == record.ipk and state.fingerprint == record.fingerprint:
        return "unchanged"
    return "update"


def plan_contact(
    desired: ContactValues | None, current: ContactValues | None, has_row: bool
) -> str | None:
    """The sync owns the primary contact: create, update, delete when blank, else nothing."""
    if desired is None:
        return "delete" if has_row else None
    if not has_row:
        return "create"
    return "update" if desired != current else None


def plan_sponsorships(
    desired: tuple[str, ...],
    open_rows: Mapping[str, int],
    started_today: Mapping[str, int],
    sponsor_ids: Mapping[str, int],
    not_started: Mapping[str, date] | None = None,
) -> list[SponsorshipAction]:
    """New code opens, vanished code ends, changed code does both; never deletes.

    ``not_started``: open periods that start on the run's day or later (code -> start date);
    their end action carries the start date (apply soft-deletes a zero-length period).
    """
    actions: list[SponsorshipAction] = []
    for code in sorted(set(open_rows) - set(desired)):
        actions.append(
            SponsorshipAction(
                "end",
                code,
                sponsor_ids.get(code, 0),
                open_rows[code],
                start_date=(not_started or {}).get(code),
            )
        )
    for code in desired:
        if code in open_rows or code not in sponsor_ids:
            continue
        if code in started_today:  # ended and re-added the same day: reopen that period
            actions.append(
                SponsorshipAction("reopen", code, sponsor_ids[code], started_today[code])
            )
        else:
            actions.append(SponsorshipAction("create", code, sponsor_ids[code]))
    return actions


_PLANNING_KEYS = ("id", "ipk", "_key", "_digest")


@dataclass
class PreparedPage:
    """A page between ``Planner.prepare`` and ``Planner.finish``."""

    rows: list[dict[str, Any]]  # only the columns ``finish`` reads (``_PLANNING_KEYS``)
    states: dict[str, StateRow]
    screened: list[PlannedStudent | Rejection | None]  # None: decided after transform
    transformed: Pending  # the transform results of the None rows, in order


@dataclass
class Planner:
    """Plans pages of legacy rows against the target; keeps the run's cross-batch facts."""

    options: SyncOptions
    mapping_version: str
    sponsor_ids: dict[str, int]
    today: date
    duplicate_keys: set[str] = field(default_factory=set)
    # School emails claimed or released earlier in this run: lets a dry run (and a plan
    # persisted before it is applied) see what the earlier batches would have written.
    email_claims: dict[str, str | None] = field(default_factory=dict)
    # True when each batch is committed before the next page is finished: the database then
    # answers for the rows planned before, and the claims need not outlive the rows carried
    # to the next batch (keeps memory bounded by the page and the batch, not the run).
    claims_committed_per_batch: bool = False
    batch_number: int = 0
    transformer: Transformer | None = None
    # The SIS as reflected at the run's start: its contact table and the limits values are
    # fitted to. None: the declared (Django-shaped) tables, as on a database `init` created.
    sis: SisSchema | None = None

    @property
    def limits(self) -> FitLimits:
        return self.sis.limits() if self.sis is not None else declared_limits()

    @property
    def contact_table(self) -> Table:
        return self.sis.contact_table if self.sis is not None else schema.emergency_contact

    # True when the sync state held no row when the run started (a first load): the only
    # states a page can then have are those of rows this run read before, and pages come in
    # key order, so only keys that tie with the previous page's last key need looking up
    # (an index probe per row saved: ~10% of a 1,000,000-row first load).
    state_empty_at_start: bool = False
    _last_key_read: tuple[int, str] | None = field(default=None, init=False, repr=False)
    # Planned rows of the pages finished so far that do not fill a batch yet: a batch is cut
    # from the stream of planned rows, not from one page, so a batch larger than a page
    # (``--batch-size`` above ``page_size``) does not make the pages read and normalized
    # ahead of it as large as itself.
    _carry: list[PlannedStudent | Rejection] = field(default_factory=list, init=False, repr=False)

    def _keys_to_look_up(self, rows: list[dict[str, Any]]) -> list[str]:
        keys = [r["_key"] for r in rows if r["_key"] is not None]
        if not self.state_empty_at_start:
            return keys
        last, self._last_key_read = (
            self._last_key_read,
            max((key_order(k) for k in keys), default=self._last_key_read),
        )
        if last is None:
            return []
        return [k for k in keys if key_order(k) <= last]

    def _transformer(self) -> Transformer:
        if self.transformer is None:
            self.transformer = InlineTransformer(self.sponsor_ids, self.mapping_version)
        return self.transformer

    def prepare(self, conn: Connection, rows: list[dict[str, Any]]) -> PreparedPage:
        """Read the page's sync state and hand the rows that need it to the transformer.

        Rows are independent of one another, so a page may be prepared before the pages
        ahead of it are applied: ``run._plan`` prepares page k+1 while page k is written.
        """
        states = target.load_states(conn, self._keys_to_look_up(rows))
        screened = [self._screen(row, states.get(row["_key"])) for row in rows]
        needed = [row for row, early in zip(rows, screened, strict=True) if early is None]
        pending = self._transformer().submit(needed, self.limits)  # fitted there too
        # The transformer has what it needs of the legacy columns: the page waiting for its
        # turn keeps only the few ``finish`` reads, not every column of every row.
        slim = [{k: row.get(k) for k in _PLANNING_KEYS} for row in rows]
        return PreparedPage(slim, states, screened, pending)

    def finish(self, conn: Connection, page: PreparedPage) -> Iterator[PlanBatch]:
        """Classify the transformed rows, plan their children and cut the full batches; the
        rows that do not fill one wait for the next page (or ``flush``)."""
        if self.claims_committed_per_batch and not self._carry:
            # Every row planned so far is committed: the database answers for their emails.
            self.email_claims.clear()
        records = iter(page.transformed())  # already fitted to ``self.limits``
        planned: list[PlannedStudent | Rejection] = [
            early
            if early is not None
            else self._classify(row, page.states.get(row["_key"]), next(records))
            for row, early in zip(page.rows, page.screened, strict=True)
        ]
        self._plan_children(conn, [p for p in planned if isinstance(p, PlannedStudent)])
        planned = [
            (p.rejection or rejected_email(p))
            if isinstance(p, PlannedStudent) and p.row_class == "reject"
            else p
            for p in planned
        ]
        if self._carry:
            planned = self._carry + planned
        size = self.options.batch_size
        whole = len(planned) - len(planned) % size
        self._carry = planned[whole:]
        for start in range(0, whole, size):
            yield self._batch(planned[start : start + size])

    def flush(self) -> Iterator[PlanBatch]:
        """The last batch: the planned rows no full batch took, once the pages are done."""
        if self._carry:
            carried, self._carry = self._carry, []
            yield self._batch(carried)

    def _batch(self, items: list[PlannedStudent | Rejection]) -> PlanBatch:
        self.batch_number += 1
        batch = PlanBatch(number=self.batch_number)
        for item in items:
            if isinstance(item, Rejection):
                batch.rejections.append(item)
            else:
                batch.students.append(item)
        return batch

    def _screen(
        self, row: dict[str, Any], state: StateRow | None
    ) -> PlannedStudent | Rejection | None:
        """What can be decided without transforming the row; None when it must be."""
        student_id = parse_student_id(row.get("id"))
        if isinstance(student_id, Rejection):
            return Rejection(*_raw_ids(row), student_id.reason, student_id.detail)
        if row["_key"] in self.duplicate_keys:
            return Rejection(
                *_raw_ids(row),
                "DUPLICATE_ID",
                f"student id {student_id} appears on more than one legacy row",
            )
        digest = row.get("_digest")
        if (
            not self.options.force_update
            and self.options.mode != "create-only"
            and is_live(state)
            and digest is not None
            and state.raw_digest == digest
            and state.mapping_version == self.mapping_version
        ):
            # Same raw row, same rules: nothing to transform, nothing to write.
            return PlannedStudent("unchanged", student_id, row["_key"], digest, state=state)
        return None

    def _classify(
        self, row: dict[str, Any], state: StateRow | None, record: StudentRecord | Rejection
    ) -> PlannedStudent | Rejection:
        if isinstance(record, Rejection):
            return record  # a broken row is broken whatever the mode
        if not (record.deleted and not is_live(state)):
            refused = gate(self.options.mode, state)
            if refused:
                return Rejection(*_raw_ids(row), *refused)
        digest = row.get("_digest")
        row_class = classify(record, state, force_update=self.options.force_update)
        planned = PlannedStudent(
            row_class,
            record.student_id,
            row["_key"],
            digest,
            record=record,
            state=state,
            restore=bool(state and state.is_deleted and not record.deleted),
        )
        if row_class == "unchanged":
            planned.state_only = state is not None and (
                state.raw_digest != digest or state.mapping_version != self.mapping_version
            )
        return planned

    def _plan_children(self, conn: Connection, planned: list[PlannedStudent]) -> None:
        writes = [p for p in planned if p.row_class in ("create", "update")]
        if not writes:
            return
        owners = target.school_email_owners(
            conn, (p.record.person["school_email"] for p in writes if p.record)
        )
        self._reject_ids_taken_in_sis(conn, [p for p in writes if p.row_class == "create"])
        writes = [p for p in writes if p.row_class != "reject"]
        updates = [p for p in writes if p.row_class == "update" and p.state is not None]
        contacts = target.load_contacts(
            conn, (p.state.contact_id for p in updates if p.state), self.contact_table
        )
        sponsorships = target.load_sponsorships(
            conn, (p.state.profile_id for p in updates if p.state), self.today
        )
        for p in writes:
            assert p.record is not None
            email = p.record.person["school_email"]
            me = f"s{p.student_id}"
            if email:
                holder = self.email_claims.get(email, owners.get(email))
                if holder is not None and holder != me:
                    p.row_class = "reject"
                    continue
                self.email_claims[email] = me
            state = p.state
            if p.row_class == "create" or state is None:
                p.contact_action = "create" if p.record.contact else None
                codes = p.record.sponsor_codes  # none for most: nothing to open
                p.sponsorships = plan_sponsorships(codes, {}, {}, self.sponsor_ids) if codes else []
                continue
            # The sync's contact is the row its state names, if that row is still there and
            # still this person's (the registrar may have deleted it; a changed contact table
            # holds other rows under old ids): otherwise a new one is created.
            owner, current = contacts.get(state.contact_id or -1, (None, None))
            has_contact = owner is not None and owner == state.person_id
            p.contact_action = plan_contact(
                p.record.contact, current if has_contact else None, has_contact
            )
            profile = state.profile_id or -1
            p.sponsorships = plan_sponsorships(
                p.record.sponsor_codes,
                sponsorships.open_rows.get(profile, {}),
                sponsorships.started_today.get(profile, {}),
                self.sponsor_ids,
                sponsorships.not_started.get(profile, {}),
            )
        changelog.check_conflicts(
            conn, updates, self.options.on_conflict, contacts, self.contact_table
        )
        self._release_old_emails(updates)

    def _reject_ids_taken_in_sis(self, conn: Connection, creates: list[PlannedStudent]) -> None:
        """A new student whose id a profile the sync did not make already holds (the
        registrar created it in the SIS) is rejected, not inserted over it: the unique
        student_id would fail the whole batch."""
        taken = target.profile_student_ids(conn, [p.student_id for p in creates])
        for p in creates:
            if p.student_id in taken and p.record is not None:
                p.row_class = "reject"
                p.rejection = Rejection(
                    p.record.legacy_id,
                    "" if p.record.ipk is None else str(p.record.ipk),
                    "EXISTS_IN_SIS",
                    f"student id {p.student_id} belongs to a profile made in the SIS, not by "
                    "the sync",
                )

    def _release_old_emails(self, updates: list[PlannedStudent]) -> None:
        """An update that changes a school email frees the old one for later batches.

        The old email is the person's as ``changelog.check_conflicts`` just read it
        (``p.before``): no second read of the same rows."""
        for p in updates:
            person = p.before.get("person")
            if p.row_class != "update" or person is None or p.record is None:
                continue
            old, new = person["school_email"], p.record.person["school_email"]
            if old and old != new and self.email_claims.get(old) in (None, f"s{p.student_id}"):
                self.email_claims[old] = None

    def vanished_batches(self, vanished: list[StateRow]) -> Iterator[PlanBatch]:
        size = self.options.batch_size
        for start in range(0, len(vanished), size):
            self.batch_number += 1
            yield PlanBatch(number=self.batch_number, vanished=vanished[start : start + size])


def _raw_ids(row: dict[str, Any]) -> tuple[str, str]:
    return rejection_ids(row.get("id"), row.get("ipk"))


def key_order(key: str) -> tuple[int, str]:
    """A legacy key's place in the keyset order (``extract.LegacySource.order_columns``):
    length, then the text in code point order, which is the byte order the database sorts in.
    """
    return len(key), key


def rejected_email(p: PlannedStudent) -> Rejection:
    assert p.record is not None
    return Rejection(
        p.record.legacy_id,
        "" if p.record.ipk is None else str(p.record.ipk),
        "DUPLICATE_SCHOOL_EMAIL",
        f"school email {p.record.person['school_email']} is used by another person",
    )
