"""The words and weighted value lists the demo generator draws from.

Everything is invented: Latin names come from syllables, Khmer names from Limon syllables
(each paired with its Khmer Unicode), streets and phone prefixes are plausible shapes only.
The weighted pools mirror the spellings the school's legacy table really holds (domain.md),
null spellings included, in rough proportion.
"""

from __future__ import annotations

from itertools import chain

from student_sync.engine.schema import KNOWN_SPONSORS

KNOWN_CODES: tuple[str, ...] = tuple(code for code, _ in KNOWN_SPONSORS)
UNKNOWN_CODES: tuple[str, ...] = ("XYZ", "ABC", "UNK", "SCH1")
# The legacy null spellings (domain.md) the generator writes; each one is null for
# ``student_sync.domain.is_null`` (tested), the sync's one definition of a null marker.
NULL_SPELLINGS: tuple[str | None, ...] = (None, "NULL", "null", "NA", "", "  ")
DATE_NULL_SPELLINGS: tuple[str | None, ...] = (*NULL_SPELLINGS, "0000-00-00")

# --------------------------------------------------------------------------- Khmer syllables
# (Limon keys in visual typing order, the same syllable in Khmer Unicode), written from the
# Limon key table in docs/limon.md: pre-base vowels and coeng-ro typed first, split vowels
# around the consonant, shifters and subscripts after the base.
KHMER_FAMILY_NAMES: tuple[tuple[str, str], ...] = (
    ("sux", "\u179f\u17bb\u1781"),  # សុខ
    ("ehg", "\u17a0\u17c1\u1784"),  # ហេង
    ("lIm", "\u179b\u17b8\u1798"),  # លីម
    ("Ekv", "\u1780\u17c2\u179c"),  # កែវ
    ("esA", "\u179f\u17c5"),  # សៅ   (split vowel e..A)
    ("cnÞ", "\u1785\u1793\u17d2\u1791"),  # ចន្ទ
    ("b\u2018un", "\u1794\u17ca\u17bb\u1793"),  # ប៊ុន (shifter)
    ("esog", "\u179f\u17c0\u1784"),  # សៀង  (split vowel e..o)
    ("eCOn", "\u1787\u17bf\u1793"),  # ជឿន  (split vowel e..O)
    ("eRsg", "\u179f\u17d2\u179a\u17c1\u1784"),  # ស្រេង (vowel + coeng-ro before base)
    ("esam", "\u179f\u17c4\u1798"),  # សោម  (split vowel e..a)
    ("elIm", "\u179b\u17be\u1798"),  # លើម  (split vowel e..I)
    ("eFOn", "\u1792\u17bf\u1793"),  # ធឿន
    ("sVay", "\u179f\u17d2\u179c\u17b6\u1799"),  # ស្វាយ
    ("GUn", "\u17a2\u17bc\u1793"),  # អូន
    ("BuT§", "\u1796\u17bb\u1791\u17d2\u1792"),  # ពុទ្ធ
)
KHMER_PERSONAL_NAMES: tuple[tuple[str, str], ...] = (
    ("dara", "\u178a\u17b6\u179a\u17b6"),  # ដារា
    ("rdæa", "\u179a\u178a\u17d2\u178b\u17b6"),  # រដ្ឋា
    ("suPa", "\u179f\u17bb\u1797\u17b6"),  # សុភា
    ("BisI", "\u1796\u17b7\u179f\u17b8"),  # ពិសី
    ("vNÑa", "\u179c\u178e\u17d2\u178e\u17b6"),  # វណ្ណា
    ("rtna", "\u179a\u178f\u1793\u17b6"),  # រតនា
    ("RsI", "\u179f\u17d2\u179a\u17b8"),  # ស្រី  (coeng-ro typed first)
    ("sMNag", "\u179f\u17c6\u178e\u17b6\u1784"),  # សំណាង
    ("sIha", "\u179f\u17b8\u17a0\u17b6"),  # សីហា
    ("mkra", "\u1798\u1780\u179a\u17b6"),  # មករា
    ("m:alI", "\u1798\u17c9\u17b6\u179b\u17b8"),  # ម៉ាលី (shifter)
    ("cMerIn", "\u1785\u17c6\u179a\u17be\u1793"),  # ចំរើន (split vowel inside a word)
    ("PkþI", "\u1797\u1780\u17d2\u178f\u17b8"),  # ភក្តី
    ("tula", "\u178f\u17bb\u179b\u17b6"),  # តុលា
    ("nIta", "\u1793\u17b8\u178f\u17b6"),  # នីតា
    ("rsµI", "\u179a\u179f\u17d2\u1798\u17b8"),  # រស្មី
)

# --------------------------------------------------------------------------- Latin syllables
LATIN_ONSETS = (
    "S",
    "Ch",
    "K",
    "P",
    "Ph",
    "Th",
    "V",
    "R",
    "L",
    "M",
    "N",
    "H",
    "Y",
    "B",
    "D",
    "T",
    "Kh",
    "Sr",
    "Pr",
    "Chh",
    "Nh",
    "",
)
LATIN_RIMES = (
    "ok",
    "an",
    "eo",
    "im",
    "eng",
    "eas",
    "ea",
    "y",
    "uth",
    "ol",
    "ath",
    "ara",
    "ey",
    "on",
    "ith",
    "ina",
    "ou",
    "ov",
    "ay",
    "eap",
    "ich",
    "ong",
    "um",
    "eat",
    "ar",
    "en",
    "ny",
    "ida",
    "orn",
    "aly",
)
REMARKS = ("[left 2019]", "[see file]", "[twin]", "[re-admitted]", "[check DOB]", "[old id 7]")
STREETS = ("St. 271", "St. 2004", "Norodom Blvd", "St. 63", "Russian Blvd", "St. 598", "NR 5")
ADDRESS_PROVINCES = (
    "Phnom Penh",
    "Kandal",
    "Takeo",
    "Kampong Cham",
    "Siem Reap",
    "Battambang",
    "Prey Veng",
    "Kampot",
)
PHONE_PREFIXES = (
    "012",
    "011",
    "015",
    "016",
    "017",
    "092",
    "097",
    "069",
    "070",
    "077",
    "078",
    "085",
    "088",
    "089",
    "096",
    "010",
)


