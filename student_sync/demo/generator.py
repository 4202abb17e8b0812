"""Synthetic ``legacy_students`` rows with every quirk the sync must survive.

Everything here is invented: English names come from a syllable generator, Khmer names from
Limon syllables, phone numbers are random digits and e-mail domains are reserved
(``example.*``). Nothing describes a real person. The columns' probabilities are named in
:mod:`student_sync.demo.columns`.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date

from student_sync.demo import columns
from student_sync.demo.columns import RowDraws, SchoolEmails
from student_sync.demo.pools import SeedPools, build_pools
from student_sync.demo.vocabulary import (
    BIRTH_PLACES,
    GENDERS,
    NATIONALITIES,
    PROGRAMS,
    RELATIONSHIPS,
    STATUSES,
    TRANSFERS,
)
from student_sync.engine.schema import LEGACY_COLUMNS

LegacyRow = dict[str, str | None]

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
FIRST_IPK = 100_000


def generate_legacy_rows(
    count: int, seed: int = 7, *, start_id: int = 1, today: date
) -> Iterator[LegacyRow]:
    """Stream ``count`` synthetic legacy rows, ids ``start_id`` .. ``start_id + count - 1``.

    Pure and deterministic for (count, seed, start_id, today); rows are produced one at a time so
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
    if count < 0:
        raise ValueError("count must be >= 0")
    rng = random.Random(f"legacy-demo:{seed}")
    pools = build_pools(rng, today)
    return _rows(rng, pools, count, start_id)


def _rows(rng: random.Random, pools: SeedPools, count: int, start_id: int) -> Iterator[LegacyRow]:
    school_emails = SchoolEmails(first_number=start_id + int(count * columns.SCHOOL_EMAIL_FROM))
    for number in range(start_id, start_id + count):
        yield _row(rng, pools, number, school_emails)


def _row(
    rng: random.Random, pools: SeedPools, number: int, school_emails: SchoolEmails
) -> LegacyRow:
    """One row; the column generators are called in the order of their draws."""
    student_id = columns.student_id(rng, number)
    draws = RowDraws.draw(rng)
    local = f"{pools.personal_local[draws.personal]}.{pools.family_local[draws.family]}"
    name, family, personal = columns.english_name(
        rng, pools, pools.family[draws.family], pools.personal[draws.personal]
    )
    kname = columns.khmer_name(rng, pools, draws.khmer, family, personal)
    kname2 = columns.second_khmer_name(rng, pools)
    birth_date = columns.birth_date(rng, pools)
    last_enrollment = columns.last_enrollment_date(rng, pools)
    admission = columns.admission_date(rng, pools)
    email = columns.personal_email(rng, local)
    school_email = school_emails.next(rng, number, local)
    contact, phone, relationship, address = columns.emergency_contact(
        rng, pools, RELATIONSHIPS[draws.relationship]
    )
    created, modified = columns.audit_timestamps(rng, pools, draws.created_time)
    notes = columns.notes(rng)
    deleted = columns.deleted_flag(rng)
    home_address = columns.home_address(rng, pools, draws)
    mobile_phone = columns.mobile_phone(rng, pools)
    batch_id = columns.batch_id(rng, number)
    return {
        "id": student_id,
        "name": name,
        "kname": kname,
        "kname2": kname2,
        "birth_date": birth_date,
        "birth_place": BIRTH_PLACES[draws.birth_place],
        "gender": GENDERS[draws.gender],
        "nationality": NATIONALITIES[draws.nationality],
        "email": email,
        "school_email": school_email,
        "transfer": TRANSFERS[draws.transfer],
        "lastenroll": last_enrollment,
        "emg_contact_person": contact,
        "contact_person_phone": phone,
        "relationship": relationship,
        "contact_person_address": address,
        "ipk": str(FIRST_IPK + 3 * number + draws.ipk_step),
        "modified_date": modified,
        "created_date": created,
        "deleted": deleted,
        "status": STATUSES[draws.status],
        "home_address": home_address,
        "mobile_phone": mobile_phone,
        "current_program": PROGRAMS[draws.program],
        "batch_id": batch_id,
        "admission_date": admission,
        "notes": notes,
    }
