"""One generator per legacy column, each with its probabilities named.

Every probability below is a share of all rows (or, where the comment says so, of the rows
that reach that branch). Generators draw from one ``random.Random`` in a fixed order (the
order :func:`student_sync.demo.generator.generate_legacy_rows` calls them), so a seed always
gives the same rows. Columns that need no draw of their own (gender, birth place,
nationality, transfer, status, program, relationship) index weighted pools with the slices of
two 64-bit words drawn once per row (:class:`RowDraws`): one call instead of seven.
"""

from __future__ import annotations

import random
from typing import NamedTuple

from student_sync.demo.pools import SeedPools
from student_sync.demo.vocabulary import (
    DATE_NULL_SPELLINGS,
    EMAIL_DOMAINS,
    KNOWN_CODES,
    NOTES,
    NULL_SPELLINGS,
    PHONE_WORDS,
    REMARKS,
    SCHOOL_EMAIL_DOMAIN,
    UNKNOWN_CODES,
)

# ---------------------------------------------------------------- id
LETTER_ID = 0.003  # 'A0123': rejected INVALID_ID
HYPHENATED_ID = 0.002  # '12-34': rejected INVALID_ID
BLANK_ID = 0.001  # ' ': rejected MISSING_ID

# ---------------------------------------------------------------- English name
MISSING_NAME = 0.007  # a null spelling: rejected MISSING_NAME
MARKER_ONLY_NAME = 0.005  # '$$ <CRST>', '{AF}'...: nothing left once markers go
# Of the rows with a real name:
HYPHENATED_PERSONAL_NAME = 0.03
APOSTROPHE_IN_NAME = 0.015
HYPHENATED_FAMILY_NAME = 0.005
FAMILY_NAME_UPPER = 0.15  # 'SOK Dara'
NAME_ALL_LOWER = 0.03  # 'sok dara'
NAME_ALL_UPPER = 0.02  # 'SOK DARA'
ONE_KNOWN_SPONSOR = 0.10  # '<CRST>'
TWO_KNOWN_SPONSORS = 0.01  # '<CRST> <PLF>' or '<CRST><PLF>'
UNKNOWN_SPONSOR = 0.004  # '<XYZ>': a warning, not a sponsor
KNOWN_AND_UNKNOWN_SPONSOR = 0.004  # '<CRST> <XYZ>'
SPONSOR_BEFORE_NAME = 0.2  # of the rows with codes: '<CRST> Sok Dara'
ADMIN_FEE_MARKER = 0.02  # ' {AF}'
STAFF_SCHOLARSHIP_MARKER = 0.012  # ' (ST)'
REMARK = 0.015  # ' [see file]'
FROZEN_PREFIX = 0.025  # '$$Sok Dara' (unpaid fees)
FROZEN_SUFFIX = 0.025  # 'Sok Dara $$'

_MISSING_NAMES = ("", "  ", "NULL", "null", "NA", "NULL", "", " ")  # 8: a 3-bit index
_MARKER_ONLY_NAMES = (
    "$$ <CRST>",
    "<PLF>",
    "$$",
    "{AF}",
    "(ST) <PEPY>",
    "<JWOC> $$",
    "[see file]",
    "$$<LOC>",
)

# ---------------------------------------------------------------- Khmer names
KHMER_NAME_LIMON = 0.72  # legacy font encoding (the usual case)
KHMER_NAME_UNICODE = 0.12  # already converted
KHMER_NAME_LATIN = 0.04  # the English name typed in the Khmer column
# the rest (0.12): a null spelling
SECOND_KHMER_NAME_LIMON = 0.06
SECOND_KHMER_NAME_UNICODE = 0.03
SECOND_KHMER_NAME_SQL_NULL = 0.51
# the rest (0.40): 'NULL', '' or '  '
_SECOND_KHMER_NAME_BLANKS = ("NULL", "", "NULL", "  ")

# ---------------------------------------------------------------- dates
ZERO_BIRTH_DATE = 0.015  # '0000-00-00'
NULL_BIRTH_DATE = 0.055  # another date null spelling
NULL_LAST_ENROLLMENT = 0.1
NULL_ADMISSION_DATE = 0.3