def weighted_pool(*weighted: tuple[str | None, float], size: int = 1024) -> tuple[str | None, ...]:
    """A lookup table of ``size`` (a power of two) entries in proportion to the weights.

    Indexing it with ``getrandbits(log2(size))`` is one cheap draw per field; the largest
    remainders get the entries left over after rounding down.
    """
    total = sum(weight for _, weight in weighted)
    exact = [weight / total * size for _, weight in weighted]
    counts = [int(share) for share in exact]
    by_remainder = sorted(range(len(exact)), key=lambda at: exact[at] - counts[at], reverse=True)
    for position in by_remainder[: size - sum(counts)]:
        counts[position] += 1
    return tuple(
        chain.from_iterable(
            [value] * count for (value, _), count in zip(weighted, counts, strict=True)
        )
    )


GENDERS = weighted_pool(
    ("M", 27),
    ("F", 27),
    ("Male", 12),
    ("Female", 12),
    ("Monk", 2.5),
    ("m", 3),
    ("f", 3),
    ("male", 2),
    ("female", 2),
    ("MALE", 1),
    ("FEMALE", 1),
    (" F ", 1),
    ("monk", 0.5),
    (None, 2),
    ("NULL", 1.5),
    ("", 1),
    ("NA", 0.5),
)
BIRTH_PLACES = weighted_pool(
    ("Phnom Penh", 22),
    ("phnompenh", 4),
    ("PP", 3),
    ("Sihanoukville", 3),
    ("Kg Cham", 5),
    ("Kampong Cham", 3),
    ("Kompong Speu", 4),
    ("Siemreap", 4),
    ("Siem Reap", 4),
    ("Takeo", 5),
    ("Takév", 1),
    ("Battambang", 6),
    ("Prey Veng", 5),
    ("Kandal", 6),
    ("Kampot", 3),
    ("Mondolkiri", 1),
    ("Ratanakkiri", 1),
    ("Svay Rieng", 3),
    ("Pursat", 2),
    ("Kratie", 2),
    ("Bangkok", 1),
    ("Tokyo", 0.6),
    ("Ho Chi Minh City", 0.6),
    (None, 3),
    ("NULL", 2),
    ("", 1),
    ("  ", 0.5),
    ("null", 0.5),
    ("NA", 0.5),
)
NATIONALITIES = weighted_pool(
    ("Cambodian", 48),
    ("CAMBODIA", 8),
    ("Khmer", 14),
    ("KH", 5),
    ("cambodian", 3),
    ("Cambodia", 5),
    ("American", 1),
    ("Japanese", 0.8),
    ("Thai", 0.8),
    ("Vietnamese", 0.6),
    (None, 6),
    ("NULL", 4),
    ("", 2),
    ("NA", 1),
    ("null", 0.5),
    ("  ", 0.5),
)
TRANSFERS = weighted_pool(
    (None, 38),
    ("", 25),
    ("NULL", 6),
    ("No", 10),
    ("N", 5),
    ("Yes", 8),
    ("Y", 1),
    ("From RUPP", 4),
    ("From NUM", 2),
    ("  ", 1),
)
RELATIONSHIPS = weighted_pool(
    ("Father", 22),
    ("mother", 8),
    ("Mother", 18),
    ("Brother", 10),
    ("Sister", 8),
    ("Aunt", 6),
    ("Uncle", 6),
    ("Guardian", 5),
    ("FATHER", 3),
    ("Grandmother", 3),
    ("Husband", 2),
    ("Wife", 2),
    ("Friend", 2),
    ("cousin", 1),
    (None, 2),
    ("NULL", 1.5),
    ("", 0.5),
)
STATUSES = weighted_pool(
    ("Active", 52),
    ("active", 2),
    ("Inactive", 10),
    ("Graduated", 15),
    ("Dropped", 5),
    ("Suspended", 2),
    (None, 7),
    ("NULL", 4),
    ("", 2),
    ("NA", 1),
)
PROGRAMS = weighted_pool(
    ("BA in English", 20),
    ("BBA", 15),
    ("MBA", 8),
    ("IEAP", 15),
    ("GESL", 10),
    ("MA TESOL", 4),
    ("BA in IR", 6),
    (None, 12),
    ("NULL", 8),
    ("", 2),
)
PHONE_WORDS = ("none", "N/A", "no phone", "-", "unknown")
EMAIL_DOMAINS = ("example.com", "example.org", "mail.example.net", "example.edu")
SCHOOL_EMAIL_DOMAIN = "students.school.example.edu"
NOTES = (
    "scholarship review",
    "transfer credits pending",
    'paid "in full", see office',
    "moved to evening class",
    "prefers Khmer name on certificate",
    "address changed\nsee registrar",
)
