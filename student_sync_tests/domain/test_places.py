"""Birth place -> province choice key."""

from __future__ import annotations

import pytest

from student_sync.domain import birth_province
from student_sync.domain.places import PROVINCES


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Phnom Penh", "PHNOM_PENH"),
        ("phnompenh", "PHNOM_PENH"),
        ("PHNOM PENH", "PHNOM_PENH"),
        ("Phnom-Penh", "PHNOM_PENH"),
        ("Phnom Penh City", "PHNOM_PENH"),
        ("PP", "PHNOM_PENH"),
        ("\u1797\u17d2\u1793\u17c6\u1796\u17c1\u1789", "PHNOM_PENH"),
        ("Sihanoukville", "PREAH_SIHANOUK"),
        ("Preah Sihanouk", "PREAH_SIHANOUK"),
        ("Kampong Som", "PREAH_SIHANOUK"),
        ("Kg Cham", "KAMPONG_CHAM"),
        ("Kg. Cham", "KAMPONG_CHAM"),
        ("K.Cham", "KAMPONG_CHAM"),
        ("Kompong Cham", "KAMPONG_CHAM"),
        ("KAMPONG CHAM PROVINCE", "KAMPONG_CHAM"),
        ("Kampong Chhnang", "KAMPONG_CHHNANG"),
        ("Kg Chhnang", "KAMPONG_CHHNANG"),
        ("Kompong Speu", "KAMPONG_SPEU"),
        ("Kampong Thom", "KAMPONG_THOM"),
        ("Siem Reap", "SIEM_REAP"),
        ("Siemreap", "SIEM_REAP"),
        ("siem reap ", "SIEM_REAP"),
        ("Battambang", "BATTAMBANG"),
        ("Banteay Meanchey", "BANTEAY_MEANCHEY"),
        ("Poipet", "BANTEAY_MEANCHEY"),
        ("Kampot", "KAMPOT"),
        ("Kandal", "KANDAL"),
        ("Kep", "KEP"),
        ("Koh Kong", "KOH_KONG"),
        ("Kratie", "KRATIE"),
        ("Mondulkiri", "MONDULKIRI"),
        ("Mondolkiri", "MONDULKIRI"),
        ("Oddar Meanchey", "ODDAR_MEANCHEY"),
        ("Pailin", "PAILIN"),
        ("Preah Vihear", "PREAH_VIHEAR"),
        ("Prey Veng", "PREY_VENG"),
        ("Pursat", "PURSAT"),
        ("Ratanakiri", "RATANAKIRI"),
        ("Ratanakkiri", "RATANAKIRI"),
        ("Stung Treng", "STUNG_TRENG"),
        ("Svay Rieng", "SVAY_RIENG"),
        ("Takeo", "TAKEO"),
        ("Tak\u00e9v", "TAKEO"),
        ("Takeo Province", "TAKEO"),
        ("Tboung Khmum", "TBOUNG_KHMUM"),
        ("Battambang, Cambodia", "BATTAMBANG"),
        ("Khett Kampot", "KAMPOT"),
        ("Bangkok", "INTERNATIONAL"),
        ("Ho Chi Minh City", "INTERNATIONAL"),
        ("Lyon, France", "INTERNATIONAL"),
        ("Japan", "INTERNATIONAL"),
        ("Long Beach, USA", "INTERNATIONAL"),
        (None, "UNKNOWN"),
        ("NULL", "UNKNOWN"),
        ("", "UNKNOWN"),
    ],
)
def test_known(raw: object, expected: str) -> None:
    parsed = birth_province(raw, "KH")
    assert parsed.value == expected
    assert parsed.warnings == ()


def test_every_province_key_maps_to_itself() -> None:
    for province in PROVINCES:
        assert birth_province(province.replace("_", " ").title(), "KH").value == province
        assert birth_province(province, "KH").value == province


@pytest.mark.parametrize("raw", ["Atlantis", "Cambodia", "Village 3", "12"])
def test_unknown_with_warning(raw: str) -> None:
    parsed = birth_province(raw, "KH")
    assert parsed.value == "UNKNOWN"
    assert [(w.code, w.field) for w in parsed.warnings] == [("UNKNOWN_PROVINCE", "birth_place")]


@pytest.mark.parametrize("raw", ["Phnom Penh", None, "Atlantis"])
def test_foreign_citizenship_is_international(raw: object) -> None:
    parsed = birth_province(raw, "US")
    assert parsed.value == "INTERNATIONAL"
    assert parsed.warnings == ()