# ---------------------------------------------------------------- e-mails
NULL_PERSONAL_EMAIL = 0.15
MALFORMED_PERSONAL_EMAIL = 0.02  # 'sok@', 'sok@@example.org', 'N/A'...
TITLE_CASE_PERSONAL_EMAIL = 0.15  # of the well-formed ones: 'Dara.Sok12@Example.Com'
SCHOOL_EMAIL_FROM = 0.6  # only ids after 60% of the range have a school address
# Of those rows:
DUPLICATED_SCHOOL_EMAIL = 0.008  # the previous row's address again: DUPLICATE_SCHOOL_EMAIL
NULL_SCHOOL_EMAIL = 0.072
UPPER_CASE_SCHOOL_EMAIL = 0.05

# ---------------------------------------------------------------- emergency contact
BLANK_EMERGENCY_CONTACT = 0.12  # all four columns null
BLANK_PHONE_SAME_SPELLING = 0.7  # of blank contacts: the phone uses the same null spelling
CONTACT_WITH_TITLE = 0.1  # 'Mrs. Sok Dara'
TWO_PHONE_NUMBERS = 0.15  # '012 345 678 / 097 123 4567'
PHONE_WORD = 0.03  # 'none', 'N/A', 'no phone'...
NULL_PHONE = 0.03
CONTACT_ADDRESS_PRESENT = 0.8
_TITLES = ("Mr. ", "Mrs. ", "Ms. ")
_PHONE_SEPARATORS = (" / ", ", ", " or ", "/")

# ---------------------------------------------------------------- audit and the rest
BOTH_AUDIT_DATES_NULL = 0.01  # caught only by full runs
MODIFIED_DATE_NULL = 0.14  # never edited: the window falls back to created_date
NO_NOTES = 0.9
FREE_TEXT_NOTE = 0.05  # the rest (0.05): 'NULL'
DELETED = 0.01
HOME_ADDRESS_PRESENT = 0.85
MOBILE_PHONE_PRESENT = 0.8
BATCH_PRESENT = 0.8


class RowDraws(NamedTuple):
    """Pool indices for one row, cut from two 64-bit draws (ranges never overlap)."""

    ipk_step: int  # 0 or 1: ipks are not evenly spaced
    family: int
    personal: int
    khmer: int
    gender: int
    birth_place: int
    nationality: int
    transfer: int
    status: int
    program: int
    relationship: int
    created_time: int
    home_address: int

    @classmethod
    def draw(cls, rng: random.Random) -> RowDraws:
        first = rng.getrandbits(64)
        second = rng.getrandbits(64)
        return cls(  # positional, in field order: a million rows make this call hot
            first >> 63,
            first & 1023,
            (first >> 10) & 4095,
            (first >> 22) & 2047,
            (first >> 33) & 1023,
            (first >> 43) & 1023,
            (first >> 53) & 1023,
            second & 1023,
            (second >> 10) & 1023,
            (second >> 20) & 1023,
            (second >> 30) & 1023,
            (second >> 40) & 4095,
            (second >> 52) & 1023,
        )


def _null_spelling(rng: random.Random) -> str | None:
    return NULL_SPELLINGS[rng.getrandbits(10) % len(NULL_SPELLINGS)]


def _date_null_spelling(rng: random.Random) -> str | None:
    return DATE_NULL_SPELLINGS[rng.getrandbits(10) % len(DATE_NULL_SPELLINGS)]


# ---------------------------------------------------------------- id
def student_id(rng: random.Random, number: int) -> str:
    """'00042' mostly; a few ids the sync must reject without stopping."""
    share = rng.random()
    if share < LETTER_ID:
        return f"A{number % 10000:04d}"
    if share < LETTER_ID + HYPHENATED_ID:
        return f"{number // 100 % 100}-{number % 100:02d}"
    if share < LETTER_ID + HYPHENATED_ID + BLANK_ID:
        return " "
    return f"{number:05d}"


