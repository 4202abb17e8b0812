"""Limon legacy-font text -> Khmer Unicode, written from the published key table (limon.md).

Limon text stores glyphs in *visual* order: left-side vowels (``e`` ``E`` ``é``) and the
coeng-ro (``®``/``R``) are typed before the consonant they belong to, and split vowels are
typed as a left part before the cluster and a right part after it. Unicode stores the
*logical* order (base, subscripts, shifter, vowel, signs). The converter therefore

1. tokenizes with longest match, so two-character keys (``ea`` ``b¤`` ``B§`` ...) win over
   their one-character prefixes (the old tool's defect: it never produced ោ or ើ);
2. builds one cluster per base consonant, attaching the pre-typed parts to it and merging a
   pending ``e`` with a following ``a A I O o`` into the split vowel;
3. emits each cluster in a normalized sign order (see :func:`_emit`);
4. strips surrounding whitespace (the old tool left a trailing newline).

Text that already contains Khmer Unicode is returned unchanged (stripped); it is a fixed point.
:func:`khmer_problems` checks a result as a sequence of well-formed Khmer clusters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

LIMON_VERSION = "1"
"""Bump whenever any input's output changes; part of the mapping version (fingerprints)."""

COENG = "\u17d2"
RO = "\u179a"
VOWEL_E = "\u17c1"

_KHMER = re.compile("[\u1780-\u17ff\u19e0-\u19ff]")

# Token kinds.
_BASE, _SUB, _CRO, _PRE, _VOWEL, _SHIFT, _SIGN, _WORD, _OTHER = range(9)

_CONSONANTS = {
    "k": "\u1780",
    "x": "\u1781",
    "K": "\u1782",
    "X": "\u1783",
    "g": "\u1784",
    "c": "\u1785",
    "q": "\u1786",
    "C": "\u1787",
    "Q": "\u1788",
    "j": "\u1789",
    "d": "\u178a",
    "z": "\u178b",
    "D": "\u178c",
    "Z": "\u178d",
    "N": "\u178e",
    "t": "\u178f",
    "f": "\u1790",
    "T": "\u1791",
    "F": "\u1792",
    "n": "\u1793",
    "b": "\u1794",
    ")": "\u1794",
    "p": "\u1795",
    "B": "\u1796",
    "P": "\u1797",
    "m": "\u1798",
    "y": "\u1799",
    "r": "\u179a",
    "l": "\u179b",
    "v": "\u179c",
    "s": "\u179f",
    "h": "\u17a0",
    "L": "\u17a1",
    "G": "\u17a2",
}
# Subscript keys -> the consonant under the coeng. `þ` is TA and DA (same glyph): emit TA.
_SUBSCRIPTS = {
    "á": "\u1780",
    "ç": "\u1781",
    "Á": "\u1782",
    "Ç": "\u1783",
    "¶": "\u1784",
    "©": "\u1785",
    "ä": "\u1786",
    "¢": "\u1787",
    "Ä": "\u1788",
    "Ø": "\u1789",
    "æ": "\u178b",
    "Ð": "\u178c",
    "Æ": "\u178d",
    "Ñ": "\u178e",
    "þ": "\u178f",
    "ß": "\u1790",
    "Þ": "\u1791",
    "§": "\u1792",
    "ñ": "\u1793",
    ",": "\u1794",
    "ö": "\u1795",
    "<": "\u1796",
    "Ö": "\u1797",
    "µ": "\u1798",
    "ü": "\u1799",
    "ø": "\u179b",
    "V": "\u179c",
    "S": "\u179f",
    "ð": "\u17a0",
    "¥": "\u17a2",
}
_INDEPENDENT = {
    "\\": "\u17a5",
    "|": "\u17a6",
    "]": "\u17a7",
    "«": "\u17aa",
    "b¤": "\u17ab",
    "b£": "\u17ac",
    "B¤": "\u17ad",
    "B£": "\u17ae",
    "É": "\u17af",
    "B§": "\u17b0",
    "»": "\u17b1",
    "[": "\u17b2",
}
_PRE_VOWELS = {"e": "\u17c1", "E": "\u17c2", "é": "\u17c3"}
_RIGHT_VOWELS = {
    "a": "\u17b6",
    "i": "\u17b7",
    "I": "\u17b8",
    "w": "\u17b9",
    "W": "\u17ba",
    "u": "\u17bb",
    "U": "\u17bc",
    "Y": "\u17bd",
    "ú": "\u17bb",
    "Ú": "\u17bc",
}
# Right parts that complete a pending `e` into a split vowel (e..a = ោ, ...).
_SPLIT = {"a": "\u17c4", "A": "\u17c5", "I": "\u17be", "O": "\u17bf", "o": "\u17c0"}
# The same split vowels typed adjacent (no cluster in between).
_ADJACENT_SPLIT = {"e" + right: vowel for right, vowel in _SPLIT.items()}
_SHIFTERS = {":": "\u17c9", "‘": "\u17ca", "\u0091": "\u17ca"}
_SIGNS = {
    "M": "\u17c6",
    "H": "\u17c7",
    "³": "\u17c8",
    ";": "\u17cb",
    "’": "\u17cc",
    "\u0092": "\u17cc",
    "_": "\u17cd",
    "¾": "\u17cf",
    "½": "\u17d0",
}
_OTHERS = {
    "0": "\u17e0",
    "1": "\u17e1",
    "2": "\u17e2",
    "3": "\u17e3",
    "4": "\u17e4",
    "5": "\u17e5",
    "6": "\u17e6",
    "7": "\u17e7",
    "8": "\u17e8",
    "9": "\u17e9",
    ".": "\u17d4",
    "²": "\u17d7",
    "`": "\u17db",
    ">": ".",
    "°": "%",
    "¬": "(",
    "¦": ")",
}
# One key that is a whole cluster: ´ = ខ្ញុំ ("I").
_WORDS = {"´": "\u1781\u17d2\u1789\u17bb\u17c6"}


