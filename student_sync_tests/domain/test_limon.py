"""Limon -> Unicode vectors, written by hand from the key table and typing rules in limon.md.

Each expected string was derived by reading the keys one by one (never by running the
converter): left vowels and coeng-ro typed before the base move after it, split vowels are
joined, and the cluster is written as base, subscripts (coeng-ro last), shifter, vowel, signs.
"""

from __future__ import annotations

import pytest

from student_sync.domain import LIMON_VERSION, MAPPING_VERSION, khmer_problems, limon_to_unicode

# Every base consonant key, followed by vowel AA (`a` = U+17B6).
CONSONANTS = [
    ("ka", "\u1780\u17b6"),  # KA
    ("xa", "\u1781\u17b6"),  # KHA
    ("Ka", "\u1782\u17b6"),  # KO
    ("Xa", "\u1783\u17b6"),  # KHO
    ("ga", "\u1784\u17b6"),  # NGO
    ("ca", "\u1785\u17b6"),  # CA
    ("qa", "\u1786\u17b6"),  # CHA
    ("Ca", "\u1787\u17b6"),  # CO
    ("Qa", "\u1788\u17b6"),  # CHO
    ("ja", "\u1789\u17b6"),  # NYO
    ("da", "\u178a\u17b6"),  # DA
    ("za", "\u178b\u17b6"),  # TTHA
    ("Da", "\u178c\u17b6"),  # DO
    ("Za", "\u178d\u17b6"),  # TTHO
    ("Na", "\u178e\u17b6"),  # NNO
    ("ta", "\u178f\u17b6"),  # TA
    ("fa", "\u1790\u17b6"),  # THA
    ("Ta", "\u1791\u17b6"),  # TO
    ("Fa", "\u1792\u17b6"),  # THO
    ("na", "\u1793\u17b6"),  # NO
    ("ba", "\u1794\u17b6"),  # BA
    (")a", "\u1794\u17b6"),  # BA, alternative glyph key
    ("pa", "\u1795\u17b6"),  # PHA
    ("Ba", "\u1796\u17b6"),  # PO
    ("Pa", "\u1797\u17b6"),  # PHO
    ("ma", "\u1798\u17b6"),  # MO
    ("ya", "\u1799\u17b6"),  # YO
    ("ra", "\u179a\u17b6"),  # RO
    ("la", "\u179b\u17b6"),  # LO
    ("va", "\u179c\u17b6"),  # VO
    ("sa", "\u179f\u17b6"),  # SA
    ("ha", "\u17a0\u17b6"),  # HA
    ("La", "\u17a1\u17b6"),  # LA
    ("Ga", "\u17a2\u17b6"),  # QA
]

