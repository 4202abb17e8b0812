"""Legacy row -> target-shaped record. Pure: no database, every rule from ``domain``."""

from __future__ import annotations

import hashlib
import operator
import re
from collections.abc import Iterable, Mapping
from dataclasses import fields
from functools import lru_cache
from typing import Any

from student_sync import domain
from student_sync.engine.model import ContactValues, Rejection, StudentRecord
from student_sync.engine.options import MAX_STUDENT_ID

# Low-cardinality columns (places, nationalities, dates, codes) repeat across thousands of
# rows: the domain rules are pure, so their results are memoized, bounded per process. 16,384
# entries each: 65,536 mostly kept unique birth dates and names (55 MB after 1,000,000 rows
# against 28 MB now, at the same speed).
_MEMO = 1 << 14
_gender = lru_cache(_MEMO)(domain.parse_gender)
_citizenship = lru_cache(_MEMO)(domain.nationality_to_citizenship)
_province = lru_cache(_MEMO)(domain.birth_province)
_date = lru_cache(_MEMO)(domain.parse_date)
_relationship = lru_cache(_MEMO)(domain.relationship_choice)
_transfer = lru_cache(_MEMO)(domain.transfer_flag)


@lru_cache(_MEMO)
def _status(raw: object, is_frozen: bool) -> domain.Parsed:
    return domain.status_choice(raw, is_frozen=is_frozen)


_DIGITS = re.compile(r"^[0-9]+$")
_MISSING_IPK = domain.DomainWarning(
    "MISSING_IPK", "ipk", "no IPK: change detection by content alone"
)
_TRUE_FLAGS = {"1", "true", "t", "yes", "y"}
MAX_IPK = 9_223_372_036_854_775_807
# A contact's values in field order: what ``tuple(vars(contact).values())`` gives, without
# building the instance's ``__dict__``.
_contact_values = operator.attrgetter(*(f.name for f in fields(ContactValues)))


def legacy_key(raw_id: object) -> str:
    """The id with spaces and leading zeros removed: `00029` and `29` are one student.

    Must agree with ``extract.legacy_key_sql`` (the same rule computed in the database).
    """
    text = "" if raw_id is None else str(raw_id).strip(" ")  # SQL trim(): spaces only
    return text.lstrip("0")


def display_id(raw_id: object) -> str:
    return "" if raw_id is None else str(raw_id)


def rejection_ids(raw_id: object, raw_ipk: object) -> tuple[str, str]:
    """A legacy row's id and IPK as its rejection shows them (built for rejected rows only)."""
    return display_id(raw_id), display_id(raw_ipk).strip()


def parse_student_id(raw_id: object) -> int | Rejection:
    """A numeric id in the profile's 32-bit range, or the rejection that says why not.

    Only spaces are trimmed, as SQL ``trim()`` does for the key the database computes: an id
    with a tab, a newline or a no-break space would otherwise be the same student as the plain
    id under another key, and the second profile would violate the unique student_id.
    """
    if type(raw_id) is str and raw_id.isascii() and raw_id.isdigit():
        # Nearly every row (once in the planner, once in the transform): plain digits have no
        # space to trim and are no null marker, so the general path gives the same int.
        value = int(raw_id)
        if 1 <= value <= MAX_STUDENT_ID:
            return value
    text = "" if raw_id is None else str(raw_id).strip(" ")
    if domain.is_null(text):
        return Rejection(display_id(raw_id), "", "MISSING_ID", "student id is empty")
    if not _DIGITS.fullmatch(text):
        return Rejection(
            display_id(raw_id), "", "INVALID_ID", f"student id {text[:40]!r} is not numeric"
        )
    value = int(text)
    if value < 1 or value > MAX_STUDENT_ID:
        return Rejection(
            display_id(raw_id), "", "INVALID_ID", f"student id {value} is out of range"
        )
    return value


def parse_ipk(raw: object) -> int | None:
    """The IPK as a bigint, or None when it is not one (callers tell missing from invalid)."""
    text = "" if raw is None else str(raw).strip()
    if text.endswith(".0"):  # bigint that went through a float-typed export column
        text = text[:-2]
    if not _DIGITS.match(text):
        return None
    value = int(text)
    return value if value <= MAX_IPK else None


def is_deleted_flag(raw: object) -> bool:
    return str(raw).strip().lower() in _TRUE_FLAGS if raw is not None else False


def fingerprint(values: tuple[Any, ...], mapping_version: str) -> str:
    """Digest of the target-shaped values plus the mapping version.

    Equal fingerprints mean the sync would write exactly the same thing, so the row is
    unchanged; a mapping fix changes the output, hence the fingerprint, only where it matters.
    ``values`` is a flat tuple in a fixed column order, so its ``repr`` is stable and cheap.
    """
    payload = f"{mapping_version}\n{values!r}".encode()
    return hashlib.blake2b(payload, digest_size=32).hexdigest()


def _contact(row: Mapping[str, Any], warnings: list) -> ContactValues | None:
    name = domain.clean_text(row.get("emg_contact_person"))
    if name is None:
        # The sync owns the primary contact: no name means no contact (an existing one is
        # deleted), whatever phone fragments remain.
        return None
    phones = domain.split_phones(row.get("contact_person_phone"))
    relationship = _relationship(row.get("relationship"))
    address = domain.clean_text(row.get("contact_person_address"))
    primary, secondary = phones.value
    if phones.warnings:
        warnings.extend(phones.warnings)
    if relationship.warnings:
        warnings.extend(relationship.warnings)
    return ContactValues(
        name=name[:255],
        relationship=relationship.value,
        primary_phone=primary or "",
        secondary_phone=secondary or "",
        email="",
        address=address or "",
    )


