"""Emails, phones and relationships."""

from __future__ import annotations

import pytest

from student_sync.domain import normalize_email, relationship_choice, split_phones


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("sok.dara@example.com", "sok.dara@example.com"),
        ("  Sok.Dara@Example.COM ", "sok.dara@example.com"),
        ("SOK_DARA+tag@school.edu.kh", "sok_dara+tag@school.edu.kh"),
        ("mailto:a.b@example.org", "a.b@example.org"),
        ("<a.b@example.org>", "a.b@example.org"),
        ("a.b@example.org.", "a.b@example.org"),
        (None, None),
        ("NULL", None),
        ("", None),
    ],
)
def test_valid_email(raw: object, expected: str | None) -> None:
    parsed = normalize_email(raw, "email")
    assert parsed.value == expected
    assert parsed.warnings == ()


@pytest.mark.parametrize(
    "raw",
    [
        "sokdara",
        "sok@",
        "@example.com",
        "sok@example",
        "sok dara@example.com",
        "sok..dara@example.com",
        ".sok@example.com",
        "sok@-example.com",
        "sok@example.c0m",
        "s\u00f6k@example.com",
        "a@b@example.com",
    ],
)
def test_invalid_email(raw: str) -> None:
    parsed = normalize_email(raw, "school_email")
    assert parsed.value is None
    assert [(w.code, w.field) for w in parsed.warnings] == [("INVALID_EMAIL", "school_email")]


def test_several_emails_keep_the_first_valid() -> None:
    parsed = normalize_email("a@example.com; b@example.com", "email")
    assert parsed.value == "a@example.com"
    assert [w.code for w in parsed.warnings] == ["MULTIPLE_EMAILS"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("012 345 678 / 097 123 4567", ("012345678", "0971234567")),
        ("012345678", ("012345678", None)),
        ("012-345-678", ("012345678", None)),
        ("(012) 345.678", ("012345678", None)),
        ("012 345 678, 097 123 4567", ("012345678", "0971234567")),
        ("012 345 678; 097 123 4567", ("012345678", "0971234567")),
        ("012 345 678 or 097 123 4567", ("012345678", "0971234567")),
        ("012 345 678 & 097 123 4567", ("012345678", "0971234567")),
        ("012 345 678 097 123 4567", ("012345678", "0971234567")),
        ("+855 12 345 678", ("+85512345678", None)),
        ("+855 12 345 678 / 012 999 888", ("+85512345678", "012999888")),
        ("Mobile: 012 345 678 (father)", ("012345678", None)),
        ("023 123 456 ext 12", ("023123456", None)),
        ("012345678 / 012345678", ("012345678", None)),
        (None, (None, None)),
        ("NULL", (None, None)),
    ],
)
def test_split_phones(raw: object, expected: tuple[str | None, str | None]) -> None:
    parsed = split_phones(raw)
    assert parsed.value == expected
    assert parsed.warnings == ()
    assert all(v is None or len(v) <= 20 for v in parsed.value)


@pytest.mark.parametrize("raw", ["call the mother", "no phone", "123", "0123456789012345678"])
def test_unparsed_phone(raw: str) -> None:
    parsed = split_phones(raw)
    assert parsed.value == (None, None)
    assert [(w.code, w.field) for w in parsed.warnings] == [
        ("UNPARSED_PHONE", "contact_person_phone")
    ]


def test_extra_phones_are_dropped_with_warning() -> None:
    parsed = split_phones("011 111 111 / 012 222 222 / 013 333 333")
    assert parsed.value == ("011111111", "012222222")
    assert [w.code for w in parsed.warnings] == ["EXTRA_PHONE"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Father", "FATHER"),
        ("father", "FATHER"),
        ("dad", "FATHER"),
        ("DAD", "FATHER"),
        ("\u17aa\u1796\u17bb\u1780", "FATHER"),  # ឪពុក
        ("Mother", "MOTHER"),
        ("mom", "MOTHER"),
        ("\u1798\u17d2\u178f\u17b6\u1799", "MOTHER"),  # ម្តាយ
        ("Husband", "SPOUSE"),
        ("wife", "SPOUSE"),
        ("Partner", "PARTNER"),
        ("Brother", "SIBLING"),
        ("sister", "SIBLING"),
        ("Older Brother", "SIBLING"),
        ("my sister", "SIBLING"),
        ("Grandmother", "GRANDPARENT"),
        ("grandpa", "GRANDPARENT"),
        ("Guardian", "GUARDIAN"),
        ("Legal guardian", "GUARDIAN"),
        ("Friend", "FRIEND"),
        ("classmate", "FRIEND"),
        ("father's friend", "FRIEND"),
        ("Uncle", "OTHER"),
        ("aunt", "OTHER"),
        ("Cousin", "OTHER"),
        ("Brother-in-law", "OTHER"),
        ("mother in law", "OTHER"),
        (None, "OTHER"),
        ("NULL", "OTHER"),
    ],
)
def test_relationship(raw: object, expected: str) -> None:
    parsed = relationship_choice(raw)
    assert parsed.value == expected
    assert parsed.warnings == ()


def test_unknown_relationship_warns() -> None:
    parsed = relationship_choice("landlord")
    assert parsed.value == "OTHER"
    assert [w.code for w in parsed.warnings] == ["UNKNOWN_RELATIONSHIP"]
