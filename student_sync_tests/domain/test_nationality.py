"""Nationality -> ISO 3166-1 alpha-2 citizenship."""

from __future__ import annotations

import pytest

from student_sync.domain import nationality_to_citizenship


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Cambodian", "KH"),
        ("CAMBODIAN", "KH"),
        ("cambodian ", "KH"),
        ("CAMBODIA", "KH"),
        ("Cambodia", "KH"),
        ("Khmer", "KH"),
        ("KHMER", "KH"),
        ("KH", "KH"),
        ("kh", "KH"),
        ("KHM", "KH"),
        ("Kampuchea", "KH"),
        ("\u1781\u17d2\u1798\u17c2\u179a", "KH"),
        ("American", "US"),
        ("USA", "US"),
        ("U.S.A.", "US"),
        ("United States", "US"),
        ("Japanese", "JP"),
        ("JAPAN", "JP"),
        ("French", "FR"),
        ("france", "FR"),
        ("British", "GB"),
        ("UK", "GB"),
        ("Vietnamese", "VN"),
        ("Viet Nam", "VN"),
        ("Thai", "TH"),
        ("Lao", "LA"),
        ("Korean", "KR"),
        ("South Korea", "KR"),
        ("Chinese", "CN"),
        ("Filipino", "PH"),
        ("Australian", "AU"),
        ("Canadian", "CA"),
        ("Germany", "DE"),
        ("DEU", "DE"),
        ("Côte d'Ivoire", "CI"),
        ("Guinea-Bissau", "GW"),
        ("Cambodian citizen", "KH"),
        (None, "KH"),
        ("NULL", "KH"),
        ("", "KH"),
        ("NA", "KH"),
    ],
)
def test_known(raw: object, expected: str) -> None:
    parsed = nationality_to_citizenship(raw)
    assert parsed.value == expected
    assert parsed.warnings == ()


@pytest.mark.parametrize("raw", ["Martian", "xx", "no", "Cambodi", "123"])
def test_unknown_is_kh_with_warning(raw: str) -> None:
    parsed = nationality_to_citizenship(raw)
    assert parsed.value == "KH"
    assert [w.code for w in parsed.warnings] == ["UNKNOWN_NATIONALITY"]
    assert raw in parsed.warnings[0].detail


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Cambodian/American", "KH"), ("American-Cambodian", "US"), ("Khmer American", "KH")],
)
def test_dual_keeps_the_first_with_warning(raw: str, expected: str) -> None:
    parsed = nationality_to_citizenship(raw)
    assert parsed.value == expected
    assert [w.code for w in parsed.warnings] == ["MULTIPLE_NATIONALITIES"]


def test_same_country_twice_is_not_dual() -> None:
    assert nationality_to_citizenship("Cambodian / Khmer").warnings == ()
