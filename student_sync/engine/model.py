"""The values that flow between stages: records, rejections, planned actions, counters."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime
from typing import Any, Literal

RowClass = Literal["create", "update", "unchanged", "delete", "reject"]
ROW_CLASSES: tuple[str, ...] = ("create", "update", "unchanged", "delete", "reject")


@dataclass(frozen=True)
class ContactValues:
    """The primary emergency contact as the SIS stores it."""

    name: str
    relationship: str
    primary_phone: str
    secondary_phone: str
    email: str
    address: str


@dataclass(frozen=True)
class StudentRecord:
    """One legacy row normalized to target-shaped values (the output of transform)."""

    student_id: int
    legacy_id: str
    legacy_key: str
    ipk: int | None  # None: the legacy row has no IPK (yet)
    deleted: bool
    person: dict[str, Any]
    profile: dict[str, Any]
    contact: ContactValues | None
    sponsor_codes: tuple[str, ...]
    warnings: tuple[tuple[str, str, str], ...]  # (code, field, detail)
    fingerprint: str


@dataclass(frozen=True)
class Rejection:
    legacy_id: str
    ipk: str
    reason: str
    detail: str


@dataclass(frozen=True)
class StateRow:
    """What the sync remembers of one student (student_sync_state)."""

    student_id: int
    legacy_key: str
    legacy_ipk: int | None
    raw_digest: str | None
    fingerprint: str
    mapping_version: str
    person_id: int | None
    profile_id: int | None
    contact_id: int | None
    is_deleted: bool


@dataclass
class SponsorshipAction:
    action: Literal["create", "end", "reopen"]
    code: str
    sponsor_id: int
    row_id: int | None = None  # existing sponsorship row for end/reopen
    # For "end": the start date of a period that starts on the run's day or later. Ending it
    # there would make end_date <= start_date, which Django's clean() forbids: apply
    # soft-deletes such a zero-length period instead (see apply._end_sponsorships).
    start_date: date | None = None


@dataclass(frozen=True)
class Conflict:
    """A column the registrar changed in the SIS that the legacy value disagrees with."""

    student_id: int
    table: str  # SIS table name
    column: str
    sis_value: Any
    legacy_value: Any
    digest: str  # of the (SIS value, legacy value) pair: reported once per pair
    reported: bool  # first seen with these values (listed in this run's report)
    resolution: str  # "kept-sis" (the SIS value stays) or "legacy-wins" (overwritten)


@dataclass
class PlannedStudent:
    """One row's place in the plan, with the child actions it implies."""

    row_class: RowClass
    student_id: int
    legacy_key: str
    raw_digest: str | None
    record: StudentRecord | None = None
    state: StateRow | None = None
    restore: bool = False
    contact_action: Literal["create", "update", "delete"] | None = None
    sponsorships: list[SponsorshipAction] = field(default_factory=list)
    # True when only the sync state needs refreshing (same values, new raw digest).
    state_only: bool = False
    # Set when planning its children turned the row into a rejection (a value the target
    # cannot hold): the reason and detail.
    rejection: Rejection | None = None
    # Updates only (``changelog.check_conflicts``): the SIS values before the write, by table
    # ("person", "profile", "contact"), for the change log; the registrar edits found; and
    # the SIS values kept over the legacy ones (keep-sis), by table and column.
    before: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)
    kept: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class PlanBatch:
    """A batch of planned rows: applied in one transaction."""

    number: int
    students: list[PlannedStudent] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    vanished: list[StateRow] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.students) + len(self.rejections)


