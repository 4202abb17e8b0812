"""fit_record: the record as the reflected SIS columns can hold it (pure)."""

from __future__ import annotations

from student_sync.engine.fit import fit_record
from student_sync.engine.sis import FitLimits, declared_limits
from student_sync.engine.transform import transform
from student_sync_tests.helpers import legacy_row


def record(**values):
    out = transform(legacy_row(1, **values), known_sponsors=(), mapping_version="t")
    assert not hasattr(out, "reason"), out
    return out


def test_a_record_that_fits_is_returned_as_is() -> None:
    r = record()
    assert fit_record(r, declared_limits()) is r


def test_names_are_cut_so_full_name_is_what_person_save_builds() -> None:
    r = record(name="SOKHA " + "Dara " * 80)
    fitted = fit_record(r, FitLimits(person={"family_name": 255, "personal_name": 255,
                                             "full_name": 40}))  # fmt: skip
    p = fitted.person
    assert p["full_name"] == f"{p['family_name']} {p['personal_name']}"
    assert len(p["full_name"]) <= 40 and not p["personal_name"].endswith(" ")
    assert ("VALUE_TRUNCATED", "personal_name") in {(c, f) for c, f, _ in fitted.warnings}
    assert fitted.fingerprint == r.fingerprint  # the mapping version carries the limits


def test_an_email_longer_than_its_column_is_left_out_not_cut() -> None:
    r = record(email="dara.sokha@example.org")
    fitted = fit_record(r, FitLimits(person={"personal_email": 10}))
    assert fitted.person["personal_email"] is None
    assert [w[0] for w in fitted.warnings] == ["EMAIL_TOO_LONG"]


def test_contact_values_fit_and_phones_stay_distinct() -> None:
    r = record(emg_contact_person="Vanna " + "x" * 50,
               contact_person_phone="012 345 678 / 012 345 679")  # fmt: skip
    assert r.contact is not None and r.contact.secondary_phone
    fitted = fit_record(r, FitLimits(contact={"name": 20, "primary_phone": 9,
                                              "secondary_phone": 9}))  # fmt: skip
    assert fitted.contact is not None and len(fitted.contact.name) <= 20
    assert fitted.contact.secondary_phone != fitted.contact.primary_phone


def test_an_ipk_beyond_the_column_leaves_legacy_ipk_null_but_keeps_the_record_ipk() -> None:
    r = record(ipk="3000000000")
    fitted = fit_record(r, declared_limits())
    assert fitted.profile["legacy_ipk"] is None and fitted.ipk == 3_000_000_000
    assert [w[0] for w in fitted.warnings] == ["IPK_TOO_LARGE"]
    assert fit_record(r, FitLimits(legacy_ipk_max=2**63 - 1)) is r
