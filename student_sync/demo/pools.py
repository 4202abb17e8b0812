"""Per-seed pools: names, phones, addresses and dates drawn once, then indexed per row.

Building the pools costs a few thousand draws; afterwards a row costs only cheap lookups with
``getrandbits``, which is what keeps a million rows fast. Pool sizes are powers of two so
that ``getrandbits(width)`` is a uniform index. The order of the draws below is part of the
generator's output for a seed: change it and every seed's rows change.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from student_sync.demo.vocabulary import (
    ADDRESS_PROVINCES,
    KHMER_FAMILY_NAMES,
    KHMER_PERSONAL_NAMES,
    LATIN_ONSETS,
    LATIN_RIMES,
    PHONE_PREFIXES,
    STREETS,
)

FAMILY_NAME_COUNT = 1024  # index width 10 bits
PERSONAL_NAME_COUNT = 4096  # 12 bits
KHMER_NAME_COUNT = 2048  # 11 bits
PHONE_COUNT = 4096  # 12 bits
ADDRESS_COUNT = 1024  # 10 bits
TIME_OF_DAY_COUNT = 4096  # 12 bits
BIRTH_DATE_COUNT = 16384  # 14 bits
ENROLLMENT_DATE_COUNT = 4096  # 12 bits
ADMISSION_DATE_COUNT = 4096  # 12 bits

SINGLE_SYLLABLE_PERSONAL_NAME = 0.35  # "Dara" rather than "Darasok"
KHMER_NAME_WITH_TWO_PERSONAL_PARTS = 0.4
SEVEN_DIGIT_PHONE = 0.4  # else six digits after the prefix
# Phone layouts, cumulative: "012 345 678", "012345678", "+855 12 345 678", "012-345-678".
PHONE_SPACED = 0.55
PHONE_PACKED = 0.20
PHONE_INTERNATIONAL = 0.15

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
DATE_STYLE_COUNT = 5


@dataclass(frozen=True)
class SeedPools:
    """Everything a row draws from, built once per generator call."""

    family: tuple[str, ...]
    personal: tuple[str, ...]
    family_local: tuple[str, ...]  # e-mail local parts, same index as ``family`` / ``personal``
    personal_local: tuple[str, ...]
    khmer_limon: tuple[str, ...]  # same index = same name as ``khmer_unicode``
    khmer_unicode: tuple[str, ...]
    phones: tuple[str, ...]
    addresses: tuple[str, ...]
    days: tuple[str, ...]  # 'YYYY-MM-DD' for today-2 ... today-1094 (index 0 = today-2)
    times: tuple[str, ...]  # ' HH:MM:SS.fff' between 07:00 and 19:00
    birth_dates: tuple[str, ...]  # 1975-2007 in the five legacy formats
    enrollment_dates: tuple[str, ...]  # the last 3 years, five formats
    admission_dates: tuple[str, ...]  # the last 10 years, five formats


def latin_syllables() -> list[str]:
    """Capitalized onset+rime syllables ("Sok", "Chan", ...), at least two letters each."""
    syllables = [onset + rime for onset in LATIN_ONSETS for rime in LATIN_RIMES]
    return [text[0].upper() + text[1:] for text in syllables if len(text) >= 2]


def latin_names(rng: random.Random) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(family names, personal names): the first draws of every pool build."""
    syllables = latin_syllables()
    family = tuple(rng.choice(syllables) for _ in range(FAMILY_NAME_COUNT))
    personal = []
    for _ in range(PERSONAL_NAME_COUNT):
        first = rng.choice(syllables)
        if rng.random() < SINGLE_SYLLABLE_PERSONAL_NAME:
            personal.append(first)
        else:
            personal.append(first + rng.choice(syllables).lower())
    return family, tuple(personal)


