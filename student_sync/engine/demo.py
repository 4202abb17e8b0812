"""Synthetic legacy data: a ``legacy_students`` table with every quirk the sync must survive.

Everything here is invented: English names come from a syllable generator, Khmer names from
Limon syllables, phone numbers are random digits and e-mail domains are reserved
(``example.*``). Nothing describes a real person.

Three tools for demos and tests:

* :func:`generate_legacy_rows` streams rows (deterministic for its arguments);
* :func:`write_legacy_table` writes them (COPY on PostgreSQL) and
  :func:`write_export_csv` writes the school's CSV export format instead;
* :func:`plan_day_of_edits` / :func:`apply_day_of_edits` make a realistic day of edits so
  incremental runs have something to find.
"""

from __future__ import annotations

import csv
import random
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import chain, islice
from operator import itemgetter
from pathlib import Path

from sqlalchemy import Connection, Engine, delete, inspect, select

from student_sync.engine.legacy_load import (
    EXPORT_COLUMNS,
    add_text_columns,
    begin,
    insert_rows,
    legacy_table,
    reflect_table,
)
from student_sync.engine.schema import KNOWN_SPONSORS, LEGACY_COLUMNS, LEGACY_TABLE_NAME

LegacyRow = dict[str, str | None]

KNOWN_CODES: tuple[str, ...] = tuple(code for code, _ in KNOWN_SPONSORS)
UNKNOWN_CODES: tuple[str, ...] = ("XYZ", "ABC", "UNK", "SCH1")
# Export columns the generator fills besides LEGACY_COLUMNS (the sync ignores them).
EXTRA_COLUMNS: tuple[str, ...] = (
    "home_address",
    "mobile_phone",
    "current_program",
    "batch_id",
    "admission_date",
    "notes",
)
ROW_COLUMNS: tuple[str, ...] = LEGACY_COLUMNS + EXTRA_COLUMNS
NULL_MARKERS: tuple[str | None, ...] = (None, "NULL", "null", "NA", "", "  ")
DATE_NULL_MARKERS: tuple[str | None, ...] = (*NULL_MARKERS, "0000-00-00")

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MARKER_RE = re.compile(r"\$\$|<[^<>]*>|\{[^{}]*\}|\([^()]*\)|\[[^\[\]]*\]")
_KNOWN_CODE_RE = re.compile(r"<(" + "|".join(KNOWN_CODES) + r")>")
_NULLISH = frozenset({"", "null", "na", "n/a", "none", "0000-00-00"})

