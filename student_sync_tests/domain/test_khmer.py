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


# Latin typed into kname: the row's English name column says so, whatever the case.
@pytest.mark.parametrize(
    ("kname", "kname2", "name", "expected", "codes"),
    [
        ("Sok Dara", None, "SOK Dara", None, ["INVALID_KHMER"]),
        ("SOK Dara", None, "Sok Dara $$", None, ["INVALID_KHMER"]),
        ("KIM SUTH", None, "KIM Suth <CRST>", None, ["INVALID_KHMER"]),  # ... not គ្សីូំទះ
        ("Khan Tol'sreap", None, "KHAN Tol\u2019sreap", None, ["INVALID_KHMER"]),
        ("Mary-Jane Keo", None, "KEO Mary-Jane (ST)", None, ["INVALID_KHMER"]),
        ("Keo", None, "KEO Sophea", None, ["INVALID_KHMER"]),  # would convert to គៀ
        ("dara sok", None, "SOK DARA", None, ["INVALID_KHMER"]),  # lower case: still Latin
        ("Sok Darra", None, "SOK DARA", None, ["INVALID_KHMER"]),  # a typo: part repeats
        ("Sok Dara", "sux dara", "SOK DARA", SOK_DARA, []),  # a good kname2 beats Latin kname
        ("Sok Dara", "Dara Sok", "SOK DARA", None, ["INVALID_KHMER", "INVALID_KHMER"]),
    ],
)
def test_latin_in_kname_is_not_converted(
    kname: str, kname2: str | None, name: str, expected: str | None, codes: list[str]
) -> None:
    parsed = khmer_name(kname, kname2, name)
    assert parsed.value == expected
    assert [w.code for w in parsed.warnings] == codes
    if codes:
        detail = parsed.warnings[0].detail
        assert detail.startswith("Latin text") and kname in detail


# Limon is Limon whatever its case, even where a word is also the romanization.
@pytest.mark.parametrize(
    ("kname", "name", "expected"),
    [
        ("Ca", "CHEA Sokha", "\u1787\u17b6"),  # ជា: the lost "Chea"
        ("Ca suxa", "CHEA SOKHA", "\u1787\u17b6 \u179f\u17bb\u1781\u17b6"),
        ("Ca Narin", "CHEA NARIN", "\u1787\u17b6 \u178e\u17b6\u179a\u17b7\u1793"),  # all Title
        ("Ekv Narin", "KEO Narin", "\u1780\u17c2\u179c \u178e\u17b6\u179a\u17b7\u1793"),
        ("sux dara", "SOK DARA", SOK_DARA),  # ដារា is typed "dara": one shared word is no proof
        ("lIm dara", "LIM DARA", "\u179b\u17b8\u1798 \u178a\u17b6\u179a\u17b6"),  # lIm: Limon
    ],
)
def test_limon_is_converted_whatever_its_case(kname: str, name: str, expected: str) -> None:
    parsed = khmer_name(kname, None, name)
    assert parsed.value == expected


def test_warning_names_the_column() -> None:
    parsed = khmer_name(None, "Sok Dara", "SOK DARA")
    assert [(w.code, w.field) for w in parsed.warnings] == [("INVALID_KHMER", "kname2")]
