"""Hypothesis properties: no input crashes a rule; Khmer Unicode is a fixed point; Limon
typed in visual order converts to the normalized cluster; dates round-trip."""

from __future__ import annotations

import re
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

import student_sync.domain as domain
from student_sync.domain import DomainRejection, DomainWarning
from student_sync.domain.limon import KEYS

ANY = st.one_of(
    st.none(),
    st.text(),
    st.binary(),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.text(alphabet="".join(KEYS) + " \n$<>{}()[]@/-.,0123456789NULLMonkFemale"),
)
UPPER_SNAKE = re.compile(r"^[A-Z][A-Z0-9_]*$")


def _check(warnings: tuple[DomainWarning, ...]) -> None:
    for warning in warnings:
        assert isinstance(warning, DomainWarning) and UPPER_SNAKE.match(warning.code)
        assert warning.field and warning.detail


@settings(max_examples=400)
@given(ANY, ANY)
def test_no_rule_ever_raises(a: object, b: object) -> None:
    assert isinstance(domain.is_null(a), bool)
    text = domain.clean_text(a)
    assert text is None or (text == text.strip() and text)
    if isinstance(a, str):
        assert isinstance(domain.limon_to_unicode(a), str)
        domain.khmer_problems(a)
    for parsed in (
        domain.khmer_name(a, b),
        domain.parse_gender(a),
        domain.nationality_to_citizenship(a),
        domain.birth_province(a, "KH"),
        domain.parse_date(a, "birth_date"),
        domain.normalize_email(a, "email"),
        domain.split_phones(a),
        domain.relationship_choice(a),
        domain.status_choice(a, is_frozen=False),
    ):
        _check(parsed.warnings)
    assert isinstance(domain.transfer_flag(a), bool)
    domain.parse_timestamp(a)
    try:
        name = domain.parse_name(a)
    except DomainRejection as rejection:
        assert rejection.code in ("MISSING_NAME", "INVALID_NAME") and rejection.detail
    else:
        assert name.full_name == f"{name.family_name} {name.personal_name}"
        assert name.full_name == name.full_name.upper()
        assert not set("$<>{}()[]") & set(name.full_name)
        assert not {"AF", "ST"} & set(name.sponsor_codes)


@given(ANY)
def test_outputs_stay_in_their_domains(a: object) -> None:
    assert domain.parse_gender(a).value[0] in "MFNX"
    assert len(domain.nationality_to_citizenship(a).value) == 2
    for phone in domain.split_phones(a).value:
        assert phone is None or (len(phone) <= 20 and re.fullmatch(r"\+?\d+", phone))
    email = domain.normalize_email(a, "email").value
    assert email is None or (email == email.lower() and "@" in email)
    assert domain.relationship_choice(a).value in domain.contact.RELATIONSHIPS
    assert domain.status_choice(a, is_frozen=False).value in domain.status.STATUSES


KHMER = st.characters(min_codepoint=0x1780, max_codepoint=0x17FF)


@given(st.text(alphabet=KHMER, min_size=1))
def test_unicode_khmer_is_a_fixed_point(text: str) -> None:
    assert domain.limon_to_unicode(text) == text
    assert domain.khmer_name(text, None).value == text


@given(st.lists(st.text(alphabet=KHMER, min_size=1), min_size=1, max_size=4))
def test_unicode_khmer_words_are_a_fixed_point(words: list[str]) -> None:
    text = " ".join(words)
    assert domain.limon_to_unicode(text) == text
    assert domain.khmer_name("NULL", text).value == text


@given(st.text(alphabet="".join(KEYS) + " \n\t"))
def test_limon_output_is_stripped_and_stable(text: str) -> None:
    out = domain.limon_to_unicode(text)
    assert out == out.strip()
    if any("\u1780" <= ch <= "\u17ff" for ch in out):
        assert domain.limon_to_unicode(out) == out


