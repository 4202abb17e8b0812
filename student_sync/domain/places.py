"""Free-text birth place -> birth_province choice key (domain.md list).

The old tool stored lower-case keys matching no choice. Lookup here folds case, accents,
punctuation and spacing (``phnompenh`` = ``Phnom Penh``), normalizes the many spellings of
*Kampong* (Kg, Kg., K., Kompong, Kampung, Kpg), drops words such as *province* or *city*, and
knows provincial towns (Sihanoukville, Poipet, Banlung...). Foreign countries and cities map
to INTERNATIONAL; a non-KH citizenship always does (domain rule).
"""

from __future__ import annotations

import re
from functools import lru_cache

from .common import Parsed, clean_text, fold, warn
from .nationality import lookup_country

PROVINCES = (
    "BANTEAY_MEANCHEY",
    "BATTAMBANG",
    "KAMPONG_CHAM",
    "KAMPONG_CHHNANG",
    "KAMPONG_SPEU",
    "KAMPONG_THOM",
    "KAMPOT",
    "KANDAL",
    "KEP",
    "KOH_KONG",
    "KRATIE",
    "MONDULKIRI",
    "ODDAR_MEANCHEY",
    "PAILIN",
    "PHNOM_PENH",
    "PREAH_SIHANOUK",
    "PREAH_VIHEAR",
    "PREY_VENG",
    "PURSAT",
    "RATANAKIRI",
    "SIEM_REAP",
    "STUNG_TRENG",
    "SVAY_RIENG",
    "TAKEO",
    "TBOUNG_KHMUM",
)
INTERNATIONAL = "INTERNATIONAL"
UNKNOWN = "UNKNOWN"

