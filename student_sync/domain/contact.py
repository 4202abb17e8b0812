"""Email addresses, phone numbers and emergency-contact relationship."""

from __future__ import annotations

import re

from .common import DomainWarning, Parsed, clean_text, fold, warn

# Practical RFC 5322 subset: dot-atom local part, hostname labels, alphabetic TLD.
_EMAIL = re.compile(
    r"^(?=.{3,254}$)(?=[^@]{1,64}@)"
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
)
_EMAIL_SPLIT = re.compile(r"[\s,;/]+")
_NO_EMAIL: Parsed[str | None] = Parsed(None)


def normalize_email(raw: object, field: str) -> Parsed[str | None]:
    """Trimmed, lower-cased, validated address; invalid -> None + INVALID_EMAIL.

    A ``mailto:`` prefix and surrounding ``<>`` are removed. When a cell holds several
    addresses, the first valid one is kept with a MULTIPLE_EMAILS warning.
    """
    text = clean_text(raw)
    if text is None:
        return _NO_EMAIL
    lowered = text.lower().strip("<>\"' ")
    lowered = lowered.removeprefix("mailto:").rstrip(".")
    if _EMAIL.match(lowered):
        return Parsed(lowered)
    candidates = [c.strip("<>\"'()") for c in _EMAIL_SPLIT.split(lowered)]
    valid = [c for c in candidates if _EMAIL.match(c)]
    if valid and len([c for c in candidates if "@" in c]) > 1:
        return Parsed(valid[0], (warn("MULTIPLE_EMAILS", field, "kept the first address", text),))
    return Parsed(None, (warn("INVALID_EMAIL", field, "not a valid address", text),))


_PHONE_SPLIT = re.compile(r"\s*(?:/|\\|,|;|&|\||\n|\bor\b|\band\b)\s*", re.IGNORECASE)
_EXTENSION = re.compile(r"\b(?:ext|extension|x)\.?\s*\d{1,5}\s*$", re.IGNORECASE)
_PLAIN_PHONE = re.compile(r"\+?[0-9]+(?:[ -][0-9]+)*")
_NON_DIGIT = re.compile(r"\D")
_LEADING_NON_DIGITS = re.compile(r"^[^\d+]+")
MAX_DIGITS = 15  # E.164: a longer run of digits is several numbers typed together
_NO_PHONES: Parsed[tuple[str | None, str | None]] = Parsed((None, None))


def _runs(part: str) -> list[str]:
    """Split one separator-free part at a space before a group starting with 0 or +, once a
    full local number (8+ digits) has been read: "012 345 678 097 123 4567" is two numbers."""
    runs: list[str] = []
    current: list[str] = []
    for group in part.split():
        # Digits are counted only where a split could happen (most groups are not there).
        if current and group[:1] in ("0", "+") and sum(map(str.isdigit, "".join(current))) >= 8:
            runs.append(" ".join(current))
            current = []
        current.append(group)
    if current:
        runs.append(" ".join(current))
    return runs


def _phone(part: str) -> str | None:
    """Digits of one number, keeping a leading '+'; None when it holds fewer than 6 digits."""
    # Every extension marker holds an "x" (and no other character matches x ignoring case).
    if "x" in part or "X" in part:
        part = _EXTENSION.sub("", part)
    digits = _NON_DIGIT.sub("", part)
    if len(digits) < 6:
        return None
    stripped = _LEADING_NON_DIGITS.sub("", part)
    return ("+" if stripped.startswith("+") else "") + digits


def split_phones(raw: object) -> Parsed[tuple[str | None, str | None]]:
    """Split a multi-number field into (primary, secondary), digits only (leading '+' kept).

    Separators: / \\ , ; & | newline, "or"/"and", and a space before a new number that
    starts with 0 or +. Words around numbers ("Mobile:", "ext 12") are dropped.
    Warnings: UNPARSED_PHONE when no number is found or a run has more than 15 digits (E.164
    maximum; the value is dropped rather than guessed); EXTRA_PHONE when more than two
    numbers are given (the first two are kept). Values are at most 16 characters.
    """
    text = clean_text(raw)
    if text is None:
        return _NO_PHONES
    if _PLAIN_PHONE.fullmatch(text) and " 0" not in text:
        # The common case: one number, digit groups split by spaces or hyphens, none of
        # them a group starting with 0 (where a second number could start, see ``_runs``).
        number = text.replace(" ", "").replace("-", "")
        if 6 <= len(number.lstrip("+")) <= MAX_DIGITS:
            return Parsed((number, None))
    warnings: list[DomainWarning] = []
    numbers: list[str] = []
    for part in (run for piece in _PHONE_SPLIT.split(text) for run in _runs(piece)):
        number = _phone(part)
        if number is None:
            continue
        if len(number.lstrip("+")) > MAX_DIGITS:
            warnings.append(warn("UNPARSED_PHONE", "contact_person_phone", "too many digits", part))
            continue
        if number not in numbers:
            numbers.append(number)
    if not numbers and not warnings:
        warnings.append(warn("UNPARSED_PHONE", "contact_person_phone", "no phone number", text))
    if len(numbers) > 2:
        warnings.append(
            warn(
                "EXTRA_PHONE",
                "contact_person_phone",
                f"{len(numbers) - 2} further number(s) dropped",
                text,
            )
        )
    primary = numbers[0] if numbers else None
    secondary = numbers[1] if len(numbers) > 1 else None
    return Parsed((primary, secondary), tuple(warnings))


