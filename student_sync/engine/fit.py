"""Values that fit the SIS columns: a long value is cut with a warning, never a failed batch.

Pure: a normalized record and the reflected limits in, the record the SIS can hold out. The
planner applies it to every record it plans, so a dry run counts the same warnings and a
persisted change set holds the values the apply step writes.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from student_sync.engine.model import ContactValues, StudentRecord
from student_sync.engine.sis import FitLimits

Warning_ = tuple[str, str, str]

_EMAILS = ("school_email", "personal_email")


def _cut(value: Any, limit: int | None, name: str, warnings: list[Warning_]) -> Any:
    """``value`` cut to ``limit`` characters (trailing spaces dropped), with a warning."""
    if not isinstance(value, str) or limit is None or len(value) <= limit:
        return value
    warnings.append(("VALUE_TRUNCATED", name, f"{len(value)} characters cut to {limit}"))
    return value[:limit].rstrip()


def _fit_person(person: dict[str, Any], limits: dict[str, int], warnings: list[Warning_]):
    out = dict(person)
    for name in _EMAILS:
        value, limit = out.get(name), limits.get(name)
        if isinstance(value, str) and limit is not None and len(value) > limit:
            # A cut address is a wrong address: leave it out instead.
            warnings.append(("EMAIL_TOO_LONG", name, f"{len(value)} characters, column {limit}"))
            out[name] = None
    for name in ("khmer_name", "birth_province", "preferred_gender", "citizenship"):
        out[name] = _cut(out.get(name), limits.get(name), name, warnings)
    # family and personal name, and full_name built from them as Django's Person.save() does
    # (f"{family} {personal}"), within every column's length.
    full_limit = limits.get("full_name")
    family = _cut(out["family_name"], limits.get("family_name"), "family_name", warnings)
    if full_limit is not None:
        family = _cut(family, max(full_limit - 2, 1), "family_name", warnings)
    personal = _cut(out["personal_name"], limits.get("personal_name"), "personal_name", warnings)
    if full_limit is not None:
        room = max(full_limit - len(family) - 1, 1)
        personal = _cut(personal, room, "personal_name", warnings)
    out["family_name"], out["personal_name"] = family, personal
    out["full_name"] = f"{family} {personal}".strip()
    return out


def _fit_contact(
    contact: ContactValues, limits: dict[str, int], warnings: list[Warning_]
) -> ContactValues:
    fields = vars(contact)
    if (not contact.secondary_phone or contact.secondary_phone != contact.primary_phone) and all(
        not isinstance(value := fields.get(name), str) or len(value) <= limit
        for name, limit in limits.items()
    ):
        return contact  # the common case: nothing to cut, no new object per student
    values = {
        name: _cut(value, limits.get(name), f"contact_{name}", warnings)
        for name, value in vars(contact).items()
    }
    email_limit = limits.get("email")
    if email_limit is not None and len(contact.email) > email_limit:
        values["email"] = ""  # never a cut address (the warning above says it was too long)
    if values["secondary_phone"] and values["secondary_phone"] == values["primary_phone"]:
        values["secondary_phone"] = ""  # Django's clean(): the secondary must differ
    return ContactValues(**values)


def fit_record(record: StudentRecord, limits: FitLimits) -> StudentRecord:
    """The record as the SIS columns can hold it; every change is a warning on the record.

    An IPK larger than ``legacy_ipk`` holds (Django's column is a 32-bit integer) leaves the
    profile's ``legacy_ipk`` NULL; the full IPK stays on the record, hence in the sync state,
    so change detection keeps working.
    """
    warnings: list[Warning_] = []
    person = _fit_person(record.person, limits.person, warnings)
    profile = dict(record.profile)
    profile["current_status"] = _cut(
        profile.get("current_status"),
        limits.profile.get("current_status"),
        "current_status",
        warnings,
    )
    ipk = profile.get("legacy_ipk")
    if ipk is not None and ipk > limits.legacy_ipk_max:
        warnings.append(
            ("IPK_TOO_LARGE", "ipk", f"above {limits.legacy_ipk_max}: legacy_ipk left NULL")
        )
        profile["legacy_ipk"] = None
    contact = (
        None if record.contact is None else _fit_contact(record.contact, limits.contact, warnings)
    )
    if not warnings and contact == record.contact and person == record.person:
        return record
    return replace(
        record,
        person=person,
        profile=profile,
        contact=contact,
        warnings=record.warnings + tuple(warnings),
    )
