"""The most common Khmer family and personal names survive Limon, and Latin in kname does not.

Each name below is written by hand in Khmer Unicode, beside its usual romanization (what the
English ``name`` column holds). The test encodes it to Limon keys as a typist types it
(``limon_encoding``, written from docs/limon.md apart from the converter: left vowels and the
coeng-ro before the base, shifted keys such as ``C`` for ជ, so ជា "Chea" is ``Ca``) and checks
the converter gives the exact Unicode back, and that ``khmer_name`` keeps it for a row whose
English name is the romanization. Subscript DA is written ្ត: Limon has one key for ្ដ and ្ត.
"""

from __future__ import annotations

import pytest

from student_sync.domain import khmer_name, khmer_problems, limon_to_unicode
from student_sync_tests.domain.limon_encoding import encode

FAMILY_NAMES: list[tuple[str, str]] = [
    ("សុខ", "Sok"),
    ("ជា", "Chea"),
    ("ចាន់", "Chan"),
    ("ហេង", "Heng"),
    ("លី", "Ly"),
    ("លឹម", "Lim"),
    ("ឈឹម", "Chhim"),
    ("ស៊ុន", "Sun"),
    ("ម៉ៅ", "Mao"),
    ("ពៅ", "Pov"),
    ("ឈួន", "Chhuon"),
    ("ខៀវ", "Khiev"),
    ("កែវ", "Keo"),
    ("សៅ", "Sao"),
    ("នួន", "Nuon"),
    ("ញឹក", "Nhek"),
    ("សោម", "Som"),
    ("ទេព", "Tep"),
    ("យឹម", "Yim"),
    ("អ៊ុំ", "Um"),
    ("ឡុង", "Long"),
    ("គង់", "Kong"),
    ("ហ៊ុន", "Hun"),
    ("ស៊ិន", "Sin"),
    ("ប៊ុន", "Bun"),
    ("ស្រេង", "Sreng"),
    ("ពេជ្រ", "Pech"),
    ("ឃឹម", "Khim"),
    ("ទូច", "Touch"),
    ("ម៉ែន", "Men"),
    ("ធី", "Thy"),
    ("អ៊ុក", "Ouk"),
    ("ឯក", "Ek"),
    ("ព្រំ", "Prum"),
    ("ថាច់", "Thach"),
    ("វង្ស", "Vong"),
    ("តាំង", "Tang"),
    ("ជួន", "Chuon"),
    ("មាស", "Meas"),
    ("សេង", "Seng"),
    ("រស់", "Ros"),
    ("សួន", "Suon"),
    ("ផាន", "Phan"),
    ("ប៉ុល", "Pol"),
    ("ចៀម", "Chiem"),
    ("ហួត", "Huot"),
    ("ឆាយ", "Chhay"),
    ("អ៊ាង", "Ang"),
    ("គឹម", "Kim"),
    ("អៀង", "Eang"),
    ("ម៉េង", "Meng"),
    ("ហុក", "Hok"),
]