# --- visual-order typing of generated clusters -------------------------------------------
# A second, independent reading of limon.md: a Unicode -> Limon *typist*. For a generated
# cluster it types the left part of the vowel, the coeng-ro, the base, subscripts, shifter,
# the right part of the vowel and a sign; the converter must give back the cluster in the
# normalized order (base, subscripts, coeng-ro, shifter, vowel, sign).
_BASES = {
    "k": "\u1780",
    "x": "\u1781",
    "K": "\u1782",
    "g": "\u1784",
    "c": "\u1785",
    "C": "\u1787",
    "j": "\u1789",
    "d": "\u178a",
    "N": "\u178e",
    "t": "\u178f",
    "T": "\u1791",
    "n": "\u1793",
    "b": "\u1794",
    "p": "\u1795",
    "P": "\u1797",
    "m": "\u1798",
    "y": "\u1799",
    "r": "\u179a",
    "l": "\u179b",
    "v": "\u179c",
    "s": "\u179f",
    "h": "\u17a0",
    "G": "\u17a2",
}
_SUBS = {
    "á": "\u1780",
    "Á": "\u1782",
    "©": "\u1785",
    "þ": "\u178f",
    "ñ": "\u1793",
    ",": "\u1794",
    "<": "\u1796",
    "µ": "\u1798",
    "ü": "\u1799",
    "ø": "\u179b",
    "V": "\u179c",
    "S": "\u179f",
    "¥": "\u17a2",
}
# vowel -> (typed before the cluster, typed after it)
_VOWEL_TYPING = {
    "": ("", ""),
    "\u17b6": ("", "a"),
    "\u17b7": ("", "i"),
    "\u17b8": ("", "I"),
    "\u17b9": ("", "w"),
    "\u17bb": ("", "u"),
    "\u17bc": ("", "U"),
    "\u17bd": ("", "Y"),
    "\u17c1": ("e", ""),
    "\u17c2": ("E", ""),
    "\u17c3": ("é", ""),
    "\u17c4": ("e", "a"),
    "\u17c5": ("e", "A"),
    "\u17be": ("e", "I"),
    "\u17bf": ("e", "O"),
    "\u17c0": ("e", "o"),
}
_SHIFT = {"": "", "\u17c9": ":", "\u17ca": "‘"}
_SIGN = {"": "", "\u17c6": "M", "\u17c7": "H", "\u17cb": ";"}

CLUSTER = st.tuples(
    st.sampled_from(sorted(_BASES)),
    st.lists(st.sampled_from(sorted(_SUBS)), max_size=1),
    st.booleans(),
    st.sampled_from(sorted(_SHIFT)),
    st.sampled_from(sorted(_VOWEL_TYPING)),
    st.sampled_from(sorted(_SIGN)),
)


def _type(cluster: tuple[str, list[str], bool, str, str, str]) -> tuple[str, str]:
    base, subs, ro, shift, vowel, sign = cluster
    left, right = _VOWEL_TYPING[vowel]
    typed = left + ("®" if ro else "") + base + "".join(subs) + _SHIFT[shift] + right
    typed += _SIGN[sign]
    unicode = (
        _BASES[base]
        + "".join("\u17d2" + _SUBS[s] for s in subs)
        + ("\u17d2\u179a" if ro else "")
        + shift
        + vowel
        + sign
    )
    return typed, unicode


@settings(max_examples=500)
@given(st.lists(st.lists(CLUSTER, min_size=1, max_size=4), min_size=1, max_size=3))
def test_visually_typed_words_convert_to_normalized_clusters(words: list[list]) -> None:
    typed_words, expected_words = [], []
    for word in words:
        pairs = [_type(cluster) for cluster in word]
        typed_words.append("".join(t for t, _ in pairs))
        expected_words.append("".join(u for _, u in pairs))
    out = domain.limon_to_unicode(" ".join(typed_words))
    assert out == " ".join(expected_words)
    assert domain.khmer_problems(out) is None


@given(st.dates(min_value=date(1900, 1, 2), max_value=date(2099, 12, 31)))
def test_dates_round_trip_through_every_legacy_format(day: date) -> None:
    month = day.strftime("%b")
    forms = [
        f"{month} {day.day:>2} {day.year} 12:00AM",
        f"{month} {day.day:>2} {day.year} 12:00:00:000AM",
        f"{day.isoformat()} 00:00:00.000",
        day.isoformat(),
        f"{day.day:02d}-{month}-{day.year}",
    ]
    if day.day > 12 or day.day == day.month:
        forms.append(f"{day.day:02d}/{day.month:02d}/{day.year}")  # d/m/Y only if unambiguous
    forms.append(f"{day.month:02d}/{day.day:02d}/{day.year}")
    for form in forms:
        assert domain.parse_date(form, "birth_date").value == day, form