# Spellings per province, written folded (lower case); spaces are ignored when matching.
_SPELLINGS: dict[str, tuple[str, ...]] = {
    "BANTEAY_MEANCHEY": (
        "banteay meanchey",
        "banteay mean chey",
        "banteay meanchay",
        "b meanchey",
        "bmc",
        "sisophon",
        "serei saophoan",
        "poipet",
        "\u1794\u1793\u17d2\u1791\u17b6\u1799\u1798\u17b6\u1793\u1787\u17d0\u1799",
    ),
    "BATTAMBANG": (
        "battambang",
        "batambang",
        "battambong",
        "batdambang",
        "btb",
        "\u1794\u17b6\u178f\u17cb\u178a\u17c6\u1794\u1784",
    ),
    "KAMPONG_CHAM": (
        "kampong cham",
        "kampongcham",
        "kg cham",
        "\u1780\u17c6\u1796\u1784\u17cb\u1785\u17b6\u1798",
    ),
    "KAMPONG_CHHNANG": (
        "kampong chhnang",
        "kampong chnang",
        "kampong chhnaing",
        "\u1780\u17c6\u1796\u1784\u17cb\u1786\u17d2\u1793\u17b6\u17c6\u1784",
    ),
    "KAMPONG_SPEU": (
        "kampong speu",
        "kampong spue",
        "kampong spoe",
        "chbar mon",
        "\u1780\u17c6\u1796\u1784\u17cb\u179f\u17d2\u1796\u17ba",
    ),
    "KAMPONG_THOM": (
        "kampong thom",
        "kampong thum",
        "stung sen",
        "stueng saen",
        "\u1780\u17c6\u1796\u1784\u17cb\u1792\u17c6",
    ),
    "KAMPOT": ("kampot", "kompot", "kampoth", "\u1780\u17c6\u1796\u178f"),
    "KANDAL": (
        "kandal",
        "kandaal",
        "ta khmau",
        "takhmao",
        "ta khmao",
        "\u1780\u178e\u17d2\u178f\u17b6\u179b",
        "\u1780\u178e\u17d2\u178a\u17b6\u179b",
    ),
    "KEP": ("kep", "kaeb", "krong kep", "\u1780\u17c2\u1794"),
    "KOH_KONG": (
        "koh kong",
        "kaoh kong",
        "koh kung",
        "khemarak phoumin",
        "\u1780\u17c4\u17c7\u1780\u17bb\u1784",
    ),
    "KRATIE": ("kratie", "kracheh", "kratieh", "\u1780\u17d2\u179a\u1785\u17c1\u17c7"),
    "MONDULKIRI": (
        "mondulkiri",
        "mondolkiri",
        "mondul kiri",
        "mondol kiri",
        "mundulkiri",
        "sen monorom",
        "senmonorom",
        "\u1798\u178e\u17d2\u178c\u179b\u1782\u17b7\u179a\u17b8",
    ),
    "ODDAR_MEANCHEY": (
        "oddar meanchey",
        "otdar meanchey",
        "oddar mean chey",
        "otdar mean chey",
        "odor meanchey",
        "samraong",
        "samrong",
        "\u17a7\u178f\u17d2\u178f\u179a\u1798\u17b6\u1793\u1787\u17d0\u1799",
    ),
    "PAILIN": ("pailin", "pai lin", "\u1794\u17c9\u17c3\u179b\u17b7\u1793"),
    "PHNOM_PENH": (
        "phnom penh",
        "phnum penh",
        "phnom pehn",
        "pnom penh",
        "phnompenh city",
        "pp",
        "p p",
        "\u1797\u17d2\u1793\u17c6\u1796\u17c1\u1789",
    ),
    "PREAH_SIHANOUK": (
        "preah sihanouk",
        "sihanoukville",
        "sihanouk ville",
        "sihanouk",
        "kampong som",
        "kampong saom",
        "shv",
        "\u1796\u17d2\u179a\u17c7\u179f\u17b8\u17a0\u1793\u17bb",
    ),
    "PREAH_VIHEAR": (
        "preah vihear",
        "preah vihea",
        "preah vihar",
        "tbeng meanchey",
        "\u1796\u17d2\u179a\u17c7\u179c\u17b7\u17a0\u17b6\u179a",
    ),
    "PREY_VENG": ("prey veng", "prey vieng", "\u1796\u17d2\u179a\u17c3\u179c\u17c2\u1784"),
    "PURSAT": (
        "pursat",
        "pouthisat",
        "pousat",
        "posat",
        "\u1796\u17c4\u1792\u17b7\u17cd\u179f\u17b6\u178f\u17cb",
    ),
    "RATANAKIRI": (
        "ratanakiri",
        "ratanakkiri",
        "rattanakiri",
        "rattanakkiri",
        "ratanak kiri",
        "rotanakiri",
        "banlung",
        "\u179a\u178f\u1793\u1782\u17b7\u179a\u17b8",
    ),
    "SIEM_REAP": (
        "siem reap",
        "siemreap",
        "siem riep",
        "siem reab",
        "sr",
        "\u179f\u17c0\u1798\u179a\u17b6\u1794",
    ),
    "STUNG_TRENG": (
        "stung treng",
        "stueng traeng",
        "steung treng",
        "stungtreng",
        "\u179f\u17d2\u1791\u17b9\u1784\u178f\u17d2\u179a\u17c2\u1784",
    ),
    "SVAY_RIENG": (
        "svay rieng",
        "svay reang",
        "svay rieng",
        "\u179f\u17d2\u179c\u17b6\u1799\u179a\u17c0\u1784",
    ),
    "TAKEO": ("takeo", "takev", "ta keo", "doun kaev", "\u178f\u17b6\u1780\u17c2\u179c"),
    "TBOUNG_KHMUM": (
        "tboung khmum",
        "tbong khmum",
        "tbaung khmum",
        "tbong khmom",
        "suong",
        "\u178f\u17d2\u1794\u17bc\u1784\u1783\u17d2\u1798\u17bb\u17c6",
    ),
}
_FOREIGN_CITIES = (
    "bangkok",
    "chiang mai",
    "pattaya",
    "ho chi minh",
    "ho chi minh city",
    "saigon",
    "hcmc",
    "hanoi",
    "da nang",
    "can tho",
    "vientiane",
    "luang prabang",
    "pakse",
    "yangon",
    "rangoon",
    "mandalay",
    "kuala lumpur",
    "penang",
    "singapore",
    "jakarta",
    "bali",
    "manila",
    "cebu",
    "beijing",
    "shanghai",
    "guangzhou",
    "shenzhen",
    "kunming",
    "hong kong",
    "taipei",
    "tokyo",
    "osaka",
    "kyoto",
    "seoul",
    "busan",
    "delhi",
    "new delhi",
    "mumbai",
    "dhaka",
    "kathmandu",
    "sydney",
    "melbourne",
    "brisbane",
    "perth",
    "adelaide",
    "auckland",
    "wellington",
    "paris",
    "lyon",
    "marseille",
    "london",
    "manchester",
    "berlin",
    "munich",
    "hamburg",
    "amsterdam",
    "brussels",
    "geneva",
    "zurich",
    "rome",
    "madrid",
    "barcelona",
    "lisbon",
    "stockholm",
    "oslo",
    "copenhagen",
    "helsinki",
    "vienna",
    "prague",
    "warsaw",
    "moscow",
    "new york",
    "los angeles",
    "long beach",
    "san francisco",
    "san jose",
    "seattle",
    "chicago",
    "boston",
    "houston",
    "dallas",
    "philadelphia",
    "lowell",
    "washington dc",
    "toronto",
    "vancouver",
    "montreal",
    "ottawa",
    "mexico city",
    "dubai",
    "abu dhabi",
    "doha",
    "nairobi",
    "cairo",
    "johannesburg",
)
_DROP_WORDS = re.compile(
    r"\b(?:province|provincial|prov|city|town|municipality|capital|khett|khaet|krong|"
    r"kingdom of cambodia|cambodia|kh|ville de)\b"
    # Khmer: khaet (province), reachthani (capital), krong (city); no word breaks in Khmer.
    r"|\u1781\u17c1\u178f\u17d2\u178f|\u179a\u17b6\u1787\u1792\u17b6\u1793\u17b8"
    r"|\u1780\u17d2\u179a\u17bb\u1784"
)
_KAMPONG = re.compile(r"\b(?:kg|k|kpg|kompong|kampung|kompung|kampog|kom pong|kam pong)\b")


