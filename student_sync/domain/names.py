"""English name column: markers out, family/personal name split, upper case.

Markers embedded in ``name`` (domain.md): ``$$`` frozen account (prefix, suffix or
anywhere), ``<CODE>`` sponsor codes, ``{AF}`` admin fee (not a sponsor), ``(ST)`` staff
scholarship (not part of the name), ``[...]`` free remark. The old tool treated ``{AF}`` as
a sponsor, kept ``(ST)`` in the personal name and missed a ``$$`` suffix; here each marker is
recognized wherever it appears. Anything that would need a guess is a rejection.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .common import DomainRejection, Translation, clean_text

_FLAG_CODES = frozenset({"AF", "ST"})
_GROUP = re.compile(r"<([^<>]*)>|\{([^{}]*)\}|\(([^()]*)\)|\[([^\[\]]*)\]")
_BRACKET = re.compile(r"[<>{}()\[\]]")
_REMARK = re.compile(r"\[([^\[\]]*)\]")
_CODE_SPLIT = re.compile(r"[\s,;/+&|]+")
_APOSTROPHES = Translation(
    {
        "\u2019": "'",
        "\u2018": "'",
        "\u02bc": "'",
        "`": "'",
        "\u2010": "-",
        "\u2011": "-",
        "\u2013": "-",
    }
)
_NAME_PUNCT = "-'."


@dataclass(frozen=True)
class ParsedName:
    """The cleaned name plus the markers found in it."""

    family_name: str
    personal_name: str
    full_name: str
    sponsor_codes: tuple[str, ...]
    is_frozen: bool
    admin_fee: bool
    staff_scholarship: bool
    remark: str | None


def _is_name_word(word: str) -> bool:
    """Letters (any script, with their marks) plus hyphens, apostrophes and dots."""
    if word.isalpha():  # the common case: letters only
        return True
    has_letter = False
    for ch in word:
        if ch.isalpha():
            has_letter = True
        elif not (ch in _NAME_PUNCT or unicodedata.category(ch).startswith("M")):
            return False
    return has_letter


def _strip_markers(text: str) -> tuple[str, list[str], list[str], bool, bool]:
    """(text without its bracket markers, sponsor codes, remarks, admin fee, staff scholarship).

    Raises DomainRejection INVALID_NAME for an unbalanced bracket.
    """
    codes: list[str] = []
    remarks: list[str] = []
    admin_fee = staff = False

    def take(match: re.Match[str]) -> str:
        nonlocal admin_fee, staff
        if match.re is _REMARK:
            angle = brace = paren = None
            square = match.group(1)
        else:
            angle, brace, paren, square = match.groups()
        inner = clean_text(next(g for g in (angle, brace, paren, square) if g is not None))
        key = (inner or "").upper().replace(" ", "")
        if key == "AF":
            admin_fee = True
        elif key == "ST":
            staff = True
        elif angle is not None and inner:
            for code in _CODE_SPLIT.split(inner.upper()):
                admin_fee = admin_fee or code == "AF"
                staff = staff or code == "ST"
                if code and code not in codes:
                    codes.append(code)
        elif inner and (brace is not None or paren is not None or square is not None):
            remarks.append(inner)
        return " "

    # Remarks first (they may quote other brackets), then the markers; innermost first so
    # nested brackets also come out.
    for pattern in (_REMARK, _GROUP):
        previous = None
        while previous != text:
            previous = text
            text = pattern.sub(take, text)
    if _BRACKET.search(text):
        raise DomainRejection("INVALID_NAME", "unbalanced bracket in name")
    return text, codes, remarks, admin_fee, staff


def parse_name(raw: object) -> ParsedName:
    """Split a legacy name into family/personal name and markers.

    Raises DomainRejection MISSING_NAME when nothing is left once markers are removed, and
    INVALID_NAME when the rest is ambiguous: an unbalanced bracket, characters that are not
    name characters (digits, symbols), or a single word (family vs personal name unknown).
    A lone ``$`` is dropped but does not freeze; ``<AF>``/``<ST>`` count as the flags.
    Other ``{..}``/``(..)`` groups are remarks, like ``[..]``.
    """
    text = clean_text(raw)
    if text is None:
        raise DomainRejection("MISSING_NAME", "name is empty or a null marker")
    text = _APOSTROPHES(text)
    is_frozen = "$$" in text
    text = text.replace("$", " ")

    codes: list[str] = []
    remarks: list[str] = []
    admin_fee = staff = False
    # Most names have no bracket at all: nothing to look for.
    if _BRACKET.search(text):
        text, codes, remarks, admin_fee, staff = _strip_markers(text)
    codes = [c for c in codes if c not in _FLAG_CODES]  # flags, never sponsors

    words = [w.upper() for w in text.replace(",", " ").split() if w.strip(_NAME_PUNCT)]
    if not words:
        raise DomainRejection("MISSING_NAME", "name holds only markers")
    for word in words:
        if not _is_name_word(word):
            raise DomainRejection("INVALID_NAME", f"not a name word: {word[:30]!r}")
    if len(words) == 1:
        raise DomainRejection("INVALID_NAME", "single word: family and personal name unknown")
    family, personal = words[0], " ".join(words[1:])
    return ParsedName(
        family_name=family,
        personal_name=personal,
        full_name=f"{family} {personal}",
        sponsor_codes=tuple(codes),
        is_frozen=is_frozen,
        admin_fee=admin_fee,
        staff_scholarship=staff,
        remark="; ".join(remarks) if remarks else None,
    )