RELATIONSHIPS = (
    "FATHER",
    "MOTHER",
    "SPOUSE",
    "PARTNER",
    "SIBLING",
    "GRANDPARENT",
    "GUARDIAN",
    "FRIEND",
    "OTHER",
)
# Uncles, aunts, cousins and in-laws are relatives, not legal guardians: OTHER.
_RELATION_WORDS: dict[str, tuple[str, ...]] = {
    "FATHER": (
        "father",
        "dad",
        "daddy",
        "papa",
        "pa",
        "farther",
        "stepfather",
        "step father",
        "\u17aa\u1796\u17bb\u1780",
        "\u1796\u17bb\u1780",
    ),
    "MOTHER": (
        "mother",
        "mom",
        "mum",
        "mommy",
        "mummy",
        "mama",
        "ma",
        "mather",
        "stepmother",
        "step mother",
        "\u1798\u17d2\u178f\u17b6\u1799",
        "\u1798\u17d2\u178a\u17b6\u1799",
        "\u1798\u17c9\u17c2",
    ),
    "SPOUSE": (
        "spouse",
        "husband",
        "wife",
        "\u1794\u17d2\u178f\u17b8",
        "\u1794\u17d2\u178a\u17b8",
        "\u1794\u17d2\u179a\u1796\u1793\u17d2\u1792",
    ),
    "PARTNER": ("partner", "fiance", "fiancee", "boyfriend", "girlfriend"),
    "SIBLING": (
        "sibling",
        "brother",
        "sister",
        "bro",
        "sis",
        "older brother",
        "younger brother",
        "older sister",
        "younger sister",
        "elder brother",
        "elder sister",
        "big brother",
        "big sister",
        "twin",
        "\u1794\u1784",
        "\u1794\u17d2\u17a2\u17bc\u1793",
        "\u1794\u1784\u1794\u17d2\u179a\u17bb\u179f",
        "\u1794\u1784\u179f\u17d2\u179a\u17b8",
    ),
    "GRANDPARENT": (
        "grandparent",
        "grandfather",
        "grandmother",
        "grandpa",
        "grandma",
        "granny",
        "grand father",
        "grand mother",
        "grandparents",
        "\u1787\u17b8\u178f\u17b6",
        "\u1799\u17b6\u1799",
        "\u178f\u17b6",
    ),
    "GUARDIAN": (
        "guardian",
        "legal guardian",
        "caretaker",
        "caregiver",
        "foster parent",
        "foster father",
        "foster mother",
        "godparent",
        "godfather",
        "godmother",
        "sponsor",
        "\u17a2\u17b6\u178e\u17b6\u1796\u17d2\u1799\u17b6\u1794\u17b6\u179b",
    ),
    "FRIEND": (
        "friend",
        "best friend",
        "classmate",
        "roommate",
        "room mate",
        "neighbor",
        "neighbour",
        "\u1798\u17b7\u178f\u17d2\u178f",
        "\u1798\u17b7\u178f\u17d2\u178f\u1797\u1780\u17d2\u178f\u17b7",
    ),
    "OTHER": (
        "other",
        "uncle",
        "aunt",
        "auntie",
        "aunty",
        "cousin",
        "nephew",
        "niece",
        "relative",
        "family",
        "son",
        "daughter",
        "brother in law",
        "sister in law",
        "mother in law",
        "father in law",
        "teacher",
        "boss",
        "employer",
        "monk",
        "\u1796\u17bc",
        "\u1798\u17b8\u1784",
        "\u17a2\u17ca\u17bb\u17c6",
        "\u1794\u1784\u1794\u17d2\u17a2\u17bc\u1793\u1787\u17b8\u178a\u17bc\u1793"
        "\u1798\u17bd\u1799",
    ),
}
_RELATION_INDEX = {
    fold(word): choice for choice, words in _RELATION_WORDS.items() for word in words
}
_POSSESSIVE = re.compile(r"^(?:my|his|her|the|student s|students)\s+")


def relationship_choice(raw: object) -> Parsed[str]:
    """Relationship choice; null -> OTHER silently; unrecognized -> OTHER + UNKNOWN_RELATIONSHIP.

    Matching is on whole folded phrases, then on the last word ("older brother" ->
    brother), so "father's friend" is not FATHER. Uncle/aunt/cousin/in-laws are OTHER
    (relatives, not legal guardians); only an explicit guardian/caretaker is GUARDIAN.
    """
    text = clean_text(raw)
    if text is None:
        return Parsed("OTHER")
    key = _POSSESSIVE.sub("", fold(text))
    found = _RELATION_INDEX.get(key)
    if found is None and " in law" not in key and key:
        found = _RELATION_INDEX.get(key.split()[-1])
    if found is None and key.replace(" ", "") in _RELATION_INDEX:
        found = _RELATION_INDEX[key.replace(" ", "")]
    if found is None:
        return Parsed(
            "OTHER", (warn("UNKNOWN_RELATIONSHIP", "relationship", "unrecognized", text),)
        )
    return Parsed(found)
