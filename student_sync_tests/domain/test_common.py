"""Null markers and text cleaning."""

from __future__ import annotations

import pytest

from student_sync.domain import DomainRejection, DomainWarning, Parsed, clean_text, is_null


@pytest.mark.parametrize(
    "value",
    [
        None,
        "NULL",
        "null",
        "Null",
        " NULL ",
        "NA",
        "na",
        "",
        "   ",
        "\t\n",
        "0000-00-00",
        " 0000-00-00 ",
        "0000-00-00 00:00:00",
        "0000-00-00 00:00:00.000",
        "N/A",
        float("nan"),
    ],
)
def test_null_markers(value: object) -> None:
    assert is_null(value)
    assert clean_text(value) is None


@pytest.mark.parametrize(
    "value", ["0", "N", "NULLABLE", "nah", "Na Ly", "2000-00-00", "-", 0, False]
)
def test_not_null(value: object) -> None:
    assert not is_null(value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Sok   Dara ", "Sok Dara"),
        ("Sok\t\nDara", "Sok Dara"),
        ("Sok\u00a0Dara", "Sok Dara"),  # non-breaking space
        ("So\u200bk", "Sok"),  # zero-width space dropped
        ("a\x00b", "ab"),  # control characters dropped
        (12, "12"),
        (b"Sok", "Sok"),
        (b"\xff", "\ufffd"),  # undecodable bytes never raise
        ("\u200b", None),
    ],
)
def test_clean_text(raw: object, expected: str | None) -> None:
    assert clean_text(raw) == expected


def test_values_are_frozen_and_rejection_carries_its_reason() -> None:
    warning = DomainWarning("INVALID_DATE", "birth_date", "x")
    parsed = Parsed(1, (warning,))
    with pytest.raises(AttributeError):
        parsed.value = 2  # type: ignore[misc]
    error = DomainRejection("MISSING_NAME", "empty")
    assert (error.code, error.detail) == ("MISSING_NAME", "empty")
    assert Parsed("x").warnings == ()