# Every subscript key, in a real word where possible.
SUBSCRIPTS = [
    ("sár", "\u179f\u17d2\u1780\u179a"),  # ស្ករ sugar: ្ក
    ("rukç", "\u179a\u17bb\u1780\u17d2\u1781"),  # រុក្ខ tree: ្ខ
    ("sgÁm", "\u179f\u1784\u17d2\u1782\u1798"),  # សង្គម society: ្គ
    ("sgÇ", "\u179f\u1784\u17d2\u1783"),  # សង្ឃ sangha: ្ឃ
    ("éf¶", "\u1790\u17d2\u1784\u17c3"),  # ថ្ងៃ day: ្ង with left vowel AI
    ("bj©b;", "\u1794\u1789\u17d2\u1785\u1794\u17cb"),  # បញ្ចប់ finish: ្ច
    ("bejäat", "\u1794\u1789\u17d2\u1786\u17c4\u178f"),  # បញ្ឆោត deceive: ្ឆ, split OO
    ("Gej¢Ij", "\u17a2\u1789\u17d2\u1787\u17be\u1789"),  # អញ្ជើញ invite: ្ជ, split OE
    ("bjÄb;", "\u1794\u1789\u17d2\u1788\u1794\u17cb"),  # បញ្ឈប់ stop: ្ឈ
    ("xØuM", "\u1781\u17d2\u1789\u17bb\u17c6"),  # ខ្ញុំ I: ្ញ
    ("mitþ", "\u1798\u17b7\u178f\u17d2\u178f"),  # មិត្ត friend: þ -> ្ត (TA)
    ("GFidæan", "\u17a2\u1792\u17b7\u178a\u17d2\u178b\u17b6\u1793"),  # អធិដ្ឋាន pray: ្ឋ
    ("mNÐl", "\u1798\u178e\u17d2\u178c\u179b"),  # មណ្ឌល centre: ្ឌ
    ("vDÆn³", "\u179c\u178c\u17d2\u178d\u1793\u17c8"),  # វឌ្ឍនៈ progress: ្ឍ, yuukaleapintu
    ("vNÑ³", "\u179c\u178e\u17d2\u178e\u17c8"),  # វណ្ណៈ class: ្ណ
    ("sßan", "\u179f\u17d2\u1790\u17b6\u1793"),  # ស្ថាន place: ្ថ
    ("sÞwg", "\u179f\u17d2\u1791\u17b9\u1784"),  # ស្ទឹង river: ្ទ
    ("sn§i", "\u179f\u1793\u17d2\u1792\u17b7"),  # សន្ធិ treaty: ្ធ
    ("PñM", "\u1797\u17d2\u1793\u17c6"),  # ភ្នំ mountain: ្ន, nikahit
    ("t,Ug", "\u178f\u17d2\u1794\u17bc\u1784"),  # ត្បូង gem: ្ប
    ("smösS", "\u179f\u1798\u17d2\u1795\u179f\u17d2\u179f"),  # សម្ផស្ស complexion: ្ផ ្ស
    ("s<an", "\u179f\u17d2\u1796\u17b6\u1793"),  # ស្ពាន bridge: ្ព
    ("smÖar", "\u179f\u1798\u17d2\u1797\u17b6\u179a"),  # សម្ភារ material: ្ភ
    ("XµuM", "\u1783\u17d2\u1798\u17bb\u17c6"),  # ឃ្មុំ bee: ្ម
    ("Büabal", "\u1796\u17d2\u1799\u17b6\u1794\u17b6\u179b"),  # ព្យាបាល treat: ្យ
    ("®sI", "\u179f\u17d2\u179a\u17b8"),  # ស្រី woman: ® typed before the base
    ("Rsuk", "\u179f\u17d2\u179a\u17bb\u1780"),  # ស្រុក district: R, the other coeng-ro key
    ("pøUv", "\u1795\u17d2\u179b\u17bc\u179c"),  # ផ្លូវ road: ្ល
    ("sVay", "\u179f\u17d2\u179c\u17b6\u1799"),  # ស្វាយ mango: ្វ
    ("lðug", "\u179b\u17d2\u17a0\u17bb\u1784"),  # ល្ហុង papaya: ្ហ
    ("s¥at", "\u179f\u17d2\u17a2\u17b6\u178f"),  # ស្អាត clean: ្អ
]

# Every dependent vowel key, including the two-part (split) vowels and the alternatives.
VOWELS = [
    ("dI", "\u178a\u17b8"),  # ដី land: ី
    ("nig", "\u1793\u17b7\u1784"),  # និង and: ិ
    ("Twk", "\u1791\u17b9\u1780"),  # ទឹក water: ឹ
    ("lW", "\u179b\u17ba"),  # លឺ hear: ឺ
    ("sux", "\u179f\u17bb\u1781"),  # សុខ: ុ
    ("súx", "\u179f\u17bb\u1781"),  # ú = ុ (alternative key)
    ("kUn", "\u1780\u17bc\u1793"),  # កូន child: ូ
    ("kÚn", "\u1780\u17bc\u1793"),  # Ú = ូ (alternative key)
    ("TYl", "\u1791\u17bd\u179b"),  # ទួល hill: ួ
    ("emX", "\u1798\u17c1\u1783"),  # មេឃ sky: េ typed before the base
    ("Ex", "\u1781\u17c2"),  # ខែ month: ែ
    ("éd", "\u178a\u17c3"),  # ដៃ hand: ៃ
    ("ecar", "\u1785\u17c4\u179a"),  # ចោរ thief: ោ = e..a
    ("eTA", "\u1791\u17c5"),  # ទៅ go: ៅ = e..A
    ("eFVI", "\u1792\u17d2\u179c\u17be"),  # ធ្វើ do: ើ = e..I around a subscript
    ("elOn", "\u179b\u17bf\u1793"),  # លឿន fast: ឿ = e..O
    ("eron", "\u179a\u17c0\u1793"),  # រៀន study: ៀ = e..o
    ("eka", "\u1780\u17c4"),  # limon.md example: កោ, not កេា
]