PERSONAL_NAMES: list[tuple[str, str]] = [
    ("សុភា", "Sophea"),
    ("សុខា", "Sokha"),
    ("ដារា", "Dara"),
    ("ចាន់ថា", "Chantha"),
    ("វណ្ណា", "Vanna"),
    ("រតនា", "Rathana"),
    ("សុភ័ក្ត្រ", "Sopheak"),
    ("ពិសី", "Pisey"),
    ("សំណាង", "Samnang"),
    ("សីហា", "Seyha"),
    ("ស្រីមុំ", "Sreymom"),
    ("ស្រីពៅ", "Sreypov"),
    ("បុប្ផា", "Bopha"),
    ("សុវណ្ណ", "Sovann"),
    ("សុផល", "Sophal"),
    ("វិចិត្រ", "Vichet"),
    ("វិសាល", "Visal"),
    ("សុជាតិ", "Socheat"),
    ("ធារី", "Theary"),
    ("លក្ខិណា", "Leakhena"),
    ("ម៉ាលី", "Maly"),
    ("ពិសិដ្ឋ", "Piseth"),
    ("វាសនា", "Veasna"),
    ("រដ្ឋា", "Rotha"),
    ("ចំរើន", "Chamroeun"),
    ("កុសល", "Kosal"),
    ("ភក្តី", "Pheakdey"),
    ("សុធា", "Sothea"),
    ("បូរ៉ា", "Bora"),
    ("រស្មី", "Raksmey"),
    ("ណារិន", "Narin"),
    ("នារី", "Neary"),
    ("ស្រីល័ក្ខ", "Sreyleak"),
    ("សុគន្ធា", "Sokunthea"),
    ("មករា", "Makara"),
    ("ធីតា", "Thida"),
    ("កញ្ញា", "Kanha"),
    ("ចិន្តា", "Chenda"),
    ("ដាលីន", "Dalin"),
    ("រ៉ានី", "Rany"),
    ("សុភាព", "Sopheap"),
    ("ពុទ្ធី", "Puthy"),
    ("វិបុល", "Vibol"),
    ("វុទ្ធី", "Vuthy"),
    ("សម្ផស្ស", "Samphors"),
    ("ឧត្តម", "Oudom"),
    ("ឫទ្ធី", "Rithy"),
    ("ចាន់ធី", "Chanthy"),
    ("សេរី", "Serey"),
    ("បញ្ញា", "Panha"),
    ("មុន្នី", "Monny"),
    ("វីរៈ", "Vireak"),
    ("លីណា", "Lina"),
    ("សុផានិត", "Sophanith"),
    ("ចរិយា", "Chariya"),
    ("សុខុម", "Sokhom"),
    ("គន្ធា", "Kunthea"),
    ("បូរី", "Borey"),
    ("ស្រីនាង", "Sreyneang"),
    ("ផល្លា", "Phalla"),
    ("សុធារី", "Sotheary"),
    ("ឧស្សាហ៍", "Oussah"),
    ("វិទ្យា", "Vitya"),
    ("សុវត្ថិ", "Sovath"),
    ("ចន្ទ្រា", "Chantrea"),
    ("កញ្ញារ័ត្ន", "Kanharath"),
    ("ស្រីរ័ត្ន", "Sreyrath"),
    ("សុខលី", "Sokly"),
]

CORPUS = FAMILY_NAMES + PERSONAL_NAMES
# Full names as the legacy rows hold them: each personal name with a family name.
FULL_NAMES: list[tuple[str, str]] = [
    (
        f"{FAMILY_NAMES[i % len(FAMILY_NAMES)][0]} {khmer}",
        f"{FAMILY_NAMES[i % len(FAMILY_NAMES)][1].upper()} {latin}",
    )
    for i, (khmer, latin) in enumerate(PERSONAL_NAMES)
]


def test_the_corpus_is_large_distinct_and_well_formed() -> None:
    assert len(CORPUS) >= 60
    assert len({khmer for khmer, _ in CORPUS}) == len(CORPUS)
    assert [khmer for khmer, _ in CORPUS if khmer_problems(khmer)] == []


def test_the_encoder_types_the_limon_way() -> None:
    """Spot checks against limon.md: shifted keys, left vowels and coeng-ro typed first."""
    assert encode("ជា") == "Ca"
    assert encode("ស្ត្រី") == "®sþI"
    assert encode("ពេជ្រ") == "eB®C"
    assert encode("ខៀវ") == "exov"
    assert encode("ស្រី", coeng_ro="R") == "RsI"


@pytest.mark.parametrize(("khmer", "latin"), CORPUS, ids=[latin for _, latin in CORPUS])
def test_every_common_name_converts_back_exactly(khmer: str, latin: str) -> None:
    typed = encode(khmer)
    assert limon_to_unicode(typed) == khmer, typed
    if "្រ" in khmer:  # the other coeng-ro key
        assert limon_to_unicode(encode(khmer, coeng_ro="R")) == khmer


@pytest.mark.parametrize(("khmer", "english"), FULL_NAMES, ids=[e for _, e in FULL_NAMES])
def test_a_row_keeps_its_limon_name_and_drops_its_latin_one(khmer: str, english: str) -> None:
    """With the row's English name as evidence: Limon (Title-case or not) converts; the
    English name typed into kname (as written, upper or lower case) is left unconverted."""
    parsed = khmer_name(encode(khmer), None, english)
    assert (parsed.value, parsed.warnings) == (khmer, ())
    for latin in (english, english.upper(), english.title(), english.lower()):
        dropped = khmer_name(latin, None, f"$$ {english} <CRST>")
        assert dropped.value is None
        assert [w.code for w in dropped.warnings] == ["INVALID_KHMER"]