def _khmer_names(rng: random.Random) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(Limon spellings, Khmer Unicode spellings) of the same names, index for index."""
    limon: list[str] = []
    unicode: list[str] = []
    for _ in range(KHMER_NAME_COUNT):
        family = rng.choice(KHMER_FAMILY_NAMES)
        parts = [rng.choice(KHMER_PERSONAL_NAMES)]
        if rng.random() < KHMER_NAME_WITH_TWO_PERSONAL_PARTS:
            parts.append(rng.choice(KHMER_PERSONAL_NAMES + KHMER_FAMILY_NAMES))
        limon.append(family[0] + " " + "".join(part[0] for part in parts))
        unicode.append(family[1] + " " + "".join(part[1] for part in parts))
    return tuple(limon), tuple(unicode)


def _phone(rng: random.Random) -> str:
    prefix = rng.choice(PHONE_PREFIXES)
    width = 7 if rng.random() < SEVEN_DIGIT_PHONE else 6
    digits = str(rng.randrange(10 ** (width - 1), 10**width))
    layout = rng.random()
    if layout < PHONE_SPACED:
        return f"{prefix} {digits[:3]} {digits[3:]}"
    if layout < PHONE_SPACED + PHONE_PACKED:
        return prefix + digits
    if layout < PHONE_SPACED + PHONE_PACKED + PHONE_INTERNATIONAL:
        return f"+855 {prefix[1:]} {digits[:3]} {digits[3:]}"
    return f"{prefix}-{digits[:3]}-{digits[3:]}"


def _address(rng: random.Random, syllables: list[str]) -> str:
    village = rng.choice(syllables) + rng.choice(syllables).lower()
    return (
        f"#{rng.randrange(1, 400)}, {rng.choice(STREETS)}, {village} Village, "
        f"{rng.choice(ADDRESS_PROVINCES)}"
    )


def _time_of_day(rng: random.Random) -> str:
    return (
        f" {rng.randrange(7, 19):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"
        f".{rng.randrange(1000):03d}"
    )


def _legacy_dates(rng: random.Random, count: int, first: date, last: date) -> tuple[str, ...]:
    base, span = first.toordinal(), last.toordinal() - first.toordinal()
    out = []
    for _ in range(count):
        day = date.fromordinal(base + rng.randrange(span + 1))
        out.append(format_legacy_date(day, rng.randrange(DATE_STYLE_COUNT)))
    return tuple(out)


def build_pools(rng: random.Random, today: date) -> SeedPools:
    """All pools for one generator call (deterministic for the rng's state and ``today``)."""
    family, personal = latin_names(rng)
    khmer_limon, khmer_unicode = _khmer_names(rng)
    phones = tuple(_phone(rng) for _ in range(PHONE_COUNT))
    syllables = latin_syllables()
    addresses = tuple(_address(rng, syllables) for _ in range(ADDRESS_COUNT))
    days = tuple((today - timedelta(days=back)).isoformat() for back in range(2, 1095))
    times = tuple(_time_of_day(rng) for _ in range(TIME_OF_DAY_COUNT))
    return SeedPools(
        family=family,
        personal=personal,
        family_local=tuple(name.lower() for name in family),
        personal_local=tuple(name.lower() for name in personal),
        khmer_limon=khmer_limon,
        khmer_unicode=khmer_unicode,
        phones=phones,
        addresses=addresses,
        days=days,
        times=times,
        birth_dates=_legacy_dates(rng, BIRTH_DATE_COUNT, date(1975, 1, 1), date(2007, 12, 31)),
        enrollment_dates=_legacy_dates(
            rng, ENROLLMENT_DATE_COUNT, today - timedelta(days=1095), today - timedelta(days=2)
        ),
        admission_dates=_legacy_dates(
            rng, ADMISSION_DATE_COUNT, today - timedelta(days=3650), today - timedelta(days=30)
        ),
    )


def format_legacy_date(day: date, style: int) -> str:
    """One of the five legacy date formats of domain.md (style 4 = d/m/Y with day > 12)."""
    year, month, dom = day.year, day.month, day.day
    if style == 0:
        return f"{_MONTHS[month - 1]} {dom:2d} {year} 12:00AM"
    if style == 1:
        return f"{_MONTHS[month - 1]} {dom:2d} {year} 12:00:00:000AM"
    if style == 2:
        return f"{year:04d}-{month:02d}-{dom:02d} 00:00:00.000"
    if style == 3:
        return f"{month:02d}/{dom:02d}/{year}"
    return f"{(dom if dom > 12 else dom + 12):02d}/{month:02d}/{year}"