# Signs, shifters, independent vowels, digits and punctuation.
SIGNS = [
    ("mat;", "\u1798\u17b6\u178f\u17cb"),  # មាត់ mouth: bantoc
    ("Fm’", "\u1792\u1798\u17cc"),  # ធម៌ dharma: robat
    ("eBaFi_", "\u1796\u17c4\u1792\u17b7\u17cd"),  # ពោធិ៍: toandakhiat
    ("k¾", "\u1780\u17cf"),  # ក៏ also: ahsda
    ("C½y", "\u1787\u17d0\u1799"),  # ជ័យ victory: samyok sannya
    ("eBaH", "\u1796\u17c4\u17c7"),  # ពោះ belly: reahmuk after a split vowel
    ("b:unµan", "\u1794\u17c9\u17bb\u1793\u17d2\u1798\u17b6\u1793"),  # ប៉ុន្មាន: muusikatoan
    ("s‘I", "\u179f\u17ca\u17b8"),  # ស៊ី eat: triisap
    ("em:A", "\u1798\u17c9\u17c5"),  # ម៉ៅ: shifter inside a split vowel
    ("\\LUv", "\u17a5\u17a1\u17bc\u179c"),  # ឥឡូវ now: QI
    ("|", "\u17a6"),  # ឦ QII
    ("]Tahr_", "\u17a7\u1791\u17b6\u17a0\u179a\u17cd"),  # ឧទាហរ៍: QU
    ("«Buk", "\u17aa\u1796\u17bb\u1780"),  # ឪពុក father: QUUV
    ("b¤sSI", "\u17ab\u179f\u17d2\u179f\u17b8"),  # ឫស្សី bamboo: b¤ beats b
    ("b£", "\u17ac"),  # ឬ or: b£
    ("B¤", "\u17ad"),  # ឭ LY
    ("B£", "\u17ae"),  # ឮ hear: B£ beats B
    ("Ék", "\u17af\u1780"),  # ឯក one: QE
    ("B§", "\u17b0"),  # ឰ QAI: B§ beats B + subscript THO
    ("»ü", "\u17b1\u17d2\u1799"),  # ឱ្យ give: QOO type one
    ("[ü", "\u17b2\u17d2\u1799"),  # ឲ្យ give: QOO type two
    ("´", "\u1781\u17d2\u1789\u17bb\u17c6"),  # one key for the word ខ្ញុំ
    ("tUc²", "\u178f\u17bc\u1785\u17d7"),  # តូចៗ small-small: lek too
    ("sux.", "\u179f\u17bb\u1781\u17d4"),  # khan (full stop)
    ("2024", "\u17e2\u17e0\u17e2\u17e4"),  # digits
    ("6789", "\u17e6\u17e7\u17e8\u17e9"),
    ("1350`", "\u17e1\u17e3\u17e5\u17e0\u17db"),  # riel sign
    ("¬k¦", "(\u1780)"),  # parentheses
    ("50°", "\u17e5\u17e0%"),  # percent
    ("k>", "\u1780."),  # Latin full stop
]

# Reordering: pre-typed parts move after the base; coeng-ro goes after other subscripts.
REORDERING = [
    ("®sþI", "\u179f\u17d2\u178f\u17d2\u179a\u17b8"),  # limon.md example: ស្ត្រី
    ("e®bI", "\u1794\u17d2\u179a\u17be"),  # ប្រើ use: e, ®, base, I
    ("®ebI", "\u1794\u17d2\u179a\u17be"),  # the same typed ® before e
    ("e®kay", "\u1780\u17d2\u179a\u17c4\u1799"),  # ក្រោយ after
    ("®bus", "\u1794\u17d2\u179a\u17bb\u179f"),  # ប្រុស man
    ("®BH", "\u1796\u17d2\u179a\u17c7"),  # ព្រះ
    ("é®B", "\u1796\u17d2\u179a\u17c3"),  # ព្រៃ forest
    ("eTvI", "\u1791\u17c1\u179c\u17b8"),  # ទេវី: I belongs to the second cluster
    ("kek", "\u1780\u1780\u17c1"),  # e is typed before the second ka
    ("kaM", "\u1780\u17b6\u17c6"),  # កាំ
    ("kMa", "\u1780\u17b6\u17c6"),  # same, signs typed in the other order
    ("bu:", "\u1794\u17c9\u17bb"),  # shifter normalized before the vowel
    ("eFIV", "\u1792\u17d2\u179c\u17be"),  # subscript typed after the vowel: same ធ្វើ
    ("keA", "\u1780\u17c5"),  # eA typed together after the base (logical order) = ៅ
    ("keI", "\u1780\u17be"),  # eI together = ើ
    ("kea", "\u1780\u17c4"),  # ea together = ោ
    ("keo", "\u1780\u17c0"),  # eo together = ៀ
    ("keO", "\u1780\u17bf"),  # eO together = ឿ
    ("ke", "\u1780\u17c1"),  # a left vowel at the end of the word joins the last cluster
]

