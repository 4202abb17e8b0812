"""Legacy gender text -> (preferred_gender, is_monk)."""

from __future__ import annotations

from .common import Parsed, clean_text, fold, warn

_GENDERS: dict[str, tuple[str, bool]] = {}
for _keys, _value in (
    (
        ("m", "male", "man", "boy", "mr", "masculine", "\u1794\u17d2\u179a\u17bb\u179f"),
        ("M", False),
    ),
    (
        (
            "f",
            "female",
            "woman",
            "girl",
            "ms",
            "mrs",
            "miss",
            "feminine",
            "\u179f\u17d2\u179a\u17b8",
        ),
        ("F", False),
    ),
    (
        (
            "monk",
            "monks",
            "ven",
            "venerable",
            "bhikkhu",
            "bhikku",
            "novice monk",
            "\u1797\u17b7\u1780\u17d2\u1781\u17bb",
        ),
        ("M", True),
    ),
    (("n", "nonbinary", "non binary", "other", "o", "third gender"), ("N", False)),
    (
        ("x", "u", "unknown", "not stated", "not specified", "unspecified", "prefer not to say"),
        ("X", False),
    ),
):
    for _key in _keys:
        _GENDERS[_key] = _value


def parse_gender(raw: object) -> Parsed[tuple[str, bool]]:
    """M/F/Male/Female/Monk in any case or spacing; a monk is male (``is_monk``).

    The old tool turned Male/Female into X. Null -> ('X', False) without warning (not
    stated); anything unrecognized -> ('X', False) with UNKNOWN_GENDER.
    """
    text = clean_text(raw)
    if text is None:
        return Parsed(("X", False))
    key = fold(text)
    found = _GENDERS.get(key) or _GENDERS.get(key.replace(" ", ""))
    if found is None:
        return Parsed(("X", False), (warn("UNKNOWN_GENDER", "gender", "unrecognized", text),))
    return Parsed(found)
