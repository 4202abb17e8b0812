"""Khmer name of a student from ``kname`` (Limon or Unicode), with ``kname2`` as fallback."""

from __future__ import annotations

import re
from functools import lru_cache

from .common import DomainWarning, Parsed, clean_text, warn
from .limon import contains_khmer, khmer_problems, limon_to_unicode

_NOT_LIMON_LEFTOVER = re.compile(r"[A-Za-z\u00c0-\u00ff]")
# Words that are all Title-case or all capitals ("Sok Dara", "SOK Dara", "KIM SUTH") are an
# English name typed into kname, not Limon: a Limon typist does not capitalize the first letter
# of each word, and a name typed only with shifted keys is not Khmer writing.
_LATIN_WORD = r"(?:[A-Z][a-z]+|[A-Z]{2,})(?:['-][A-Za-z]+)*"
_LATIN_WORDS = re.compile(f"^{_LATIN_WORD}(?: {_LATIN_WORD})*$")
_NO_LETTERS = re.compile(r"^[\W\d_]+$")


def _candidate(raw: object, field: str) -> tuple[str | None, bool, tuple[DomainWarning, ...]]:
    """(value, valid, warnings) for one column; value None means nothing usable."""
    text = clean_text(raw)
    if text is None:
        return None, False, ()
    return _classify(text, field)


@lru_cache(maxsize=16384)
def _classify(text: str, field: str) -> tuple[str | None, bool, tuple[DomainWarning, ...]]:
    """Classify non-null text: Unicode (kept), junk or Latin (None), or Limon (converted)."""
    if contains_khmer(text):
        problem = khmer_problems(text)
        if problem:
            return text, False, (warn("INVALID_KHMER", field, f"Khmer Unicode: {problem}"),)
        return text, True, ()
    if _NO_LETTERS.match(text):
        return None, False, (warn("INVALID_KHMER", field, "no letters, not converted", text),)
    if _LATIN_WORDS.match(text):
        return None, False, (warn("INVALID_KHMER", field, "Latin text, not converted", text),)
    converted = limon_to_unicode(text)
    problem = khmer_problems(converted)
    if problem is None:
        return converted, True, ()
    if _NOT_LIMON_LEFTOVER.search(converted):
        return None, False, (warn("INVALID_KHMER", field, "not Limon text, not converted",
                                  text),)
    return converted, False, (warn("INVALID_KHMER", field, f"Limon: {problem}", text),)


def khmer_name(kname: object, kname2: object) -> Parsed[str | None]:
    """Khmer name in Unicode: the first column that converts cleanly wins.

    Order of preference: a valid ``kname``, a valid ``kname2``, then a converted but
    malformed value (kept, with an INVALID_KHMER warning, so a registrar can fix it).
    Null markers, digits-only and Latin text are never converted (the old tool turned
    ``NULL`` into Khmer letters); they give None plus a warning when nothing better exists.
    """
    first = _candidate(kname, "kname")
    second = _candidate(kname2, "kname2")
    for value, valid, _ in (first, second):
        if valid:
            return Parsed(value)
    for value, _, warnings in (first, second):
        if value is not None:
            return Parsed(value, warnings)
    return Parsed(None, first[2] + second[2])