# Synthetic names and common name syllables.
NAMES = [
    ("sux dara", "\u179f\u17bb\u1781 \u178a\u17b6\u179a\u17b6"),  # សុខ ដារា
    ("can; suPa", "\u1785\u17b6\u1793\u17cb \u179f\u17bb\u1797\u17b6"),  # ចាន់ សុភា
    (
        "Ekv suP½®kþ",  # កែវ សុភ័ក្ត្រ: coeng-ro after ្ត
        "\u1780\u17c2\u179c \u179f\u17bb\u1797\u17d0\u1780\u17d2\u178f\u17d2\u179a",
    ),
    (
        "ehg sMNag",  # ហេង សំណាង
        "\u17a0\u17c1\u1784 \u179f\u17c6\u178e\u17b6\u1784",
    ),
    ("BisI", "\u1796\u17b7\u179f\u17b8"),  # ពិសី
    ("cnßa", "\u1785\u1793\u17d2\u1790\u17b6"),  # ចន្ថា
    ("sIhnu", "\u179f\u17b8\u17a0\u1793\u17bb"),  # សីហនុ
    ("elak", "\u179b\u17c4\u1780"),  # លោក
    ("esA rtna", "\u179f\u17c5 \u179a\u178f\u1793\u17b6"),  # សៅ រតនា
    ("Em:n vIrH", "\u1798\u17c9\u17c2\u1793 \u179c\u17b8\u179a\u17c7"),  # shifter, then AE
    (
        "eBaFi_sat;",  # ពោធិ៍សាត់ (province name)
        "\u1796\u17c4\u1792\u17b7\u17cd\u179f\u17b6\u178f\u17cb",
    ),
    ("PñMeBj", "\u1797\u17d2\u1793\u17c6\u1796\u17c1\u1789"),  # ភ្នំពេញ
    ("esomrab", "\u179f\u17c0\u1798\u179a\u17b6\u1794"),  # សៀមរាប
    ("kMBg;cam", "\u1780\u17c6\u1796\u1784\u17cb\u1785\u17b6\u1798"),  # កំពង់ចាម
    ("sux dara\n", "\u179f\u17bb\u1781 \u178a\u17b6\u179a\u17b6"),  # no trailing newline
    ("  \tsux ", "\u179f\u17bb\u1781"),  # nor surrounding blanks
]

ALL_VECTORS = CONSONANTS + SUBSCRIPTS + VOWELS + SIGNS + REORDERING + NAMES


def test_there_are_at_least_sixty_vectors() -> None:
    assert len(ALL_VECTORS) >= 60
    assert len({limon for limon, _ in ALL_VECTORS}) == len(ALL_VECTORS)


@pytest.mark.parametrize(("limon", "expected"), ALL_VECTORS)
def test_vector(limon: str, expected: str) -> None:
    assert limon_to_unicode(limon) == expected


@pytest.mark.parametrize(("limon", "expected"), ALL_VECTORS)
def test_vector_output_is_valid_khmer(limon: str, expected: str) -> None:
    assert khmer_problems(expected) is None


def test_every_key_in_the_table_is_covered() -> None:
    """Each key of limon.md appears in some vector (so the table has no untested entry)."""
    keys = (
        "áçÁÇ¶©ä¢ÄØþæÐÆÑßÞ§ñ,ö<ÖµüøVSð\u00a5®0123456789kxKXgcqCQjdzDZNtfTFnbpBPmyrlvshLG"
        "aiIwWuUYeEé\\|]«ÉB»[MH³:‘;’_¾½.²`R)úÚ>°´¬¦"
    )
    typed = "".join(limon for limon, _ in ALL_VECTORS)
    missing = [key for key in keys if key not in typed]
    assert missing == []
    for two in ("ea", "eA", "eI", "eO", "eo", "b¤", "b£", "B¤", "B£", "B§"):
        assert any(two in limon for limon, _ in ALL_VECTORS), two


@pytest.mark.parametrize(
    "text",
    [
        "\u179f\u17bb\u1781 \u178a\u17b6\u179a\u17b6",
        "\u1780\u17c4",
        "\u179f\u17d2\u178f\u17d2\u179a\u17b8",
        "\u1780\u17c1\u17b6",  # even a badly ordered Unicode text is left alone
    ],
)
def test_unicode_khmer_is_a_fixed_point(text: str) -> None:
    assert limon_to_unicode(text) == text


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("\u17b6", "unexpected"),  # a vowel with no base
        ("\u1780\u17b6\u17b6", "unexpected"),  # two vowels in one cluster
        ("\u17d2\u179a", "unexpected"),  # a coeng with no base
        ("\u1780A", "unexpected 'A'"),  # Latin leftover
        ("", "empty"),
    ],
)
def test_khmer_problems_flags_malformed_clusters(text: str, problem: str) -> None:
    found = khmer_problems(text)
    assert found is not None and problem in found


@pytest.mark.parametrize(
    "limon",
    ["a", "A", "®", "e", "eaa", "Ea", "kaa", "O", "¤"],
)
def test_malformed_limon_converts_without_raising_and_is_flagged(limon: str) -> None:
    assert khmer_problems(limon_to_unicode(limon)) is not None


def test_versions() -> None:
    assert LIMON_VERSION
    assert f"limon-{LIMON_VERSION}" in MAPPING_VERSION.split(";")
