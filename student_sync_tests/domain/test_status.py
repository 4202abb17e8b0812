"""Transfer flag and legacy status."""

from __future__ import annotations

import pytest

from student_sync.domain import status_choice, transfer_flag


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Yes", True),
        ("Y", True),
        ("1", True),
        ("From RUPP", True),
        ("transfer", True),
        ("No", False),
        ("no", False),
        ("N", False),
        ("n", False),
        ("0", False),
        ("False", False),
        ("None", False),
        ("NULL", False),
        ("", False),
        (None, False),
        (" No ", False),
        ("NA", False),
        ("No.", False),
    ],
)
def test_transfer_flag(raw: object, expected: bool) -> None:
    assert transfer_flag(raw) is expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Active", "ACTIVE"),
        ("ACTIVE", "ACTIVE"),
        ("enrolled", "ACTIVE"),
        ("Inactive", "INACTIVE"),
        ("On leave", "INACTIVE"),
        ("Graduated", "GRADUATED"),
        ("graduate", "GRADUATED"),
        ("Completed", "GRADUATED"),
        ("Dropped", "DROPPED"),
        ("Drop out", "DROPPED"),
        ("Withdrawn", "DROPPED"),
        ("Suspended", "SUSPENDED"),
        ("Transferred", "TRANSFERRED"),
        ("Frozen", "FROZEN"),
        ("Unknown", "UNKNOWN"),
        (None, "UNKNOWN"),
        ("NULL", "UNKNOWN"),  # null: not stated, never guessed ACTIVE
    ],
)
def test_status(raw: object, expected: str) -> None:
    parsed = status_choice(raw, is_frozen=False)
    assert parsed.value == expected
    assert parsed.warnings == ()


@pytest.mark.parametrize("raw", ["Active", "Graduated", None, "???"])
def test_frozen_wins(raw: object) -> None:
    assert status_choice(raw, is_frozen=True).value == "FROZEN"
    assert status_choice(raw, is_frozen=True).warnings == ()


def test_unmapped_status_warns() -> None:
    parsed = status_choice("Pending review", is_frozen=False)
    assert parsed.value == "UNKNOWN"
    assert [(w.code, w.field) for w in parsed.warnings] == [("UNKNOWN_STATUS", "status")]