def _build_keys() -> dict[str, tuple[int, str]]:
    keys: dict[str, tuple[int, str]] = {}
    keys.update({k: (_BASE, v) for k, v in _CONSONANTS.items()})
    keys.update({k: (_BASE, v) for k, v in _INDEPENDENT.items()})
    keys.update({k: (_SUB, v) for k, v in _SUBSCRIPTS.items()})
    keys.update({k: (_CRO, RO) for k in ("®", "R")})
    keys.update({k: (_PRE, v) for k, v in _PRE_VOWELS.items()})
    keys.update({k: (_VOWEL, v) for k, v in _RIGHT_VOWELS.items()})
    keys.update({k: (_VOWEL, v) for k, v in _ADJACENT_SPLIT.items()})
    # A, O, o only mean something as the right part of a split vowel; alone they stay Latin.
    keys.update({k: (_VOWEL, k) for k in _SPLIT if k not in keys})
    keys.update({k: (_SHIFT, v) for k, v in _SHIFTERS.items()})
    keys.update({k: (_SIGN, v) for k, v in _SIGNS.items()})
    keys.update({k: (_OTHER, v) for k, v in _OTHERS.items()})
    keys.update({k: (_WORD, v) for k, v in _WORDS.items()})
    return keys


KEYS: dict[str, tuple[int, str]] = _build_keys()
_MAX_KEY = max(len(k) for k in KEYS)
_KEY_SIZES = range(_MAX_KEY, 0, -1)  # longest first

# Vowel pairs that Unicode writes as one character (a typist may type e then a/I).
_VOWEL_PAIRS = {("\u17c1", "\u17b6"): "\u17c4", ("\u17c1", "\u17b8"): "\u17be"}

# Order of signs after the vowel: above-marks first, then the final (post-base) marks.
_SIGN_RANK = {
    "\u17cb": 0,
    "\u17cd": 1,
    "\u17ce": 2,
    "\u17cf": 3,
    "\u17d0": 4,
    "\u17d1": 5,
    "\u17dd": 6,
    "\u17c6": 7,
    "\u17c7": 8,
    "\u17c8": 9,
}


@dataclass
class _Cluster:
    base: str
    pre: list[str] = field(default_factory=list)  # pre-typed left vowels, in Unicode form
    robat: list[str] = field(default_factory=list)
    subs: list[str] = field(default_factory=list)  # subscript consonants (without coeng)
    coeng_ro: int = 0
    shifters: list[str] = field(default_factory=list)
    vowels: list[str] = field(default_factory=list)
    signs: list[str] = field(default_factory=list)
    closed: bool = False  # a whole-word glyph: nothing attaches to it

    def add_vowel(self, key: str, vowel: str) -> None:
        """Attach a right-side vowel, completing a pending `e` into a split vowel."""
        if key in _SPLIT and self.pre == [VOWEL_E]:
            self.pre = []
            self.vowels.append(_SPLIT[key])
        else:
            self.vowels.append(vowel)


def _emit(cluster: _Cluster) -> str:
    """Normalized logical order: base, robat, subscripts (coeng-ro last), shifter, vowel, signs.

    This is the order Unicode's Khmer syllable structure and common normalizers use, so text
    typed with signs in any order compares equal after conversion.
    """
    if cluster.closed:
        return cluster.base
    vowels = cluster.pre + cluster.vowels
    merged: list[str] = []
    for vowel in vowels:
        if merged and (merged[-1], vowel) in _VOWEL_PAIRS:
            merged[-1] = _VOWEL_PAIRS[(merged[-1], vowel)]
        else:
            merged.append(vowel)
    signs = sorted(cluster.signs, key=lambda s: _SIGN_RANK.get(s, 99))
    return "".join(
        [cluster.base, *cluster.robat]
        + [COENG + sub for sub in cluster.subs]
        + [COENG + RO] * cluster.coeng_ro
        + cluster.shifters
        + merged
        + signs
    )


