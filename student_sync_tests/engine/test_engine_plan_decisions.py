"""The plan's pure decisions, case by case: mode gates, row classes, contact and sponsorships.

No database: each case builds the sync state a row meets and the normalized record, and
checks the one decision ``engine/plan.py`` takes for it.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from student_sync.engine.model import ContactValues, SponsorshipAction, StateRow, StudentRecord
from student_sync.engine.plan import classify, gate, plan_contact, plan_sponsorships

FINGERPRINT = "f" * 32


def record(*, ipk: int = 100_042, deleted: bool = False, fingerprint: str = FINGERPRINT):
    return StudentRecord(
        student_id=42,
        legacy_id="00042",
        legacy_key="42",
        ipk=ipk,
        deleted=deleted,
        person={},
        profile={},
        contact=None,
        sponsor_codes=(),
        warnings=(),
        fingerprint=fingerprint,
    )


def state(
    *,
    ipk: int = 100_042,
    fingerprint: str = FINGERPRINT,
    person_id: int | None = 7,
    is_deleted: bool = False,
) -> StateRow:
    return StateRow(
        student_id=42,
        legacy_key="42",
        legacy_ipk=ipk,
        raw_digest="d" * 32,
        fingerprint=fingerprint,
        mapping_version="rules-1",
        person_id=person_id,
        profile_id=8 if person_id else None,
        contact_id=None,
        is_deleted=is_deleted,
    )


LIVE = state()
LIVE_DELETED = state(is_deleted=True)
NEVER_WRITTEN = state(person_id=None)  # a state row without a person (e.g. rejected before)


# --------------------------------------------------------------------------- gate
@pytest.mark.parametrize(
    ("mode", "current", "reason"),
    [
        ("upsert", None, None),
        ("upsert", LIVE, None),
        ("upsert", LIVE_DELETED, None),
        ("create-only", None, None),
        ("create-only", NEVER_WRITTEN, None),
        ("create-only", LIVE, "EXISTS"),
        ("create-only", LIVE_DELETED, "EXISTS"),  # the person is still there, soft-deleted
        ("update-only", None, "NOT_FOUND"),
        ("update-only", NEVER_WRITTEN, "NOT_FOUND"),
        ("update-only", LIVE, None),
        ("update-only", LIVE_DELETED, None),
    ],
)
def test_gate(mode: str, current: StateRow | None, reason: str | None) -> None:
    refused = gate(mode, current)
    if reason is None:
        assert refused is None
    else:
        assert refused is not None
        assert refused[0] == reason
        assert mode in refused[1]


# --------------------------------------------------------------------------- classify
@pytest.mark.parametrize(
    ("case", "row", "current", "force_update", "expected"),
    [
        ("new student", record(), None, False, "create"),
        ("new student, forced", record(), None, True, "create"),
        ("state without a person", record(), NEVER_WRITTEN, False, "create"),
        ("new and already deleted", record(deleted=True), None, False, "unchanged"),
        ("same ipk, same fingerprint", record(), LIVE, False, "unchanged"),
        ("same ipk, edited values", record(fingerprint="e" * 32), LIVE, False, "update"),
        ("new ipk, same values", record(ipk=100_999), LIVE, False, "update"),
        ("forced rewrite", record(), LIVE, True, "update"),
        ("comes back after a delete", record(), LIVE_DELETED, False, "update"),
        ("deleted in legacy", record(deleted=True), LIVE, False, "delete"),
        ("deleted in legacy, forced", record(deleted=True), LIVE, True, "delete"),
        (
            "still deleted, same values",
            record(deleted=True),
            LIVE_DELETED,
            False,
            "unchanged",
        ),
        (
            "still deleted, same values, forced",
            record(deleted=True),
            LIVE_DELETED,
            True,
            "unchanged",
        ),
        (
            "still deleted, edited values",
            record(deleted=True, fingerprint="e" * 32),
            LIVE_DELETED,
            False,
            "delete",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) and " " in value else "",
)
def test_classify(
    case: str, row: StudentRecord, current: StateRow | None, force_update: bool, expected: str
) -> None:
    assert classify(row, current, force_update=force_update) == expected, case


# --------------------------------------------------------------------------- plan_contact
FATHER = ContactValues("SOKHA Vanna", "FATHER", "012345678", "", "", "Phnom Penh")
MOTHER = replace(FATHER, name="CHAN Sophea", relationship="MOTHER")


@pytest.mark.parametrize(
    ("desired", "current", "has_row", "expected"),
    [
        (None, None, False, None),  # blank legacy contact, nothing in the SIS
        (None, FATHER, True, "delete"),  # contact blanked in legacy: the sync removes its row
        (FATHER, None, False, "create"),
        (FATHER, FATHER, True, None),  # same values: no write
        (MOTHER, FATHER, True, "update"),
        (replace(FATHER, primary_phone="097123456"), FATHER, True, "update"),
    ],
)
def test_plan_contact(
    desired: ContactValues | None, current: ContactValues | None, has_row: bool, expected
) -> None:
    assert plan_contact(desired, current, has_row) == expected


# --------------------------------------------------------------------------- plan_sponsorships
SPONSOR_IDS = {"CRST": 1, "PLF": 2, "PEPY": 3}


@pytest.mark.parametrize(
    ("case", "desired", "open_rows", "started_today", "expected"),
    [
        ("no codes, none open", (), {}, {}, []),
        ("new code opens", ("CRST",), {}, {}, [("create", "CRST", 1, None)]),
        ("code kept", ("CRST",), {"CRST": 50}, {}, []),
        ("code gone ends", (), {"CRST": 50}, {}, [("end", "CRST", 1, 50)]),
        (
            "changed code ends one, opens the other",
            ("PLF",),
            {"CRST": 50},
            {},
            [("end", "CRST", 1, 50), ("create", "PLF", 2, None)],
        ),
        ("unknown code is no sponsor", ("XYZ",), {}, {}, []),
        (
            "unknown code beside a known one",
            ("XYZ", "PEPY"),
            {},
            {},
            [("create", "PEPY", 3, None)],
        ),
        (
            "two new codes in legacy order",
            ("PLF", "CRST"),
            {},
            {},
            [("create", "PLF", 2, None), ("create", "CRST", 1, None)],
        ),
        (
            "two codes gone end in code order",
            (),
            {"PLF": 61, "CRST": 60},
            {},
            [("end", "CRST", 1, 60), ("end", "PLF", 2, 61)],
        ),
        (
            "ended and re-added the same day reopens that period",
            ("CRST",),
            {},
            {"CRST": 70},
            [("reopen", "CRST", 1, 70)],
        ),
        (
            "open row of a sponsor no longer active ends with sponsor 0",
            (),
            {"OLD": 80},
            {},
            [("end", "OLD", 0, 80)],
        ),
    ],
    ids=lambda value: value if isinstance(value, str) and " " in value else "",
)
def test_plan_sponsorships(case, desired, open_rows, started_today, expected) -> None:
    actions = plan_sponsorships(desired, open_rows, started_today, SPONSOR_IDS)
    assert actions == [SponsorshipAction(*action) for action in expected], case
    assert all(action.action != "delete" for action in actions)  # never deletes
