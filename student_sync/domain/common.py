"""Shared value types and null handling for the legacy-data rules.

Every rule is a pure function: strings in, values out. Data-quality problems are
returned as :class:`DomainWarning` values (the engine counts them per rule in the
report) and never raised; only a row that cannot become a person at all raises
:class:`DomainRejection`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

# The legacy null markers (domain.md), as compared after trimming and lower-casing: the one
# definition the transform, the engine's SQL filters and the demo data share. "none" is not
# one: the documented data never uses it as a null, and where it occurs it is a word with a
# meaning (a transfer "none" is no transfer; a phone "none" is reported as unparsed).
NULL_MARKERS: frozenset[str] = frozenset({"", "null", "na", "n/a"})
_LONGEST_MARKER = max(map(len, NULL_MARKERS))  # longer text is no marker (see _is_null_text)
ZERO_DATE = "0000-00-00"  # SQL Server's empty date, null in date columns
_ZERO_DATE = re.compile(r"^0000-00-00(?:[ t]00:00(?::00(?:[.:]0+)?)?)?$")
_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class DomainWarning:
    """A data-quality note on one legacy column; the row is still migrated."""

    code: str
    field: str
    detail: str


@dataclass(frozen=True)
class Parsed(Generic[T]):
    """A rule's result plus the warnings it produced (empty when the value was clean)."""

    value: T
    warnings: tuple[DomainWarning, ...] = ()


class DomainRejection(Exception):
    """The row cannot be migrated (e.g. no usable name); carries an UPPER_SNAKE reason."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


def _as_text(value: object) -> str | None:
    """Text form of a raw cell; bytes are decoded leniently so no input can raise."""
    if value is None:
        return None
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    try:
        return str(value)
    except Exception:  # a hostile __str__ must not abort a run
        return None


def _is_null_text(stripped: str) -> bool:
    """``is_null`` of already stripped text.

    Text longer than the longest marker that does not start with "0" (a zero date) is no
    null: checked first, because nearly every cell is such text and lower-casing it costs
    more. (Lower-casing never shortens text, and only "0" lower-cases to "0".)
    """
    if len(stripped) > _LONGEST_MARKER and stripped[:1] != "0":
        return False
    lowered = stripped.lower()
    return lowered in NULL_MARKERS or bool(_ZERO_DATE.match(lowered))


def is_null(value: object) -> bool:
    """True for SQL NULL and the legacy null markers (NULL, NA, blank, 0000-00-00), any case."""
    if type(value) is str:  # the common case: no conversion needed
        return _is_null_text(value.strip())
    text = _as_text(value)
    if text is None:
        return True
    if isinstance(value, float) and value != value:  # pandas NaN
        return True
    return _is_null_text(text.strip())


def clean_text(value: object) -> str | None:
    """Trimmed text with inner whitespace runs collapsed; None for null markers.

    Non-breaking and other Unicode spaces count as whitespace, and zero-width
    characters and control characters are dropped, because exports carry them
    invisibly and they would otherwise defeat every later comparison.
    """
    if type(value) is str and value.isprintable():
        # The common case, once per cell: printable text holds no character to drop and no
        # whitespace but " ", so trimming and collapsing double spaces is all there is to do.
        text = value.strip()
        if _is_null_text(text):
            return None
        return text if "  " not in text else " ".join(text.split())
    if is_null(value):
        return None
    text = _as_text(value) or ""
    if not text.isprintable():  # printable text has no Cc/Cf character (the ASCII case too)
        text = "".join(
            ch for ch in text if ch in "\t\n\r" or unicodedata.category(ch) not in ("Cc", "Cf")
        )
    return " ".join(text.split()) or None


def warn(code: str, field: str, detail: str, raw: object = None) -> DomainWarning:
    """Build a warning whose detail quotes (a short prefix of) the raw value."""
    if raw is not None:
        shown = (_as_text(raw) or "")[:60]
        detail = f"{detail}: {shown!r}"
    return DomainWarning(code, field, detail)


def fold(text: str) -> str:
    """Lower-case, accent-free, punctuation-as-space key for table lookups.

    Only Latin combining accents are dropped (so Khmer signs, which are marks too,
    survive); apostrophes vanish so "Kampong Chh'nang" and "Kampong Chhnang" meet.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    out: list[str] = []
    for ch in decomposed:
        if "\u0300" <= ch <= "\u036f" or ch in "'\u2019\u2018\u02bc`":
            continue
        out.append(ch if ch.isalnum() or unicodedata.category(ch).startswith("M") else " ")
    return _WS.sub(" ", "".join(out)).strip()


class Translation:
    """``str.translate`` by a fixed table, skipped where it cannot change the text: ASCII text
    holding none of the table's ASCII characters (nearly every legacy name) comes back as it
    is, so the rules need not each keep their own list of the characters that matter."""

    def __init__(self, mapping: dict[str, str]) -> None:
        self._table = str.maketrans(mapping)
        ascii_keys = "".join(k for k in mapping if k.isascii())
        self._ascii = re.compile(f"[{re.escape(ascii_keys)}]") if ascii_keys else None

    def __call__(self, text: str) -> str:
        if text.isascii() and (self._ascii is None or self._ascii.search(text) is None):
            return text
        return text.translate(self._table)