def tokenize(text: str) -> list[tuple[int, str, str]]:
    """Split Limon text into (kind, key, unicode) tokens, longest key first."""
    tokens: list[tuple[int, str, str]] = []
    i = 0
    while i < len(text):
        for size in _KEY_SIZES:
            key = text[i : i + size]  # shorter at the end of the text: tried as it is
            if key in KEYS:
                kind, uni = KEYS[key]
                tokens.append((kind, key, uni))
                i += len(key)
                break
        else:
            tokens.append((_OTHER, text[i], text[i]))  # unknown: kept, flagged by validation
            i += 1
    return tokens


def contains_khmer(text: str) -> bool:
    """True when the text already holds Khmer Unicode (U+1780-U+17FF or Khmer symbols)."""
    return _KHMER.search(text) is not None


def limon_to_unicode(text: str) -> str:
    """Convert Limon-typed text to Khmer Unicode; Khmer Unicode input is returned as is.

    Never raises. Unknown characters are kept (so :func:`khmer_problems` can flag them).
    """
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    text = text.strip()
    if contains_khmer(text):
        return text
    return _convert(text)


@lru_cache(maxsize=16384)
def _convert(text: str) -> str:
    """The conversion proper (cached: legacy tables repeat names and syllables)."""
    out: list[str | _Cluster] = []
    pending_pre: list[str] = []
    pending_ro = 0
    current: _Cluster | None = None

    def flush_pending() -> None:
        # Pre-typed parts with no base after them (end of word, or a mark follows): the
        # typist used logical order for the previous cluster, so they join it when it can
        # take them; otherwise they are emitted bare and flagged by validation.
        nonlocal pending_pre, pending_ro
        if current is not None and not current.closed:
            if pending_pre and not (current.vowels or current.pre):
                current.pre, pending_pre = pending_pre, []
            current.coeng_ro += pending_ro
            pending_ro = 0
        out.extend(pending_pre)
        out.extend([COENG + RO] * pending_ro)
        pending_pre, pending_ro = [], 0

    for kind, key, uni in tokenize(text):
        if kind == _BASE:
            current = _Cluster(base=uni, pre=pending_pre, coeng_ro=pending_ro)
            pending_pre, pending_ro = [], 0
            out.append(current)
        elif kind == _PRE:
            pending_pre.append(uni)
        elif kind == _CRO:
            pending_ro += 1
        elif kind in (_SUB, _SHIFT, _VOWEL, _SIGN):
            flush_pending()
            _attach(current, out, kind, key, uni)
        else:
            flush_pending()
            current = _Cluster(base=uni, closed=True) if kind == _WORD else None
            out.append(current if current is not None else uni)
    flush_pending()
    return "".join(_emit(part) if isinstance(part, _Cluster) else part for part in out).strip()


def _attach(
    current: _Cluster | None, out: list[str | _Cluster], kind: int, key: str, uni: str
) -> None:
    """Attach a post-base mark to the open cluster, or emit it bare (invalid, flagged later)."""
    if current is None or current.closed:
        out.append(COENG + uni if kind == _SUB else uni)
    elif kind == _SUB:
        current.subs.append(uni)
    elif kind == _SHIFT:
        current.shifters.append(uni)
    elif kind == _VOWEL:
        current.add_vowel(key, uni)
    elif uni == "\u17cc":
        current.robat.append(uni)
    else:
        current.signs.append(uni)


# --- validation -------------------------------------------------------------------------

_CONS = "\u1780-\u17a2"
_BASES = "\u1780-\u17b3"
_CLUSTER = (
    f"[{_BASES}]\u17cc?(?:\u17d2[{_CONS}]){{0,3}}[\u17c9\u17ca]?"
    "[\u17b6-\u17c5]?[\u17c6-\u17c8\u17cb-\u17d1\u17d3\u17dd]{0,3}"
)
_STANDALONE = "[\u17d4-\u17dc\u17e0-\u17e9\u17f0-\u17f9\u19e0-\u19ff0-9 .,()%'\"-]"
_CLUSTER_RE = re.compile(f"{_CLUSTER}|{_STANDALONE}")


def khmer_problems(text: str) -> str | None:
    """None when the text is a sequence of well-formed Khmer clusters; else why not.

    A cluster is a base (consonant or independent vowel), an optional robat, up to three
    subscripts, an optional shifter, at most one dependent vowel and up to three signs.
    """
    pos = 0
    while pos < len(text):
        match = _CLUSTER_RE.match(text, pos)
        if match is None or match.end() == pos:
            ch = text[pos]
            return f"unexpected {ch!r} (U+{ord(ch):04X}) at position {pos}"
        pos = match.end()
    if not text.strip():
        return "empty"
    return None