# ---------------------------------------------------------------- English name
def english_name(
    rng: random.Random, pools: SeedPools, family: str, personal: str
) -> tuple[str, str, str]:
    """(name with markers, family name, personal name) as the legacy table spells them."""
    share = rng.random()
    if share < MISSING_NAME:
        return _MISSING_NAMES[rng.getrandbits(3)], family, personal
    if share < MISSING_NAME + MARKER_ONLY_NAME:
        return _MARKER_ONLY_NAMES[rng.getrandbits(3)], family, personal
    family, personal = _name_variant(rng, pools, family, personal)
    name = _letter_case(rng, family, personal)
    codes = _sponsor_codes(rng)
    if codes:
        name = f"{codes} {name}" if rng.random() < SPONSOR_BEFORE_NAME else f"{name} {codes}"
    return _frozen_marker(rng, name + _fee_marker(rng)), family, personal


def _name_variant(
    rng: random.Random, pools: SeedPools, family: str, personal: str
) -> tuple[str, str]:
    """Hyphens and apostrophes, which are real name characters."""
    share = rng.random()
    if share < HYPHENATED_PERSONAL_NAME:
        personal = personal + "-" + pools.personal[rng.getrandbits(12)]
    elif share < HYPHENATED_PERSONAL_NAME + APOSTROPHE_IN_NAME:
        personal = f"{pools.family[rng.getrandbits(10)]}'{pools.family_local[rng.getrandbits(10)]}"
    elif share < HYPHENATED_PERSONAL_NAME + APOSTROPHE_IN_NAME + HYPHENATED_FAMILY_NAME:
        family = family + "-" + pools.family[rng.getrandbits(10)]
    return family, personal


def _letter_case(rng: random.Random, family: str, personal: str) -> str:
    share = rng.random()
    if share < FAMILY_NAME_UPPER:
        return f"{family.upper()} {personal}"
    if share < FAMILY_NAME_UPPER + NAME_ALL_LOWER:
        return f"{family.lower()} {personal.lower()}"
    if share < FAMILY_NAME_UPPER + NAME_ALL_LOWER + NAME_ALL_UPPER:
        return f"{family.upper()} {personal.upper()}"
    return f"{family} {personal}"


def _known_code(rng: random.Random) -> str:
    return KNOWN_CODES[rng.getrandbits(10) % len(KNOWN_CODES)]


def _unknown_code(rng: random.Random) -> str:
    return UNKNOWN_CODES[rng.getrandbits(2)]


def _sponsor_codes(rng: random.Random) -> str:
    """'' or the ``<CODE>`` markers of the student's sponsors."""
    share = rng.random()
    if share < ONE_KNOWN_SPONSOR:
        return f"<{_known_code(rng)}>"
    if share < ONE_KNOWN_SPONSOR + TWO_KNOWN_SPONSORS:
        return _two_known_codes(rng)
    if share < ONE_KNOWN_SPONSOR + TWO_KNOWN_SPONSORS + UNKNOWN_SPONSOR:
        return f"<{_unknown_code(rng)}>"
    if share < (
        ONE_KNOWN_SPONSOR + TWO_KNOWN_SPONSORS + UNKNOWN_SPONSOR + KNOWN_AND_UNKNOWN_SPONSOR
    ):
        return f"<{_known_code(rng)}> <{_unknown_code(rng)}>"
    return ""


def _two_known_codes(rng: random.Random) -> str:
    """Two different known codes, with or without a space between them."""
    count = len(KNOWN_CODES)
    first = rng.getrandbits(10) % count
    second = (first + 1 + rng.getrandbits(10) % (count - 1)) % count
    separator = " " if rng.getrandbits(1) else ""
    return f"<{KNOWN_CODES[first]}>{separator}<{KNOWN_CODES[second]}>"


def _fee_marker(rng: random.Random) -> str:
    """'' or a trailing ``{AF}``, ``(ST)`` or ``[remark]``."""
    share = rng.random()
    if share < ADMIN_FEE_MARKER:
        return " {AF}"
    if share < ADMIN_FEE_MARKER + STAFF_SCHOLARSHIP_MARKER:
        return " (ST)"
    if share < ADMIN_FEE_MARKER + STAFF_SCHOLARSHIP_MARKER + REMARK:
        return " " + REMARKS[rng.getrandbits(10) % len(REMARKS)]
    return ""


