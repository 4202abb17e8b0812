"""Each defect of the old tool listed in domain.md items 8-10, reproduced and shown fixed.

Every case holds the input, what the old tool produced (from domain.md and limon.md), and
what the rule produces now.
"""

from __future__ import annotations

import pytest

from student_sync.domain import (
    birth_province,
    khmer_name,
    limon_to_unicode,
    nationality_to_citizenship,
    parse_gender,
    parse_name,
)
from student_sync.domain.places import INTERNATIONAL, PROVINCES, UNKNOWN


# 8. Nationality became its first two letters.
@pytest.mark.parametrize(
    ("raw", "old", "new"),
    [
        ("Cambodian", "Ca", "KH"),
        ("NULL", "NU", "KH"),
        ("CAMBODIA", "CA", "KH"),
        ("Khmer", "Kh", "KH"),
        ("American", "Am", "US"),
        ("Japanese", "Ja", "JP"),
    ],
)
def test_8_nationality_is_not_its_first_two_letters(raw: str, old: str, new: str) -> None:
    assert raw[:2] == old
    assert nationality_to_citizenship(raw).value == new


# 8. Provinces were lower-case keys matching no choice.
@pytest.mark.parametrize(
    ("raw", "old", "new"),
    [
        ("Phnom Penh", "phnom_penh", "PHNOM_PENH"),
        ("phnompenh", "phnompenh", "PHNOM_PENH"),
        ("Sihanoukville", "sihanoukville", "PREAH_SIHANOUK"),
        ("Kg Cham", "kg_cham", "KAMPONG_CHAM"),
        ("Siemreap", "siemreap", "SIEM_REAP"),
    ],
)
def test_8_provinces_are_choice_keys(raw: str, old: str, new: str) -> None:
    choices = set(PROVINCES) | {INTERNATIONAL, UNKNOWN}
    assert old not in choices
    value = birth_province(raw, "KH").value
    assert value == new and value in choices


# 9. Male/Female became X.
@pytest.mark.parametrize(("raw", "new"), [("Male", "M"), ("Female", "F"), ("MALE", "M")])
def test_9_male_female_are_not_x(raw: str, new: str) -> None:
    assert parse_gender(raw).value == (new, False)


# 9. {AF} became a sponsor code; (ST) became part of the personal name; a $$ suffix was missed.
def test_9_admin_fee_is_not_a_sponsor() -> None:
    parsed = parse_name("SOK Dara {AF}")
    assert "AF" not in parsed.sponsor_codes and parsed.admin_fee


def test_9_staff_scholarship_is_not_in_the_name() -> None:
    parsed = parse_name("SOK Dara (ST)")
    assert parsed.personal_name == "DARA" and "(ST)" not in parsed.full_name
    assert parsed.staff_scholarship


def test_9_frozen_suffix_is_seen() -> None:
    assert parse_name("SOK Dara$$").is_frozen
    assert parse_name("SOK Dara $$").is_frozen
    assert parse_name("$$SOK Dara").is_frozen


# 10. The Limon converter: trailing newline, no ោ/ើ, NULL -> Khmer letters, no Unicode check.
def test_10_no_trailing_newline() -> None:
    old = "\u179f\u17bb\u1781\n"
    assert limon_to_unicode("sux\n") == old.rstrip("\n")
    assert khmer_name("sux\n", None).value == "\u179f\u17bb\u1781"


@pytest.mark.parametrize(
    ("limon", "old", "new"),
    [
        ("eka", "\u1780\u17c1\u17b6", "\u1780\u17c4"),  # កេា -> កោ
        ("ekI", "\u1780\u17c1\u17b8", "\u1780\u17be"),  # កេី -> កើ
        ("eTA", "\u1791\u17c1A", "\u1791\u17c5"),  # ទេA -> ទៅ
        ("b¤sSI", "\u1794\u00a4\u179f\u17d2\u179f\u17b8", "\u17ab\u179f\u17d2\u179f\u17b8"),
    ],
)
def test_10_two_character_keys_win(limon: str, old: str, new: str) -> None:
    assert limon_to_unicode(limon) == new != old


@pytest.mark.parametrize("raw", ["NULL", "null", "NA", " NULL "])
def test_10_null_is_not_turned_into_khmer_letters(raw: str) -> None:
    old = limon_to_unicode(raw.strip())  # what blind conversion gives, e.g. ណូឡឡ for NULL
    assert old  # the converter alone would produce letters...
    parsed = khmer_name(raw, None)
    assert parsed.value is None and parsed.warnings == ()  # ...the rule never does


def test_10_unicode_is_not_converted_again() -> None:
    unicode_name = "\u179f\u17bb\u1781 \u178a\u17b6\u179a\u17b6"
    assert khmer_name(unicode_name, None).value == unicode_name
    assert limon_to_unicode(unicode_name) == unicode_name