def _key(text: str) -> str:
    """Folded, Kampong-normalized, space-free key."""
    folded = _KAMPONG.sub("kampong", fold(text))
    folded = _DROP_WORDS.sub(" ", folded)
    return folded.replace(" ", "")


def _build() -> tuple[dict[str, str], frozenset[str]]:
    index = {}
    for province, spellings in _SPELLINGS.items():
        index[_key(province.replace("_", " "))] = province
        for spelling in spellings:
            index[_key(spelling)] = province
    return index, frozenset(_key(city) for city in _FOREIGN_CITIES)


_INDEX, _FOREIGN = _build()


@lru_cache(maxsize=16384)
def province_of(text: str) -> str | None:
    """Province key, INTERNATIONAL, or None when the text names no known place."""
    key = _key(text)
    if not key:
        return None
    if key in _INDEX:
        return _INDEX[key]
    if key in _FOREIGN:
        return INTERNATIONAL
    country = lookup_country(text, codes=False)
    if country is not None:
        return None if country == "KH" else INTERNATIONAL
    # "Street 5, Sangkat X, Phnom Penh" / "Lyon, France": the most specific known part wins
    # from the end, where addresses name the province or country.
    parts = [p for p in re.split(r"[,;/()\n]+|\s-\s", text) if p.strip()]
    if len(parts) > 1:
        for part in reversed(parts):
            found = province_of(part)
            if found is not None:
                return found
    return None


def birth_province(raw: object, citizenship: str) -> Parsed[str]:
    """Province choice key for ``birth_place``.

    Non-KH citizenship -> INTERNATIONAL whatever the text says (domain rule). A foreign city
    or country -> INTERNATIONAL. Null -> UNKNOWN silently; unrecognized -> UNKNOWN with
    UNKNOWN_PROVINCE (the raw text is quoted for the registrar).
    """
    if isinstance(citizenship, str) and citizenship.strip().upper() not in ("KH", ""):
        return Parsed(INTERNATIONAL)
    text = clean_text(raw)
    if text is None:
        return Parsed(UNKNOWN)
    found = province_of(text)
    if found is None:
        return Parsed(UNKNOWN, (warn("UNKNOWN_PROVINCE", "birth_place", "unrecognized", text),))
    return Parsed(found)