def _known_codes(
    codes: Iterable[str], known_sponsors: Iterable[str], warnings: list
) -> tuple[str, ...]:
    """The name's sponsor codes that are known sponsors; a warning for each other one."""
    known = known_sponsors if isinstance(known_sponsors, frozenset | dict) else set(known_sponsors)
    kept = []
    for code in codes:
        if code in known:
            kept.append(code)
        else:
            warnings.append(
                domain.DomainWarning(
                    "UNKNOWN_SPONSOR_CODE", "name", f"sponsor code <{code}> is not a known sponsor"
                )
            )
    return tuple(kept)


def _written(
    person: dict[str, Any],
    profile: dict[str, Any],
    contact: ContactValues | None,
    codes: tuple[str, ...],
    deleted: bool,
) -> tuple[Any, ...]:
    """What the sync writes for a row, flat and in a fixed order: what ``fingerprint`` digests."""
    return (
        *person.values(),
        *profile.values(),
        None if contact is None else _contact_values(contact),
        tuple(sorted(codes)),
        deleted,
    )


def _ids(raw_id: object, raw_ipk: object) -> tuple[int, int | None] | Rejection:
    """(student id, IPK: None when missing), or the rejection of the row for either.

    A missing IPK (NULL or a null marker: the guide's "no IPK data yet") is no reason to
    reject: the fingerprint alone then decides "unchanged", and the IPK is stored once it
    appears. Only an IPK that is there and is not a bigint is rejected.
    """
    student_id = parse_student_id(raw_id)
    if isinstance(student_id, Rejection):
        return Rejection(*rejection_ids(raw_id, raw_ipk), student_id.reason, student_id.detail)
    ipk_missing = domain.is_null(raw_ipk)
    ipk = None if ipk_missing else parse_ipk(raw_ipk)
    if ipk is None and not ipk_missing:
        shown_id, ipk_text = rejection_ids(raw_id, raw_ipk)
        return Rejection(
            shown_id, ipk_text, "INVALID_IPK", f"ipk {ipk_text[:40]!r} is not a bigint"
        )
    return student_id, ipk


def transform(
    row: Mapping[str, Any], *, known_sponsors: Iterable[str], mapping_version: str
) -> StudentRecord | Rejection:
    """Normalize one legacy row. Rejections carry a reason; warnings ride on the record.

    Runs once per legacy row (the largest CPU cost of a first load): each rule's result is
    unpacked in place, and its warnings added only when there are some.
    """
    get = row.get
    raw_id, raw_ipk = get("id"), get("ipk")
    ids = _ids(raw_id, raw_ipk)
    if isinstance(ids, Rejection):
        return ids
    student_id, ipk = ids
    try:
        name = domain.parse_name(get("name"))
    except domain.DomainRejection as exc:
        return Rejection(*rejection_ids(raw_id, raw_ipk), exc.code, exc.detail)

    warnings: list[domain.DomainWarning] = [_MISSING_IPK] if ipk is None else []
    codes = _known_codes(name.sponsor_codes, known_sponsors, warnings) if name.sponsor_codes else ()
    # In the order of the warnings: gender, citizenship, Khmer name, school and personal
    # email, birth date and province, status, last enrollment (then the contact's).
    parsed = (
        _gender(get("gender")),
        citizenship := _citizenship(get("nationality")),
        # Not memoized per row: the English name (the Latin-or-Limon evidence) is nearly
        # unique; the conversion inside is memoized per distinct text.
        domain.khmer_name(get("kname"), get("kname2"), get("name")),
        domain.normalize_email(get("school_email"), "school_email"),
        domain.normalize_email(get("email"), "email"),
        _date(get("birth_date"), "birth_date"),
        _province(get("birth_place"), citizenship.value),
        _status(get("status"), name.is_frozen),
        _date(get("lastenroll"), "lastenroll"),
    )
    for p in parsed:
        if p.warnings:
            warnings.extend(p.warnings)
    gender, is_monk = parsed[0].value
    person = {
        "family_name": name.family_name[:255],
        "personal_name": name.personal_name[:255],
        "full_name": name.full_name[:255],
        "khmer_name": (parsed[2].value or "")[:255],
        "preferred_gender": gender,
        "school_email": parsed[3].value,
        "personal_email": parsed[4].value,
        "date_of_birth": parsed[5].value,
        "birth_province": parsed[6].value,
        "citizenship": citizenship.value,
    }
    profile = {
        "student_id": student_id,
        "legacy_ipk": ipk,
        "is_monk": is_monk,
        "is_transfer_student": _transfer(get("transfer")),
        "current_status": parsed[7].value,
        "last_enrollment_date": parsed[8].value,
    }
    contact = _contact(row, warnings)
    deleted = is_deleted_flag(get("deleted"))
    return StudentRecord(
        student_id=student_id,
        legacy_id=display_id(raw_id),
        legacy_key=legacy_key(raw_id),
        ipk=ipk,
        deleted=deleted,
        person=person,
        profile=profile,
        contact=contact,
        sponsor_codes=codes,
        warnings=tuple([(w.code, w.field, w.detail) for w in warnings]) if warnings else (),
        fingerprint=fingerprint(
            _written(person, profile, contact, codes, deleted), mapping_version
        ),
    )
