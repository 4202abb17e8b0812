"""Gender and monk flag."""

from __future__ import annotations

import pytest

from student_sync.domain import parse_gender


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("M", ("M", False)),
        ("m", ("M", False)),
        (" Male ", ("M", False)),
        ("MALE", ("M", False)),
        ("male.", ("M", False)),
        ("F", ("F", False)),
        ("f", ("F", False)),
        ("Female", ("F", False)),
        ("FEMALE ", ("F", False)),
        ("Monk", ("M", True)),
        ("MONK", ("M", True)),
        (" monk", ("M", True)),
        ("Ven.", ("M", True)),
        ("\u1794\u17d2\u179a\u17bb\u179f", ("M", False)),  # ប្រុស
        ("\u179f\u17d2\u179a\u17b8", ("F", False)),  # ស្រី
        ("Other", ("N", False)),
        ("Non-binary", ("N", False)),
        ("X", ("X", False)),
        (None, ("X", False)),
        ("NULL", ("X", False)),
        ("", ("X", False)),
    ],
)
def test_known(raw: object, expected: tuple[str, bool]) -> None:
    parsed = parse_gender(raw)
    assert parsed.value == expected
    assert parsed.warnings == ()


@pytest.mark.parametrize("raw", ["?", "Mx", "Male/Female", "1"])
def test_unknown_is_x_with_warning(raw: str) -> None:
    parsed = parse_gender(raw)
    assert parsed.value == ("X", False)
    assert [(w.code, w.field) for w in parsed.warnings] == [("UNKNOWN_GENDER", "gender")]