def _frozen_marker(rng: random.Random, name: str) -> str:
    """``$$`` before or after the name, with or without a space."""
    share = rng.random()
    if share < FROZEN_PREFIX:
        return ("$$" if rng.getrandbits(1) else "$$ ") + name
    if share < FROZEN_PREFIX + FROZEN_SUFFIX:
        return name + ("$$" if rng.getrandbits(1) else " $$")
    return name


# ---------------------------------------------------------------- Khmer names
def khmer_name(
    rng: random.Random, pools: SeedPools, index: int, family: str, personal: str
) -> str | None:
    """``kname``: Limon, Khmer Unicode, the Latin name, or a null spelling."""
    share = rng.random()
    if share < KHMER_NAME_LIMON:
        return pools.khmer_limon[index]
    if share < KHMER_NAME_LIMON + KHMER_NAME_UNICODE:
        return pools.khmer_unicode[index]
    if share < KHMER_NAME_LIMON + KHMER_NAME_UNICODE + KHMER_NAME_LATIN:
        latin = f"{family} {personal}"
        return latin if rng.getrandbits(1) else latin.upper()
    return _null_spelling(rng)


def second_khmer_name(rng: random.Random, pools: SeedPools) -> str | None:
    """``kname2``: mostly empty one way or another."""
    share = rng.random()
    if share < SECOND_KHMER_NAME_LIMON:
        return pools.khmer_limon[rng.getrandbits(11)]
    if share < SECOND_KHMER_NAME_LIMON + SECOND_KHMER_NAME_UNICODE:
        return pools.khmer_unicode[rng.getrandbits(11)]
    if share < SECOND_KHMER_NAME_LIMON + SECOND_KHMER_NAME_UNICODE + SECOND_KHMER_NAME_SQL_NULL:
        return None
    return _SECOND_KHMER_NAME_BLANKS[rng.getrandbits(2)]


# ---------------------------------------------------------------- dates
def birth_date(rng: random.Random, pools: SeedPools) -> str | None:
    share = rng.random()
    if share < ZERO_BIRTH_DATE:
        return "0000-00-00"
    if share < ZERO_BIRTH_DATE + NULL_BIRTH_DATE:
        return _date_null_spelling(rng)
    return pools.birth_dates[rng.getrandbits(14)]


def last_enrollment_date(rng: random.Random, pools: SeedPools) -> str | None:
    if rng.random() < NULL_LAST_ENROLLMENT:
        return _date_null_spelling(rng)
    return pools.enrollment_dates[rng.getrandbits(12)]


def admission_date(rng: random.Random, pools: SeedPools) -> str | None:
    if rng.random() < NULL_ADMISSION_DATE:
        return _date_null_spelling(rng)
    return pools.admission_dates[rng.getrandbits(12)]


# ---------------------------------------------------------------- e-mails
def personal_email(rng: random.Random, local: str) -> str | None:
    """``email``: ``local`` is 'personal.family' in lower case."""
    share = rng.random()
    if share < NULL_PERSONAL_EMAIL:
        return _null_spelling(rng)
    if share < NULL_PERSONAL_EMAIL + MALFORMED_PERSONAL_EMAIL:
        malformed = (
            f"{local}@",
            f"{local.replace('.', ' ')}@example.com",
            f"{local}.example.com",
            f"{local}@@example.org",
            "N/A",
            f"{local}@example",
        )
        return malformed[rng.getrandbits(10) % len(malformed)]
    address = f"{local}{rng.getrandbits(7)}@{EMAIL_DOMAINS[rng.getrandbits(2)]}"
    return address.title() if rng.random() < TITLE_CASE_PERSONAL_EMAIL else address


