"""Khmer name of a student from ``kname`` (Limon or Unicode), with ``kname2`` as fallback.

Limon or Latin is decided on evidence, never on capitalization (in Limon ``C`` ``K`` ``E`` ...
are ordinary Khmer keys: ជា "Chea" is typed ``Ca``). The evidence is the row itself: the
English ``name`` column holds the romanized name, so a ``kname`` that repeats it is English
typed into the Khmer column; otherwise text that converts to well-formed Khmer is Limon.

A Limon word can be spelled like its own romanization (ដារា is ``dara``, "Dara"), so one
shared word does not make a whole ``kname`` English when the rest converts cleanly:

1. every word repeats a word of the English name -> English, not converted;
2. it converts to well-formed Khmer -> Limon;
3. some word repeats the English name -> English (a Latin name with a typo or an extra word);
4. Latin letters survive the conversion -> not Limon, not converted;
5. otherwise the malformed conversion is kept with a warning, for a registrar to fix.

A word "repeats" a word of the English name when they are equal ignoring case (markers
stripped from the name), written as a Latin name word is (``dara``, ``Dara``, ``DARA``, not
``lIm``, which is Limon for លីម).
"""

from __future__ import annotations

import re
from functools import lru_cache

from .common import DomainWarning, Parsed, Translation, clean_text, warn
from .limon import contains_khmer, khmer_problems, limon_to_unicode

_NOT_LIMON_LEFTOVER = re.compile(r"[A-Za-z\u00c0-\u00ff]")
_NO_LETTERS = re.compile(r"^[\W\d_]+$")
# Markers of the English name column (names.py): $$, <CODE>, {AF}, (ST), [remark].
_NAME_MARKERS = re.compile(r"\$+|<[^<>]*>|\{[^{}]*\}|\([^()]*\)|\[[^\[\]]*\]")
_NAME_MARKER_START = re.compile(r"[$<{(\[]")
_APOSTROPHES = Translation({"\u2019": "'", "\u2018": "'", "`": "'", "\u02bc": "'"})
# A word as Latin names are written: lower, Title or upper case in each part.
_LATIN_PART = r"(?:[a-z]+|[A-Z][a-z]*|[A-Z]+)"
_LATIN_WORD = re.compile(rf"{_LATIN_PART}(?:['-]{_LATIN_PART})*")
# (value, valid, warnings) of one Khmer name column; value None means nothing usable.
_Candidate = tuple[str | None, bool, tuple[DomainWarning, ...]]
_NOTHING: _Candidate = (None, False, ())


def _words(text: str) -> list[str]:
    return _APOSTROPHES(text).replace(",", " ").split()


def english_words(name: object) -> frozenset[str]:
    """The English name's words, markers stripped, case-folded (for the repeat test)."""
    text = clean_text(name)
    if text is None:
        return frozenset()
    if _NAME_MARKER_START.search(text):  # most names have none
        text = _NAME_MARKERS.sub(" ", text)
    return frozenset(w.casefold() for w in _words(text))


@lru_cache(maxsize=16384)
def _latin_words(text: str) -> tuple[str | None, ...] | None:
    """None for Khmer Unicode or text without letters (classified as it is); otherwise, per
    word, its case fold when written as a Latin name word is, else None (never a repeat).

    Depends on the text alone, so it is memoized: Khmer names repeat across students, while
    the English name each is compared with is nearly unique.
    """
    if contains_khmer(text) or _NO_LETTERS.match(text):
        return None
    return tuple(
        word.casefold() if _LATIN_WORD.fullmatch(word) is not None else None
        for word in _words(text)
    )


def _candidate(
    raw: object, field: str, name: object
) -> tuple[str | None, bool, tuple[DomainWarning, ...]]:
    """(value, valid, warnings) for one column; value None means nothing usable."""
    text = clean_text(raw)
    if text is None:
        return _NOTHING
    latin = _latin_words(text)
    if latin is None:
        return _classify(text, field)
    every = some = False
    if any(latin):  # else no word can repeat the English name: no need to read it
        english = english_words(name)
        if english:
            hits = [word is not None and word in english for word in latin]
            every, some = all(hits), any(hits)  # latin holds a word, so hits is not empty
    if every:
        return (
            None,
            False,
            (warn("INVALID_KHMER", field, "Latin text (the English name), not converted", text),),
        )
    value, valid, warnings = _classify(text, field)
    if some and not valid:
        return (
            None,
            False,
            (
                warn(
                    "INVALID_KHMER",
                    field,
                    "Latin text (part of the English name), not converted",
                    text,
                ),
            ),
        )
    return value, valid, warnings


@lru_cache(maxsize=16384)
def _classify(text: str, field: str) -> tuple[str | None, bool, tuple[DomainWarning, ...]]:
    """Classify non-null text: Unicode (kept), junk (None), or Limon (converted if it can be)."""
    if contains_khmer(text):
        problem = khmer_problems(text)
        if problem:
            return text, False, (warn("INVALID_KHMER", field, f"Khmer Unicode: {problem}"),)
        return text, True, ()
    if _NO_LETTERS.match(text):
        return None, False, (warn("INVALID_KHMER", field, "no letters, not converted", text),)
    converted = limon_to_unicode(text)
    problem = khmer_problems(converted)
    if problem is None:
        return converted, True, ()
    if _NOT_LIMON_LEFTOVER.search(converted):
        return None, False, (warn("INVALID_KHMER", field, "not Limon text, not converted", text),)
    return converted, False, (warn("INVALID_KHMER", field, f"Limon: {problem}", text),)


def khmer_name(kname: object, kname2: object, name: object = None) -> Parsed[str | None]:
    """Khmer name in Unicode: the first column that converts cleanly wins.

    ``name`` is the row's English name column, the evidence that tells Latin text typed into
    ``kname`` from Limon (see the module docstring). Order of preference: a valid ``kname``,
    a valid ``kname2``, then a converted but malformed value (kept, with an INVALID_KHMER
    warning, so a registrar can fix it). Null markers, digits-only and Latin text are never
    converted (the old tool turned ``NULL`` into Khmer letters); they give None plus a
    warning when nothing better exists.
    """
    first = _candidate(kname, "kname", name)
    second = _candidate(kname2, "kname2", name)
    for value, valid, _ in (first, second):
        if valid:
            return Parsed(value)
    for value, _, warnings in (first, second):
        if value is not None:
            return Parsed(value, warnings)
    return Parsed(None, first[2] + second[2])