@dataclass
class Counters:
    """True numbers of one run; the console block and the report are views of this."""

    total_legacy_records: int = 0
    records_processed: int = 0
    classes: Counter = field(default_factory=Counter)
    persons: Counter = field(default_factory=Counter)
    students: Counter = field(default_factory=Counter)
    emergency_contacts: Counter = field(default_factory=Counter)
    sponsorships: Counter = field(default_factory=Counter)
    rejections: Counter = field(default_factory=Counter)
    warnings: Counter = field(default_factory=Counter)
    vanished: int = 0
    batches: int = 0
    conflicts: int = 0  # registrar edits reported (first seen) by this run
    open_conflicts: int = 0  # unresolved registrar edits in the database after the run

    def add_plan(self, batch: PlanBatch) -> None:
        """Count what a planned batch will do (dry runs count the same way)."""
        self.batches += 1
        for reject in batch.rejections:
            self.classes["reject"] += 1
            self.rejections[reject.reason] += 1
        for planned in batch.students:
            self.classes[planned.row_class] += 1
            if planned.record is not None:
                for code, _field, _detail in planned.record.warnings:
                    self.warnings[code] += 1
            key = {
                "create": "created",
                "update": "updated",
                "unchanged": "skipped",
                "delete": "deleted",
            }[planned.row_class]
            self.persons[key] += 1
            self.students[key] += 1
            if planned.contact_action:
                self.emergency_contacts[
                    {"create": "created", "update": "updated", "delete": "deleted"}[
                        planned.contact_action
                    ]
                ] += 1
            self.conflicts += sum(1 for c in planned.conflicts if c.reported)
            for action in planned.sponsorships:
                self.sponsorships[
                    {"create": "created", "end": "ended", "reopen": "updated"}[action.action]
                ] += 1
        self.records_processed += batch.size
        for _ in batch.vanished:
            self.vanished += 1
            self.persons["deleted"] += 1
            self.students["deleted"] += 1

    def add_unchanged(self, n: int) -> None:
        """Rows skipped inside the database (same raw digest, same mapping version)."""
        self.records_processed += n
        self.classes["unchanged"] += n
        self.persons["skipped"] += n
        self.students["skipped"] += n

    @property
    def rejected(self) -> int:
        return self.classes["reject"]

    @property
    def successful(self) -> int:
        return self.records_processed - self.rejected

    @property
    def success_rate(self) -> float:
        """Percent of processed rows not rejected; 100 when nothing was processed."""
        if self.records_processed == 0:
            return 100.0
        return 100.0 * self.successful / self.records_processed

    @property
    def efficiency(self) -> float:
        """Percent of processed rows that needed no write."""
        if self.records_processed == 0:
            return 100.0
        return 100.0 * self.classes["unchanged"] / self.records_processed

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Counters:
        """The inverse of ``as_dict``: a stored change set, an applied summary, a ledger row.

        Read field by field from the dataclass itself, so a new counter needs no second list;
        a key an older row lacks reads as zero.
        """
        values = {
            f.name: Counter(data.get(f.name) or {})
            if f.default_factory is Counter
            else int(data.get(f.name) or 0)
            for f in fields(cls)
        }
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        return {
            "total_legacy_records": self.total_legacy_records,
            "records_processed": self.records_processed,
            "classes": {k: self.classes[k] for k in ROW_CLASSES},
            "persons": dict(self.persons),
            "students": dict(self.students),
            "emergency_contacts": dict(self.emergency_contacts),
            "sponsorships": dict(self.sponsorships),
            "rejections": dict(self.rejections),
            "warnings": dict(self.warnings),
            "vanished": self.vanished,
            "batches": self.batches,
            "conflicts": self.conflicts,
            "open_conflicts": self.open_conflicts,
        }


def success_level(rate: float) -> str:
    """The guide's thresholds: > 95 normal, 90-95 warning, < 90 critical."""
    if rate > 95.0:
        return "normal"
    if rate >= 90.0:
        return "warning"
    return "critical"


def efficiency_level(rate: float) -> str:
    """The guide's thresholds: > 70 optimal, 30-70 acceptable, < 30 inefficient."""
    if rate > 70.0:
        return "optimal"
    if rate >= 30.0:
        return "acceptable"
    return "inefficient"


def to_jsonable(value: Any) -> Any:
    """Dates and datetimes as tagged ISO strings, so a persisted plan reads back exactly."""
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


def from_jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$dt"}:
            return datetime.fromisoformat(value["$dt"])
        if set(value) == {"$date"}:
            return date.fromisoformat(value["$date"])
        return {k: from_jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_jsonable(v) for v in value]
    return value


def batch_to_dict(batch: PlanBatch) -> dict[str, Any]:
    return to_jsonable(asdict(batch))


def batch_from_dict(data: dict[str, Any]) -> PlanBatch:
    data = from_jsonable(data)

    def record(d: dict | None) -> StudentRecord | None:
        if d is None:
            return None
        contact = ContactValues(**d["contact"]) if d["contact"] else None
        return StudentRecord(
            **{
                **d,
                "contact": contact,
                "sponsor_codes": tuple(d["sponsor_codes"]),
                "warnings": tuple(tuple(w) for w in d["warnings"]),
            }
        )

    def state(d: dict | None) -> StateRow | None:
        return StateRow(**d) if d else None

    students = [
        PlannedStudent(
            **{
                **s,
                "record": record(s["record"]),
                "state": state(s["state"]),
                "sponsorships": [SponsorshipAction(**a) for a in s["sponsorships"]],
                "rejection": Rejection(**s["rejection"]) if s.get("rejection") else None,
                "conflicts": [Conflict(**c) for c in s.get("conflicts", [])],
            }
        )
        for s in data["students"]
    ]
    return PlanBatch(
        number=data["number"],
        students=students,
        rejections=[Rejection(**r) for r in data["rejections"]],
        vanished=[StateRow(**v) for v in data["vanished"]],
    )
