"""Free-text nationality -> ISO 3166-1 alpha-2 citizenship (iso3166 library + demonyms).

The old tool took the first two letters (``Cambodian`` -> ``Ca``, ``NULL`` -> ``NU``).
Here country names, official and short forms, alpha-2/alpha-3 codes (from the MIT-licensed
``iso3166`` package) and a hand table of demonyms and colloquial names are looked up.
"""

from __future__ import annotations

import re
from functools import lru_cache

import iso3166

from .common import Parsed, clean_text, fold, warn

DEFAULT_CITIZENSHIP = "KH"

# Demonyms and colloquial country names that iso3166 does not hold (folded keys).
_EXTRA: dict[str, str] = {
    "cambodian": "KH",
    "cambodia": "KH",
    "khmer": "KH",
    "kampuchea": "KH",
    "cambodge": "KH",
    "kh": "KH",
    "khm": "KH",
    "cambodgien": "KH",
    "cambodienne": "KH",
    "khmere": "KH",
    "\u1781\u17d2\u1798\u17c2\u179a": "KH",  # ខ្មែរ
    "\u1780\u1798\u17d2\u1796\u17bb\u1787\u17b6": "KH",  # កម្ពុជា
    "american": "US",
    "usa": "US",
    "us": "US",
    "u s a": "US",
    "u s": "US",
    "america": "US",
    "united states": "US",
    "us citizen": "US",
    "british": "GB",
    "uk": "GB",
    "u k": "GB",
    "united kingdom": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "english": "GB",
    "scottish": "GB",
    "welsh": "GB",
    "vietnamese": "VN",
    "vietnam": "VN",
    "viet nam": "VN",
    "thai": "TH",
    "thailand": "TH",
    "lao": "LA",
    "laotian": "LA",
    "laos": "LA",
    "chinese": "CN",
    "china": "CN",
    "prc": "CN",
    "taiwanese": "TW",
    "taiwan": "TW",
    "hong konger": "HK",
    "japanese": "JP",
    "korean": "KR",
    "south korean": "KR",
    "south korea": "KR",
    "korea": "KR",
    "republic of korea": "KR",
    "north korean": "KP",
    "north korea": "KP",
    "filipino": "PH",
    "filipina": "PH",
    "philippine": "PH",
    "philippines": "PH",
    "malaysian": "MY",
    "singaporean": "SG",
    "indonesian": "ID",
    "burmese": "MM",
    "myanmar": "MM",
    "burma": "MM",
    "bruneian": "BN",
    "brunei": "BN",
    "timorese": "TL",
    "east timor": "TL",
    "indian": "IN",
    "pakistani": "PK",
    "bangladeshi": "BD",
    "sri lankan": "LK",
    "nepali": "NP",
    "nepalese": "NP",
    "bhutanese": "BT",
    "mongolian": "MN",
    "australian": "AU",
    "new zealander": "NZ",
    "kiwi": "NZ",
    "canadian": "CA",
    "mexican": "MX",
    "brazilian": "BR",
    "argentine": "AR",
    "argentinian": "AR",
    "chilean": "CL",
    "colombian": "CO",
    "peruvian": "PE",
    "french": "FR",
    "german": "DE",
    "dutch": "NL",
    "holland": "NL",
    "netherlands": "NL",
    "belgian": "BE",
    "swiss": "CH",
    "austrian": "AT",
    "italian": "IT",
    "spanish": "ES",
    "portuguese": "PT",
    "irish": "IE",
    "swedish": "SE",
    "swede": "SE",
    "norwegian": "NO",
    "danish": "DK",
    "dane": "DK",
    "finnish": "FI",
    "icelandic": "IS",
    "polish": "PL",
    "czech": "CZ",
    "czech republic": "CZ",
    "slovak": "SK",
    "hungarian": "HU",
    "romanian": "RO",
    "bulgarian": "BG",
    "greek": "GR",
    "turkish": "TR",
    "turkey": "TR",
    "russian": "RU",
    "russia": "RU",
    "ukrainian": "UA",
    "israeli": "IL",
    "iranian": "IR",
    "iran": "IR",
    "iraqi": "IQ",
    "saudi": "SA",
    "saudi arabian": "SA",
    "emirati": "AE",
    "uae": "AE",
    "egyptian": "EG",
    "moroccan": "MA",
    "nigerian": "NG",
    "kenyan": "KE",
    "ghanaian": "GH",
    "ethiopian": "ET",
    "south african": "ZA",
    "ugandan": "UG",
    "tanzanian": "TZ",
    "cameroonian": "CM",
    "jamaican": "JM",
    "cuban": "CU",
    "syrian": "SY",
    "syria": "SY",
    "lebanese": "LB",
    "jordanian": "JO",
    "afghan": "AF",
    "uzbek": "UZ",
    "kazakh": "KZ",
    "bolivia": "BO",
    "venezuela": "VE",
    "venezuelan": "VE",
    "vatican": "VA",
    "moldova": "MD",
    "macedonia": "MK",
    "palestine": "PS",
    "palestinian": "PS",
    "tanzania": "TZ",
    "micronesia": "FM",
}
_SPLIT = re.compile(r"\s*(?:/|,|;|&|\+|-|\band\b|\bor\b)\s*", re.IGNORECASE)


