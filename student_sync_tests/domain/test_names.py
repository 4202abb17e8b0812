"""Name markers and the family/personal split (domain.md; issue 5 part 2)."""

from __future__ import annotations

import pytest

from student_sync.domain import DomainRejection, ParsedName, parse_name


def name(family: str, personal: str, **flags: object) -> ParsedName:
    return ParsedName(
        family_name=family,
        personal_name=personal,
        full_name=f"{family} {personal}",
        sponsor_codes=tuple(flags.get("codes", ())),  # type: ignore[arg-type]
        is_frozen=bool(flags.get("frozen", False)),
        admin_fee=bool(flags.get("af", False)),
        staff_scholarship=bool(flags.get("st", False)),
        remark=flags.get("remark"),  # type: ignore[arg-type]
    )


CASES = [
    ("SOK Dara", name("SOK", "DARA")),
    ("sok dara", name("SOK", "DARA")),
    ("  Sok   Dara  ", name("SOK", "DARA")),
    ("Chan Sopheap Mony", name("CHAN", "SOPHEAP MONY")),
    ("$$SOK Dara", name("SOK", "DARA", frozen=True)),
    ("$$ SOK Dara", name("SOK", "DARA", frozen=True)),
    ("SOK Dara$$", name("SOK", "DARA", frozen=True)),  # suffix: missed by the old tool
    ("SOK $$ Dara", name("SOK", "DARA", frozen=True)),
    ("SOK Dara <CRST>", name("SOK", "DARA", codes=("CRST",))),
    ("SOK Dara<crst>", name("SOK", "DARA", codes=("CRST",))),
    ("SOK Dara < PLF >", name("SOK", "DARA", codes=("PLF",))),
    ("<PEPY>SOK Dara<CRST><PEPY>", name("SOK", "DARA", codes=("PEPY", "CRST"))),
    ("SOK Dara <CRST, PLF>", name("SOK", "DARA", codes=("CRST", "PLF"))),
    ("SOK Dara {AF}", name("SOK", "DARA", af=True)),  # admin fee, never a sponsor
    ("SOK Dara { af }", name("SOK", "DARA", af=True)),
    ("SOK Dara <AF>", name("SOK", "DARA", af=True)),
    ("SOK Dara (ST)", name("SOK", "DARA", st=True)),  # not part of the personal name
    ("SOK Dara (st)", name("SOK", "DARA", st=True)),
    ("SOK Dara [paid late]", name("SOK", "DARA", remark="paid late")),
    ("SOK Dara [a] [b]", name("SOK", "DARA", remark="a; b")),
    ("SOK Dara [see <CRST> file]", name("SOK", "DARA", remark="see <CRST> file")),
    ("SOK Dara (Mr)", name("SOK", "DARA", remark="Mr")),
    (
        "$$SOK Dara <CRST> {AF} (ST) [note]",
        name("SOK", "DARA", frozen=True, codes=("CRST",), af=True, st=True, remark="note"),
    ),
    ("O'Neil Mary-Jane", name("O'NEIL", "MARY-JANE")),
    ("O\u2019Neil Mary", name("O'NEIL", "MARY")),  # typographic apostrophe normalized
    ("SOK, Dara", name("SOK", "DARA")),
    ("SOK Dara Jr.", name("SOK", "DARA JR.")),
    ("Nguy\u1ec5n V\u0103n", name("NGUY\u1ec4N", "V\u0102N")),
    ("SOK - Dara", name("SOK", "DARA")),
]


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_parse_name(raw: str, expected: ParsedName) -> None:
    assert parse_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (None, "MISSING_NAME"),
        ("NULL", "MISSING_NAME"),
        ("   ", "MISSING_NAME"),
        ("$$", "MISSING_NAME"),
        ("$$ <CRST> {AF}", "MISSING_NAME"),
        ("[remark only]", "MISSING_NAME"),
        ("Dara", "INVALID_NAME"),  # one word: family or personal name? never guess
        ("$$ Dara (ST)", "INVALID_NAME"),
        ("SOK Dara [unclosed", "INVALID_NAME"),
        ("SOK Dara CRST>", "INVALID_NAME"),
        ("SOK 123", "INVALID_NAME"),
        ("SOK D@ra", "INVALID_NAME"),
        ("12345 67", "INVALID_NAME"),
        ("- '", "MISSING_NAME"),
    ],
)
def test_rejections(raw: object, code: str) -> None:
    with pytest.raises(DomainRejection) as error:
        parse_name(raw)
    assert error.value.code == code
    assert error.value.detail


def test_sponsor_codes_never_hold_flags() -> None:
    parsed = parse_name("SOK Dara <AF> <ST> {AF} (ST) <CRST>")
    assert parsed.sponsor_codes == ("CRST",)
    assert parsed.admin_fee and parsed.staff_scholarship
