"""Khmer name selection from kname/kname2."""

from __future__ import annotations

import pytest

from student_sync.domain import khmer_name

SOK_DARA = "\u179f\u17bb\u1781 \u178a\u17b6\u179a\u17b6"


@pytest.mark.parametrize(
    ("kname", "kname2", "expected", "codes"),
    [
        ("sux dara", None, SOK_DARA, []),
        ("sux dara\n", "NULL", SOK_DARA, []),
        (SOK_DARA, None, SOK_DARA, []),  # Unicode passes through
        (f" {SOK_DARA} ", None, SOK_DARA, []),
        ("NULL", "sux dara", SOK_DARA, []),  # kname2 as fallback
        (None, SOK_DARA, SOK_DARA, []),
        ("NULL", "NULL", None, []),  # null markers are never converted
        (None, None, None, []),
        ("", "  ", None, []),
        ("123", None, None, ["INVALID_KHMER"]),  # digits only: not converted
        ("Sok Dara", None, None, ["INVALID_KHMER"]),  # Latin text: not converted
        ("SOK Dara", None, None, ["INVALID_KHMER"]),
        ("KIM SUTH", None, None, ["INVALID_KHMER"]),  # would be ្សូទះ... if converted
        ("Khan Tol'sreap", None, None, ["INVALID_KHMER"]),
        ("Mary-Jane Keo", None, None, ["INVALID_KHMER"]),
        ("Sok Dara", "sux dara", SOK_DARA, []),  # a good kname2 beats Latin kname
        ("Sok Dara", "Keo", None, ["INVALID_KHMER", "INVALID_KHMER"]),
        ("soeng", None, None, ["INVALID_KHMER"]),  # unmapped Latin letters (o)
        ("kaa", None, "\u1780\u17b6\u17b6", ["INVALID_KHMER"]),  # converted, malformed: kept
        ("kaa", "sux dara", SOK_DARA, []),  # a valid kname2 wins over a malformed kname
        ("\u17b6\u1780", None, "\u17b6\u1780", ["INVALID_KHMER"]),  # bad Unicode kept, flagged
    ],
)
def test_khmer_name(kname: object, kname2: object, expected: str | None, codes: list[str]) -> None:
    parsed = khmer_name(kname, kname2)
    assert parsed.value == expected
    assert [w.code for w in parsed.warnings] == codes


@pytest.mark.parametrize("latin", ["Sok Dara", "SOK Dara", "KIM SUTH", "Khan Tol'sreap"])
def test_latin_text_is_reported_as_latin(latin: str) -> None:
    (warning,) = khmer_name(latin, None).warnings
    assert warning.detail.startswith("Latin text") and latin in warning.detail


def test_warning_names_the_column() -> None:
    parsed = khmer_name(None, "Sok Dara")
    assert [(w.code, w.field) for w in parsed.warnings] == [("INVALID_KHMER", "kname2")]