def _build_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for table in (iso3166.countries_by_name, iso3166.countries_by_apolitical_name):
        for name, country in table.items():
            index.setdefault(fold(name), country.alpha2)
            short = fold(name.split(",")[0])  # "KOREA, REPUBLIC OF" -> "korea"
            index.setdefault(short, country.alpha2)
    index.update(_EXTRA)
    return index


_INDEX = _build_index()
# Codes match only when typed in capitals: lower-case "no", "in", "me" are words, not codes.
_CODES = (
    {c.alpha2: c.alpha2 for c in iso3166.countries}
    | {c.alpha3: c.alpha2 for c in iso3166.countries}
    | {"UK": "GB"}
)


def lookup_country(text: str, *, codes: bool = True) -> str | None:
    """Alpha-2 code for a country name or demonym in any case (or a capitalized code), else None.

    ``codes=False`` skips alpha-2/alpha-3 codes, for texts (places) where "SR" or "PP" is an
    abbreviation of something else.
    """
    key = fold(text)
    if not key:
        return None
    code = text.strip().rstrip(".")
    if codes and code in _CODES:
        return _CODES[code]
    found = _INDEX.get(key) or _INDEX.get(key.replace(" ", ""))
    if found is None and key.endswith(" citizen"):
        found = _INDEX.get(key.removesuffix(" citizen"))
    return found


def nationality_to_citizenship(raw: object) -> Parsed[str]:
    """ISO alpha-2 citizenship; null -> KH silently; unknown -> KH with UNKNOWN_NATIONALITY.

    Several nationalities (``Cambodian/American``) take the first recognized one, with a
    MULTIPLE_NATIONALITIES warning, since the SIS holds one citizenship.
    """
    text = clean_text(raw)
    if text is None:
        return Parsed(DEFAULT_CITIZENSHIP)
    return _citizenship(text)


@lru_cache(maxsize=4096)
def _citizenship(text: str) -> Parsed[str]:
    found = lookup_country(text)
    if found is not None:
        return Parsed(found)
    parts = [p for p in _SPLIT.split(text) if p.strip()]
    if len(parts) == 1:
        parts = text.split()
    codes = [c for c in (lookup_country(p) for p in parts) if c is not None]
    if codes and len(parts) > 1:
        unique = list(dict.fromkeys(codes))
        if len(unique) == 1:
            return Parsed(unique[0])
        detail = f"kept {unique[0]} of {', '.join(unique)}"
        return Parsed(unique[0], (warn("MULTIPLE_NATIONALITIES", "nationality", detail, text),))
    return Parsed(
        DEFAULT_CITIZENSHIP,
        (warn("UNKNOWN_NATIONALITY", "nationality", "unrecognized, KH assumed", text),),
    )