class SchoolEmails:
    """``school_email``: set on late ids only, and now and then a clash with the row before."""

    def __init__(self, first_number: int) -> None:
        self.first_number = first_number
        self.previous: str | None = None

    def next(self, rng: random.Random, number: int, local: str) -> str | None:
        if number < self.first_number:
            return None
        share = rng.random()
        if share < DUPLICATED_SCHOOL_EMAIL and self.previous is not None:
            return self.previous
        if share < DUPLICATED_SCHOOL_EMAIL + NULL_SCHOOL_EMAIL:
            return _null_spelling(rng)
        address = f"{local}.{number}@{SCHOOL_EMAIL_DOMAIN}"
        if share > 1 - UPPER_CASE_SCHOOL_EMAIL:
            address = address.upper()
        self.previous = address
        return address


# ---------------------------------------------------------------- emergency contact
def emergency_contact(
    rng: random.Random, pools: SeedPools, relationship: str | None
) -> tuple[str | None, str | None, str | None, str | None]:
    """(contact person, phone, relationship, address); all four null on blank contacts."""
    if rng.random() < BLANK_EMERGENCY_CONTACT:
        blank = _null_spelling(rng)
        phone = blank if rng.random() < BLANK_PHONE_SAME_SPELLING else _null_spelling(rng)
        return blank, phone, blank, blank
    person = f"{pools.family[rng.getrandbits(10)]} {pools.personal[rng.getrandbits(12)]}"
    if rng.random() < CONTACT_WITH_TITLE:
        person = _TITLES[rng.getrandbits(10) % len(_TITLES)] + person
    phone = _contact_phone(rng, pools)
    address = (
        pools.addresses[rng.getrandbits(10)]
        if rng.random() < CONTACT_ADDRESS_PRESENT
        else _null_spelling(rng)
    )
    return person, phone, relationship, address


def _contact_phone(rng: random.Random, pools: SeedPools) -> str | None:
    share = rng.random()
    if share < TWO_PHONE_NUMBERS:
        separator = _PHONE_SEPARATORS[rng.getrandbits(2)]
        return pools.phones[rng.getrandbits(12)] + separator + pools.phones[rng.getrandbits(12)]
    if share < TWO_PHONE_NUMBERS + PHONE_WORD:
        return PHONE_WORDS[rng.getrandbits(10) % len(PHONE_WORDS)]
    if share < TWO_PHONE_NUMBERS + PHONE_WORD + NULL_PHONE:
        return _null_spelling(rng)
    return pools.phones[rng.getrandbits(12)]


# ---------------------------------------------------------------- audit and the rest
def audit_timestamps(
    rng: random.Random, pools: SeedPools, created_time: int
) -> tuple[str | None, str | None]:
    """(created_date, modified_date): created <= modified, both before yesterday."""
    created_day = int(rng.random() * len(pools.days))  # days count back: larger is older
    created: str | None = pools.days[created_day] + pools.times[created_time]
    share = rng.random()
    if share < BOTH_AUDIT_DATES_NULL:
        return None, None
    if share < BOTH_AUDIT_DATES_NULL + MODIFIED_DATE_NULL:
        return created, None
    modified_day = int(rng.random() * (created_day + 1))
    if modified_day == created_day:
        return created, created
    return created, pools.days[modified_day] + pools.times[rng.getrandbits(12)]


def notes(rng: random.Random) -> str | None:
    share = rng.random()
    if share < NO_NOTES:
        return None
    if share < NO_NOTES + FREE_TEXT_NOTE:
        return NOTES[rng.getrandbits(10) % len(NOTES)]
    return "NULL"


def deleted_flag(rng: random.Random) -> str:
    return "1" if rng.random() < DELETED else "0"


def home_address(rng: random.Random, pools: SeedPools, draws: RowDraws) -> str | None:
    if rng.random() < HOME_ADDRESS_PRESENT:
        return pools.addresses[draws.home_address]
    return NULL_SPELLINGS[draws.khmer % len(NULL_SPELLINGS)]


def mobile_phone(rng: random.Random, pools: SeedPools) -> str | None:
    return pools.phones[rng.getrandbits(12)] if rng.random() < MOBILE_PHONE_PRESENT else None


def batch_id(rng: random.Random, number: int) -> str:
    return f"B{2014 + number % 11}-{1 + number % 4:02d}" if rng.random() < BATCH_PRESENT else "NULL"