# --------------------------------------------------------------------------- Khmer syllables
# (Limon keys in visual typing order, the same syllable in Khmer Unicode), written from the
# Limon key table in docs/limon.md: pre-base vowels and coeng-ro typed first, split vowels
# around the consonant, shifters and subscripts after the base.
_FAMILY_KM: tuple[tuple[str, str], ...] = (
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
_PERSONAL_KM: tuple[tuple[str, str], ...] = (
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
_ONSETS = (
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
_RIMES = (
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
_REMARKS = ("[left 2019]", "[see file]", "[twin]", "[re-admitted]", "[check DOB]", "[old id 7]")
_STREETS = ("St. 271", "St. 2004", "Norodom Blvd", "St. 63", "Russian Blvd", "St. 598", "NR 5")
_PROVINCES_ADDR = (
    "Phnom Penh",
    "Kandal",
    "Takeo",
    "Kampong Cham",
    "Siem Reap",
    "Battambang",
    "Prey Veng",
    "Kampot",
)
_PHONE_PREFIXES = (
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


def _pool(*weighted: tuple[str | None, float], size: int = 1024) -> tuple[str | None, ...]:
    """A lookup table of ``size`` (a power of two) entries in proportion to the weights.

    Indexing it with ``getrandbits(log2(size))`` is one cheap draw per field.
    """
    total = sum(w for _, w in weighted)
    exact = [w / total * size for _, w in weighted]
    counts = [int(x) for x in exact]
    order = sorted(range(len(exact)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in order[: size - sum(counts)]:
        counts[i] += 1
    return tuple(chain.from_iterable([v] * c for (v, _), c in zip(weighted, counts, strict=True)))


_GENDERS = _pool(
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
_PROVINCES = _pool(
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
_NATIONALITIES = _pool(
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
_TRANSFERS = _pool(
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
_RELATIONSHIPS = _pool(
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
_STATUSES = _pool(
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
_PROGRAMS = _pool(
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
_PHONE_WORDS = ("none", "N/A", "no phone", "-", "unknown")
_EMAIL_DOMAINS = ("example.com", "example.org", "mail.example.net", "example.edu")
_SCHOOL_DOMAIN = "students.school.example.edu"
_NOTES = (
    "scholarship review",
    "transfer credits pending",
    'paid "in full", see office',
    "moved to evening class",
    "prefers Khmer name on certificate",
    "address changed\nsee registrar",
)


# --------------------------------------------------------------------------- generator
@dataclass(frozen=True)
class _Pools:
    """Per-seed pools, built once per call so a row costs only cheap draws."""

    family: tuple[str, ...]  # 1024
    personal: tuple[str, ...]  # 4096
    family_local: tuple[str, ...]  # e-mail local parts, same index as family / personal
    personal_local: tuple[str, ...]
    km_limon: tuple[str, ...]  # 2048, same index = same name as km_unicode
    km_unicode: tuple[str, ...]
    phones: tuple[str, ...]  # 4096
    addresses: tuple[str, ...]  # 1024
    days: tuple[str, ...]  # 'YYYY-MM-DD' for today-2 ... today-1094 (index 0 = today-2)
    times: tuple[str, ...]  # 4096 ' HH:MM:SS.fff' between 07:00 and 19:00
    birth_dates: tuple[str, ...]  # 16384 dates 1975-2007 in the five legacy formats
    enroll_dates: tuple[str, ...]  # 4096 dates in the last 3 years, five formats
    admission_dates: tuple[str, ...]  # 4096 dates in the last 10 years, five formats


def _build_pools(rng: random.Random, today: date) -> _Pools:
    syllables = [o + r for o in _ONSETS for r in _RIMES]
    syllables = [s[0].upper() + s[1:] for s in syllables if len(s) >= 2]
    family = tuple(rng.choice(syllables) for _ in range(1024))
    personal = []
    for _ in range(4096):
        first = rng.choice(syllables)
        personal.append(first if rng.random() < 0.35 else first + rng.choice(syllables).lower())
    limon: list[str] = []
    uni: list[str] = []
    for _ in range(2048):
        fam = rng.choice(_FAMILY_KM)
        parts = [rng.choice(_PERSONAL_KM)]
        if rng.random() < 0.4:
            parts.append(rng.choice(_PERSONAL_KM + _FAMILY_KM))
        limon.append(fam[0] + " " + "".join(p[0] for p in parts))
        uni.append(fam[1] + " " + "".join(p[1] for p in parts))
    phones = []
    for _ in range(4096):
        prefix = rng.choice(_PHONE_PREFIXES)
        width = 7 if rng.random() < 0.4 else 6
        digits = str(rng.randrange(10 ** (width - 1), 10**width))
        style = rng.random()
        if style < 0.55:
            phones.append(f"{prefix} {digits[:3]} {digits[3:]}")
        elif style < 0.75:
            phones.append(prefix + digits)
        elif style < 0.9:
            phones.append(f"+855 {prefix[1:]} {digits[:3]} {digits[3:]}")
        else:
            phones.append(f"{prefix}-{digits[:3]}-{digits[3:]}")
    addresses = []
    for _ in range(1024):
        village = rng.choice(syllables) + rng.choice(syllables).lower()
        addresses.append(
            f"#{rng.randrange(1, 400)}, {rng.choice(_STREETS)}, {village} Village, "
            f"{rng.choice(_PROVINCES_ADDR)}"
        )
    days = tuple((today - timedelta(days=d)).isoformat() for d in range(2, 1095))
    times = tuple(
        f" {rng.randrange(7, 19):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"
        f".{rng.randrange(1000):03d}"
        for _ in range(4096)
    )

    def dates(count: int, first: date, last: date) -> tuple[str, ...]:
        base, span = first.toordinal(), last.toordinal() - first.toordinal()
        out = []
        for _ in range(count):
            d = date.fromordinal(base + rng.randrange(span + 1))
            out.append(_fmt_date(d.year, d.month, d.day, rng.randrange(5)))
        return tuple(out)

    return _Pools(
        family=tuple(family),
        personal=tuple(personal),
        family_local=tuple(f.lower() for f in family),
        personal_local=tuple(p.lower() for p in personal),
        km_limon=tuple(limon),
        km_unicode=tuple(uni),
        phones=tuple(phones),
        addresses=tuple(addresses),
        days=days,
        times=times,
        birth_dates=dates(16384, date(1975, 1, 1), date(2007, 12, 31)),
        enroll_dates=dates(4096, today - timedelta(days=1095), today - timedelta(days=2)),
        admission_dates=dates(4096, today - timedelta(days=3650), today - timedelta(days=30)),
    )


def _fmt_date(y: int, m: int, d: int, style: int) -> str:
    """One of the legacy date formats from domain.md (style 4 = d/m/Y, forced day > 12)."""
    if style == 0:
        return f"{_MONTHS[m - 1]} {d:2d} {y} 12:00AM"
    if style == 1:
        return f"{_MONTHS[m - 1]} {d:2d} {y} 12:00:00:000AM"
    if style == 2:
        return f"{y:04d}-{m:02d}-{d:02d} 00:00:00.000"
    if style == 3:
        return f"{m:02d}/{d:02d}/{y}"
    return f"{(d if d > 12 else d + 12):02d}/{m:02d}/{y}"


def generate_legacy_rows(
    n: int, seed: int = 7, *, start_id: int = 1, today: date
) -> Iterator[LegacyRow]:
    """Stream ``n`` synthetic legacy rows, ids ``start_id`` .. ``start_id + n - 1``.

    Pure and deterministic for (n, seed, start_id, today); rows are produced one at a time so
    a million rows never sit in memory. Shares (of all rows, approximate):

    * rejected by a correct sync ~2%: missing name 0.7% (``''``, ``'  '``, ``'NULL'``,
      ``'null'``, ``'NA'``), marker-only name 0.5% (``'$$ <CRST>'``...), non-numeric id 0.6%
      (``'A0123'``, ``'12-34'``, ``' '``), duplicated school e-mail ~0.3% (pairs);
    * name markers: ``$$`` prefix 2.5% and suffix 2.5%; one known ``<CODE>`` 10%, two known
      codes 1%, an unknown code 0.8% (half of them beside a known one); ``{AF}`` 2%;
      ``(ST)`` 1.2%; ``[remark]`` 1.5%; hyphenated names 3%, apostrophes 1.5%;
    * kname: Limon 72%, Khmer Unicode 12%, Latin text 4%, null markers 12%; kname2 set 9%;
    * dates (birth_date, lastenroll, admission_date): five formats ~19% each (incl. d/m/Y with
      day > 12), null markers ~7% of birth dates incl. ``'0000-00-00'`` 1.5%;
    * school_email only for ids after 60% of the range (92% of those, 5% upper case);
    * contacts: blank 12%, phone with two numbers 15%, phone words 3%;
    * deleted ``'1'`` 1%; modified_date NULL 15% (created_date NULL too on 1% of rows);
      timestamps ``YYYY-MM-DD HH:MM:SS.fff`` (school local) from 3 years before ``today`` up
      to the day before yesterday, so a day of edits on yesterday stands alone.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    rng = random.Random(f"legacy-demo:{seed}")
    pools = _build_pools(rng, today)
    return _rows(rng, pools, n, start_id, today)


def _rows(rng: random.Random, p: _Pools, n: int, start_id: int, today: date) -> Iterator[LegacyRow]:
    rnd = rng.random
    bits = rng.getrandbits
    family_pool, personal_pool, phones, addresses, days = (
        p.family,
        p.personal,
        p.phones,
        p.addresses,
        p.days,
    )
    family_local, personal_local = p.family_local, p.personal_local
    km_limon, km_unicode = p.km_limon, p.km_unicode
    n_days = len(days)
    times, birth_dates, enroll_dates, admission_dates = (
        p.times,
        p.birth_dates,
        p.enroll_dates,
        p.admission_dates,
    )
    school_from = start_id + int(n * 0.6)
    last_school_email: str | None = None

    for i in range(start_id, start_id + n):
        # ---- id / ipk
        u = rnd()
        if u < 0.003:
            sid = f"A{i % 10000:04d}"
        elif u < 0.005:
            sid = f"{i // 100 % 100}-{i % 100:02d}"
        elif u < 0.006:
            sid = " "
        else:
            sid = f"{i:05d}"
        # Unconditional picks share two 64-bit draws (one call, then shifts: cheaper per row).
        b = bits(64)
        d = bits(64)
        ipk = str(100_000 + 3 * i + (b >> 63))

        # ---- English name with markers
        fi = b & 1023
        pi = (b >> 10) & 4095
        family = family_pool[fi]
        personal = personal_pool[pi]
        local = f"{personal_local[pi]}.{family_local[fi]}"
        u = rnd()
        if u < 0.007:
            name = ("", "  ", "NULL", "null", "NA", "NULL", "", " ")[bits(3)]
        elif u < 0.012:
            name = (
                "$$ <CRST>",
                "<PLF>",
                "$$",
                "{AF}",
                "(ST) <PEPY>",
                "<JWOC> $$",
                "[see file]",
                "$$<LOC>",
            )[bits(3)]
        else:
            v = rnd()
            if v < 0.03:
                personal = personal + "-" + personal_pool[bits(12)]
            elif v < 0.045:
                personal = f"{family_pool[bits(10)]}'{family_local[bits(10)]}"
            elif v < 0.05:
                family = family + "-" + family_pool[bits(10)]
            v = rnd()
            if v < 0.15:
                base = f"{family.upper()} {personal}"
            elif v < 0.18:
                base = f"{family.lower()} {personal.lower()}"
            elif v < 0.20:
                base = f"{family.upper()} {personal.upper()}"
            else:
                base = f"{family} {personal}"
            v = rnd()
            if v < 0.10:
                code = f"<{KNOWN_CODES[bits(10) % 7]}>"
            elif v < 0.11:
                a = bits(10) % 7
                b = (a + 1 + bits(10) % 6) % 7
                sep = " " if bits(1) else ""
                code = f"<{KNOWN_CODES[a]}>{sep}<{KNOWN_CODES[b]}>"
            elif v < 0.114:
                code = f"<{UNKNOWN_CODES[bits(2)]}>"
            elif v < 0.118:
                code = f"<{KNOWN_CODES[bits(10) % 7]}> <{UNKNOWN_CODES[bits(2)]}>"
            else:
                code = ""
            if code:
                base = f"{code} {base}" if rnd() < 0.2 else f"{base} {code}"
            v = rnd()
            if v < 0.02:
                base += " {AF}"
            elif v < 0.032:
                base += " (ST)"
            elif v < 0.047:
                base += " " + _REMARKS[bits(10) % len(_REMARKS)]
            v = rnd()
            if v < 0.025:
                base = ("$$" if bits(1) else "$$ ") + base
            elif v < 0.05:
                base = base + ("$$" if bits(1) else " $$")
            name = base

        # ---- Khmer names
        k = (b >> 22) & 2047
        u = rnd()
        if u < 0.72:
            kname: str | None = km_limon[k]
        elif u < 0.84:
            kname = km_unicode[k]
        elif u < 0.88:
            kname = f"{family} {personal}" if bits(1) else f"{family} {personal}".upper()
        else:
            kname = NULL_MARKERS[bits(10) % 6]
        u = rnd()
        if u < 0.06:
            kname2: str | None = km_limon[bits(11)]
        elif u < 0.09:
            kname2 = km_unicode[bits(11)]
        elif u < 0.6:
            kname2 = None
        else:
            kname2 = ("NULL", "", "NULL", "  ")[bits(2)]

        # ---- dates
        u = rnd()
        if u < 0.015:
            birth_date: str | None = "0000-00-00"
        elif u < 0.07:
            birth_date = DATE_NULL_MARKERS[bits(10) % 7]
        else:
            birth_date = birth_dates[bits(14)]
        lastenroll = DATE_NULL_MARKERS[bits(10) % 7] if rnd() < 0.1 else enroll_dates[bits(12)]
        admission = DATE_NULL_MARKERS[bits(10) % 7] if rnd() < 0.3 else admission_dates[bits(12)]

        # ---- simple categorical columns
        gender = _GENDERS[(b >> 33) & 1023]
        birth_place = _PROVINCES[(b >> 43) & 1023]
        nationality = _NATIONALITIES[(b >> 53) & 1023]
        transfer = _TRANSFERS[d & 1023]
        status = _STATUSES[(d >> 10) & 1023]
        program = _PROGRAMS[(d >> 20) & 1023]

        # ---- e-mails
        u = rnd()
        if u < 0.15:
            email: str | None = NULL_MARKERS[bits(10) % 6]
        elif u < 0.17:
            email = (
                f"{local}@",
                f"{local.replace('.', ' ')}@example.com",
                f"{local}.example.com",
                f"{local}@@example.org",
                "N/A",
                f"{local}@example",
            )[bits(10) % 6]
        else:
            addr = f"{local}{bits(7)}@{_EMAIL_DOMAINS[bits(2)]}"
            email = addr.title() if rnd() < 0.15 else addr
        school_email: str | None = None
        if i >= school_from:
            u = rnd()
            if u < 0.008 and last_school_email is not None:
                school_email = last_school_email
            elif u < 0.08:
                school_email = NULL_MARKERS[bits(10) % 6]
            else:
                school_email = f"{local}.{i}@{_SCHOOL_DOMAIN}"
                if u > 0.95:
                    school_email = school_email.upper()
                last_school_email = school_email

        # ---- emergency contact
        u = rnd()
        if u < 0.12:
            blank = NULL_MARKERS[bits(10) % 6]
            contact: str | None = blank
            c_phone: str | None = blank if rnd() < 0.7 else NULL_MARKERS[bits(10) % 6]
            relationship: str | None = blank
            c_address: str | None = blank
        else:
            cf = family_pool[bits(10)]
            contact = f"{cf} {personal_pool[bits(12)]}"
            if rnd() < 0.1:
                contact = ("Mr. ", "Mrs. ", "Ms. ")[bits(10) % 3] + contact
            v = rnd()
            if v < 0.15:
                sep = (" / ", ", ", " or ", "/")[bits(2)]
                c_phone = phones[bits(12)] + sep + phones[bits(12)]
            elif v < 0.18:
                c_phone = _PHONE_WORDS[bits(10) % 5]
            elif v < 0.21:
                c_phone = NULL_MARKERS[bits(10) % 6]
            else:
                c_phone = phones[bits(12)]
            relationship = _RELATIONSHIPS[(d >> 30) & 1023]
            c_address = addresses[bits(10)] if rnd() < 0.8 else NULL_MARKERS[bits(10) % 6]

        # ---- audit timestamps: created_date <= modified_date, both before yesterday
        c = int(rnd() * n_days)
        created: str | None = days[c] + times[(d >> 40) & 4095]
        u = rnd()
        if u < 0.01:
            created = modified = None
        elif u < 0.15:
            modified = None
        else:
            m = int(rnd() * (c + 1))
            modified = created if m == c else days[m] + times[bits(12)]

        u = rnd()
        notes = None if u < 0.9 else (_NOTES[bits(10) % 6] if u < 0.95 else "NULL")

        yield {
            "id": sid,
            "name": name,
            "kname": kname,
            "kname2": kname2,
            "birth_date": birth_date,
            "birth_place": birth_place,
            "gender": gender,
            "nationality": nationality,
            "email": email,
            "school_email": school_email,
            "transfer": transfer,
            "lastenroll": lastenroll,
            "emg_contact_person": contact,
            "contact_person_phone": c_phone,
            "relationship": relationship,
            "contact_person_address": c_address,
            "ipk": ipk,
            "modified_date": modified,
            "created_date": created,
            "deleted": "1" if rnd() < 0.01 else "0",
            "status": status,
            "home_address": (addresses[(d >> 52) & 1023] if rnd() < 0.85 else NULL_MARKERS[k % 6]),
            "mobile_phone": phones[bits(12)] if rnd() < 0.8 else None,
            "current_program": program,
            "batch_id": f"B{2014 + i % 11}-{1 + i % 4:02d}" if rnd() < 0.8 else "NULL",
            "admission_date": admission,
            "notes": notes,
        }


# --------------------------------------------------------------------------- validity
def is_null_marker(value: str | None) -> bool:
    """True for every null spelling the legacy data uses."""
    return value is None or value.strip().lower() in _NULLISH


def bare_name(name: str | None) -> str:
    """The name with every marker removed and whitespace collapsed ('' when nothing is left)."""
    if name is None:
        return ""
    text = " ".join(_MARKER_RE.sub(" ", name).split())
    return "" if is_null_marker(text) else text


def is_valid_row(row: LegacyRow) -> bool:
    """Would a correct sync accept the row (ignoring school-email clashes)?"""
    sid = (row.get("id") or "").strip()
    ipk = (row.get("ipk") or "").strip()
    return (
        sid.isascii()
        and sid.isdigit()
        and ipk.isascii()
        and ipk.isdigit()
        and bool(bare_name(row.get("name")))
    )


def _school_email_key(value: str | None) -> str | None:
    return None if is_null_marker(value) else value.strip().lower()  # type: ignore[union-attr]


# --------------------------------------------------------------------------- write table
def write_legacy_table(
    conn_or_engine: Engine | Connection,
    rows: Iterable[LegacyRow],
    *,
    replace: bool = True,
    table_name: str = LEGACY_TABLE_NAME,
    chunk_size: int = 10_000,
) -> int:
    """Write rows to the staging table (all TEXT); returns the number of rows written.

    Columns come from the first ``chunk_size`` rows (LEGACY_COLUMNS first); a later row with
    a column not seen there is an error. ``replace`` drops and recreates the table; otherwise
    rows are appended (missing columns added). On an Engine this is one transaction; on a
    Connection, the caller's open transaction (or one begun and committed here). PostgreSQL
    (psycopg) gets COPY; SQLite a compiled Core INSERT fed to the driver's executemany.
    """
    iterator = iter(rows)
    first = list(islice(iterator, chunk_size))
    seen: dict[str, None] = {}
    for row in first:
        seen.update(dict.fromkeys(row))
    extra = [c for c in seen if c not in LEGACY_COLUMNS]
    columns = tuple(LEGACY_COLUMNS) + tuple(extra)
    with begin(conn_or_engine) as conn:
        table = legacy_table(table_name, extra)
        if replace:
            table.drop(conn, checkfirst=True)
            table.create(conn)
        elif inspect(conn).has_table(table_name):
            table = add_text_columns(conn, reflect_table(conn, table_name), columns)
        else:
            table.create(conn)
        return insert_rows(
            conn, table, columns, _tuples(chain(first, iterator), columns), chunk_size=chunk_size
        )


def _tuples(rows: Iterable[LegacyRow], columns: Sequence[str]) -> Iterator[tuple[str | None, ...]]:
    """Rows as tuples in column order; missing keys are None, unknown keys an error."""
    getter = itemgetter(*columns)
    width = len(columns)
    known = frozenset(columns)
    for row in rows:
        if len(row) == width:
            try:
                yield getter(row)
                continue
            except KeyError:
                pass
        unknown = [k for k in row if k not in known]
        if unknown:
            raise ValueError(f"row {row.get('id')!r} has columns not in the table: {unknown}")
        yield tuple(row.get(c) for c in columns)


# --------------------------------------------------------------------------- day of edits
@dataclass(frozen=True)
class DayOfEdits:
    """What a day of edits changed, by legacy student id (categories are disjoint)."""

    edit_day: date
    renames: tuple[str, ...] = ()
    sponsor_changes: tuple[str, ...] = ()
    sponsor_removals: tuple[str, ...] = ()
    contact_removals: tuple[str, ...] = ()
    deletions: tuple[str, ...] = ()
    new_students: tuple[str, ...] = ()
    updated_rows: tuple[LegacyRow, ...] = field(default=(), repr=False)  # full rows after edit
    new_rows: tuple[LegacyRow, ...] = field(default=(), repr=False)

    CATEGORIES = (
        "renames",
        "sponsor_changes",
        "sponsor_removals",
        "contact_removals",
        "deletions",
        "new_students",
    )

    def by_category(self) -> dict[str, tuple[str, ...]]:
        return {name: getattr(self, name) for name in self.CATEGORIES}

    def counts(self) -> dict[str, int]:
        return {name: len(ids) for name, ids in self.by_category().items()}

    @property
    def edited_ids(self) -> frozenset[str]:
        """Ids of existing rows that changed (new students excluded)."""
        return frozenset(r["id"] for r in self.updated_rows)  # type: ignore[misc]

    @property
    def total(self) -> int:
        return sum(self.counts().values())


_EDIT_SHARES = (
    ("renames", 0.25),
    ("sponsor_changes", 0.15),
    ("sponsor_removals", 0.10),
    ("contact_removals", 0.15),
    ("deletions", 0.15),
    ("new_students", 0.20),
)


def _allocate(total: int) -> dict[str, int]:
    """Split the edit budget over the categories: at least one each once the budget allows."""
    names = [n for n, _ in _EDIT_SHARES]
    if total < len(names):
        return {n: int(i < total) for i, n in enumerate(names)}
    counts = {n: max(1, int(total * share)) for n, share in _EDIT_SHARES}
    i = 0
    while sum(counts.values()) < total:
        counts[names[i % len(names)]] += 1
        i += 1
    while sum(counts.values()) > total:  # max(1, ...) may overshoot on small budgets
        biggest = max(counts, key=counts.__getitem__)
        counts[biggest] -= 1
    return counts


def _edit_timestamp(rng: random.Random, day: date) -> str:
    seconds = rng.randrange(7 * 3600, 19 * 3600)
    return (
        f"{day.isoformat()} {seconds // 3600:02d}:{seconds // 60 % 60:02d}:"
        f"{seconds % 60:02d}.{rng.randrange(1000):03d}"
    )


def _rename(rng: random.Random, name: str, personal_pool: Sequence[str]) -> str:
    """Replace the personal name (words after the family name), keeping every marker."""
    parts = _MARKER_RE.split(name)
    markers = _MARKER_RE.findall(name)
    for index, part in enumerate(parts):
        words = part.split()
        if words and any(ch.isalpha() for ch in part):
            lead = part[: len(part) - len(part.lstrip())]
            trail = part[len(part.rstrip()) :]
            for _ in range(20):  # differ after upper-casing, or the sync sees no change
                new_personal = rng.choice(personal_pool)
                candidate = f"{lead}{words[0]} {new_personal}{trail}"
                if candidate.upper().split() != part.upper().split():
                    break
            parts[index] = candidate
            break
    out = parts[0]
    for marker, part in zip(markers, parts[1:], strict=True):
        out += marker + part
    return out


def _remove_code(name: str, code: str) -> str:
    marker = f"<{code}>"
    for pattern in (r"\s+" + re.escape(marker), re.escape(marker) + r"\s*"):
        new, hits = re.subn(pattern, "", name, count=1)
        if hits:
            return new
    return name


def plan_day_of_edits(
    rows: Sequence[LegacyRow],
    *,
    seed: int,
    edit_day: date,
    fraction: float = 0.01,
    next_id: int,
    next_ipk: int,
) -> DayOfEdits:
    """Plan a realistic day of edits over ``rows`` (pure: the input is not modified).

    About ``fraction * len(rows)`` edits split over renames (same ipk, markers kept), sponsor
    code changes, sponsor code removals, contact removals, deletions and new students (ids
    from ``next_id``, ipks from ``next_ipk``). Only valid, not deleted rows with a unique id
    and school e-mail are edited; every edited row gets a ``modified_date`` on ``edit_day``.
    """
    rng = random.Random(f"day-of-edits:{seed}:{edit_day.isoformat()}")
    budget = _allocate(int(round(fraction * len(rows))))

    id_counts = Counter(r.get("id") for r in rows)
    email_counts = Counter(_school_email_key(r.get("school_email")) for r in rows)
    eligible = [
        r
        for r in rows
        if is_valid_row(r)
        and (r.get("deleted") or "").strip() != "1"
        and id_counts[r.get("id")] == 1
        and (
            email_counts[_school_email_key(r.get("school_email"))] == 1
            or _school_email_key(r.get("school_email")) is None
        )
    ]
    eligible.sort(key=lambda r: (r.get("id") or "", r.get("ipk") or ""))  # order-independent
    taken: set[str] = set()

    def pick(candidates: list[LegacyRow], k: int) -> list[LegacyRow]:
        free = [r for r in candidates if r["id"] not in taken]
        chosen = rng.sample(free, min(k, len(free)))
        chosen.sort(key=lambda r: r["id"] or "")
        taken.update(r["id"] for r in chosen)  # type: ignore[misc]
        return chosen

    sponsored = [r for r in eligible if _KNOWN_CODE_RE.search(r["name"] or "")]
    with_contact = [r for r in eligible if not is_null_marker(r.get("emg_contact_person"))]
    personal_pool = _build_pools(random.Random(f"edit-names:{seed}"), edit_day).personal

    updated: list[LegacyRow] = []
    ids: dict[str, list[str]] = {name: [] for name, _ in _EDIT_SHARES}

    for row in pick(sponsored, budget["sponsor_changes"]):
        name = row["name"] or ""
        present = _KNOWN_CODE_RE.findall(name)
        old = rng.choice(present)
        new = rng.choice([c for c in KNOWN_CODES if c not in present])
        updated.append({**row, "name": name.replace(f"<{old}>", f"<{new}>", 1)})
        ids["sponsor_changes"].append(row["id"])  # type: ignore[arg-type]
    for row in pick(sponsored, budget["sponsor_removals"]):
        name = row["name"] or ""
        old = rng.choice(_KNOWN_CODE_RE.findall(name))
        updated.append({**row, "name": _remove_code(name, old)})
        ids["sponsor_removals"].append(row["id"])  # type: ignore[arg-type]
    for row in pick(with_contact, budget["contact_removals"]):
        updated.append(
            {
                **row,
                "emg_contact_person": None,
                "contact_person_phone": None,
                "relationship": None,
                "contact_person_address": None,
            }
        )
        ids["contact_removals"].append(row["id"])  # type: ignore[arg-type]
    for row in pick(eligible, budget["renames"]):
        updated.append({**row, "name": _rename(rng, row["name"] or "", personal_pool)})
        ids["renames"].append(row["id"])  # type: ignore[arg-type]
    for row in pick(eligible, budget["deletions"]):
        updated.append({**row, "deleted": "1"})
        ids["deletions"].append(row["id"])  # type: ignore[arg-type]
    for row in updated:
        row["modified_date"] = _edit_timestamp(rng, edit_day)
    updated.sort(key=lambda r: r["id"] or "")

    new_rows: list[LegacyRow] = []
    want = budget["new_students"]
    if want:
        candidates = generate_legacy_rows(
            want * 2 + 20, seed=seed, start_id=next_id, today=edit_day + timedelta(days=1)
        )
        for row in candidates:
            if len(new_rows) == want:
                break
            if not is_valid_row(row) or row["deleted"] == "1":
                continue
            number = next_id + len(new_rows)
            sid = f"{number:05d}"
            stamp = _edit_timestamp(rng, edit_day)
            local = re.sub(r"[^a-z]", "", bare_name(row["name"]).lower())[:20] or "student"
            new_rows.append(
                {
                    **row,
                    "id": sid,
                    "ipk": str(next_ipk + len(new_rows)),
                    "school_email": f"{local}.{number}@{_SCHOOL_DOMAIN}",
                    "created_date": stamp,
                    "modified_date": stamp if rng.random() < 0.5 else None,
                    "deleted": "0",
                }
            )
            ids["new_students"].append(sid)

    return DayOfEdits(
        edit_day=edit_day,
        updated_rows=tuple(updated),
        new_rows=tuple(new_rows),
        **{name: tuple(values) for name, values in ids.items()},
    )


def _max_number(values: Iterable[str | None]) -> int:
    best = 0
    for value in values:
        text = (value or "").strip()
        if text.isascii() and text.isdigit():
            best = max(best, int(text))
    return best


def apply_day_of_edits(
    engine: Engine | Connection,
    *,
    seed: int,
    edit_day: date,
    fraction: float = 0.01,
    table_name: str = LEGACY_TABLE_NAME,
) -> DayOfEdits:
    """Read the legacy table, plan a day of edits and apply it in one transaction.

    Reads the whole table (fine for demo sizes; ~1 GB of Python objects at a million rows).
    An edited row keeps its id and ipk: only its values change.
    """
    with begin(engine) as conn:
        table = reflect_table(conn, table_name)
        keys = tuple(table.c.keys())
        rows = [dict(zip(keys, r, strict=True)) for r in conn.execute(select(table))]
        plan = plan_day_of_edits(
            rows,
            seed=seed,
            edit_day=edit_day,
            fraction=fraction,
            next_id=_max_number(r["id"] for r in rows) + 1,
            next_ipk=_max_number(r["ipk"] for r in rows) + 1,
        )
        # Set-based: delete the edited rows by id, then insert their new versions with the new
        # students (COPY on PostgreSQL). One UPDATE per row would scan the unindexed table once
        # per row. Edited ids are unique in the table (plan_day_of_edits only edits those).
        edited = sorted(plan.edited_ids)
        for start in range(0, len(edited), 5_000):
            conn.execute(delete(table).where(table.c.id.in_(edited[start : start + 5_000])))
        columns = [c.name for c in table.columns]
        insert_rows(
            conn,
            table,
            columns,
            [tuple(r.get(c) for c in columns) for r in (*plan.updated_rows, *plan.new_rows)],
        )
    return plan


# --------------------------------------------------------------------------- export CSV
def write_export_csv(
    rows: Iterable[LegacyRow], path: str | Path, *, seed: int = 0, bom: bool = False
) -> int:
    """Write rows as the school's SQL Server export; returns the number of data rows.

    All 87 CamelCase headers in a seed-shuffled order (the export's order varies), literal
    ``NULL`` for None, CRLF line ends, UTF-8 (optionally with BOM). ``UI`` and ``PW`` get
    synthetic junk logins, so tests can prove the loader drops them. Row keys that are not
    export columns are appended with the key as header.
    """
    rng = random.Random(f"export:{seed}")
    iterator = iter(rows)
    first = next(iterator, None)
    export = list(EXPORT_COLUMNS)
    known = {column for _, column in export}
    if first is not None:
        export += [(k, k) for k in first if k not in known]
    rng.shuffle(export)
    headers = [h for h, _ in export]
    columns = [c for _, c in export]
    written = 0
    with Path(path).open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(headers)
        for row in chain([first] if first is not None else [], iterator):
            out = []
            for column in columns:
                if column == "ui":
                    out.append(f"usr{rng.getrandbits(24):06x}")
                elif column == "pw":
                    out.append(f"pw!{rng.getrandbits(40):010x}")
                else:
                    value = row.get(column)
                    out.append("NULL" if value is None else value)
            writer.writerow(out)
            written += 1
    return written
