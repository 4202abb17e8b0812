"""Khmer Unicode -> Limon keys, the way a Limon typist types them (test helper).

Written from the key table and typing rules in docs/limon.md, independently of the converter
(``student_sync.domain.limon``), so a test that encodes a name here and converts it back there
checks one against the other rather than against itself. Per cluster the typist types, in
visual order: the left vowel (or the left part ``e`` of a split vowel), the coeng-ro
(``®`` or its alternative ``R``), the base, the robat, the other subscripts, the shifter, the
right vowel (or the right part of a split vowel), then the signs.
"""

from __future__ import annotations

COENG = "\u17d2"
RO = "\u179a"

CONSONANTS = {
    "ក": "k",
    "ខ": "x",
    "គ": "K",
    "ឃ": "X",
    "ង": "g",
    "ច": "c",
    "ឆ": "q",
    "ជ": "C",
    "ឈ": "Q",
    "ញ": "j",
    "ដ": "d",
    "ឋ": "z",
    "ឌ": "D",
    "ឍ": "Z",
    "ណ": "N",
    "ត": "t",
    "ថ": "f",
    "ទ": "T",
    "ធ": "F",
    "ន": "n",
    "ប": "b",
    "ផ": "p",
    "ព": "B",
    "ភ": "P",
    "ម": "m",
    "យ": "y",
    "រ": "r",
    "ល": "l",
    "វ": "v",
    "ស": "s",
    "ហ": "h",
    "ឡ": "L",
    "អ": "G",
}
INDEPENDENT_VOWELS = {
    "ឥ": "\\",
    "ឦ": "|",
    "ឧ": "]",
    "ឪ": "«",
    "ឫ": "b¤",
    "ឬ": "b£",
    "ឭ": "B¤",
    "ឮ": "B£",
    "ឯ": "É",
    "ឰ": "B§",
    "ឱ": "»",
    "ឲ": "[",
}
# The consonant under a coeng -> its subscript key (្ដ and ្ត share the key þ).
SUBSCRIPTS = {
    "ក": "á",
    "ខ": "ç",
    "គ": "Á",
    "ឃ": "Ç",
    "ង": "¶",
    "ច": "©",
    "ឆ": "ä",
    "ជ": "¢",
    "ឈ": "Ä",
    "ញ": "Ø",
    "ដ": "þ",
    "ឋ": "æ",
    "ឌ": "Ð",
    "ឍ": "Æ",
    "ណ": "Ñ",
    "ត": "þ",
    "ថ": "ß",
    "ទ": "Þ",
    "ធ": "§",
    "ន": "ñ",
    "ប": ",",
    "ផ": "ö",
    "ព": "<",
    "ភ": "Ö",
    "ម": "µ",
    "យ": "ü",
    "ល": "ø",
    "វ": "V",
    "ស": "S",
    "ហ": "ð",
    "អ": "¥",
}
# Dependent vowel -> (typed before the cluster, typed after the base).
VOWELS = {
    "ា": ("", "a"),
    "ិ": ("", "i"),
    "ី": ("", "I"),
    "ឹ": ("", "w"),
    "ឺ": ("", "W"),
    "ុ": ("", "u"),
    "ូ": ("", "U"),
    "ួ": ("", "Y"),
    "េ": ("e", ""),
    "ែ": ("E", ""),
    "ៃ": ("é", ""),
    "ើ": ("e", "I"),
    "ឿ": ("e", "O"),
    "ៀ": ("e", "o"),
    "ោ": ("e", "a"),
    "ៅ": ("e", "A"),
}
SHIFTERS = {"៉": ":", "៊": "‘"}
ROBAT = {"៌": "’"}
SIGNS = {"ំ": "M", "ះ": "H", "ៈ": "³", "់": ";", "៍": "_", "៏": "¾", "័": "½"}
OTHERS = {" ": " ", "។": ".", "ៗ": "²"}
# The parts of a cluster in the order they are typed.
TYPING_ORDER = ("left", "ro", "base", "robat", "subs", "shift", "right", "signs")


def encode(text: str, *, coeng_ro: str = "®") -> str:
    """Limon keys for Khmer Unicode ``text``; raises ValueError on a character it cannot type."""
    out: list[str] = []
    cluster: dict[str, list[str]] | None = None

    def close() -> None:
        if cluster is not None:
            out.append("".join("".join(cluster[part]) for part in TYPING_ORDER))

    chars = iter(text)
    for ch in chars:
        if ch in CONSONANTS or ch in INDEPENDENT_VOWELS:
            close()
            cluster = {part: [] for part in TYPING_ORDER}
            cluster["base"].append(CONSONANTS.get(ch) or INDEPENDENT_VOWELS[ch])
            continue
        if ch in OTHERS:
            close()
            cluster = None
            out.append(OTHERS[ch])
            continue
        if cluster is None:
            raise ValueError(f"{ch!r} (U+{ord(ch):04X}) has no base to attach to")
        if ch == COENG:
            sub = next(chars)
            if sub == RO:
                cluster["ro"].append(coeng_ro)
            else:
                cluster["subs"].append(SUBSCRIPTS[sub])
        elif ch in VOWELS:
            left, right = VOWELS[ch]
            cluster["left"].append(left)
            cluster["right"].append(right)
        elif ch in SHIFTERS:
            cluster["shift"].append(SHIFTERS[ch])
        elif ch in ROBAT:
            cluster["robat"].append(ROBAT[ch])
        elif ch in SIGNS:
            cluster["signs"].append(SIGNS[ch])
        else:
            raise ValueError(f"{ch!r} (U+{ord(ch):04X}) is not in the Limon key table")
    close()
    return "".join(out)
