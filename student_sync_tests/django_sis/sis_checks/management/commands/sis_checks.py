"""`manage.py sis_checks report|create`: what a registrar's Django sees (test-only app).

``report`` prints JSON: row counts per model through the default manager (soft-deleted rows
hidden) and through ``all_objects``, and every object that fails ``full_clean()`` or a rule
``save()`` imposes (upper-case names, full_name built from them), with the fields at fault.
``create`` makes what a registrar would through the ORM (a Person, StudentProfile, emergency
contact and SponsoredStudent) and prints their ids.
"""

import json
from datetime import date

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand
from people.models import Person, StudentProfile
from scholarships.models import Sponsor, SponsoredStudent

MODELS = ("people.Person", "people.StudentProfile", "scholarships.Sponsor",
          "scholarships.SponsoredStudent")  # fmt: skip


def contact_model():
    name = "EmergencyContact" if settings.CONTACT_SCHEMA == "emergencycontact" else "Contact"
    return apps.get_model("people", name)


def save_rule_errors(person: Person) -> dict[str, list[str]]:
    """What Person.save() would change: the sync must write it that way already."""
    errors = {}
    if person.family_name != person.family_name.upper():
        errors["family_name"] = ["not upper case"]
    if person.personal_name != person.personal_name.upper():
        errors["personal_name"] = ["not upper case"]
    if person.full_name != f"{person.family_name} {person.personal_name}".strip():
        errors["full_name"] = ["not family + ' ' + personal"]
    return errors


class Command(BaseCommand):
    help = "Report full_clean() failures and counts as JSON, or create registrar rows."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["report", "create"])
        parser.add_argument("--student-id", type=int, default=990001)
        parser.add_argument("--sponsor", default="CRST")

    def handle(self, *args, **options):
        if options["action"] == "create":
            result = self.create(options["student_id"], options["sponsor"])
        else:
            result = self.report()
        self.stdout.write(json.dumps(result, sort_keys=True))

    def report(self):
        counts, invalid = {}, []
        models = [apps.get_model(m) for m in MODELS] + [contact_model()]
        for model in models:
            label = model._meta.label
            counts[label] = {
                "visible": model.objects.count(),
                "all": model.all_objects.count(),
            }
            for obj in model.all_objects.order_by("pk").iterator():
                errors = {}
                try:
                    obj.full_clean()
                except ValidationError as exc:
                    errors = exc.message_dict
                if isinstance(obj, Person):
                    errors.update(save_rule_errors(obj))
                if errors:
                    invalid.append({"model": label, "pk": obj.pk, "errors": errors})
        return {"counts": counts, "invalid": invalid[:50], "invalid_total": len(invalid)}

    def create(self, student_id, sponsor_code):
        person = Person(family_name="Registrar", personal_name="Made", citizenship="KH",
                        birth_province="PHNOM_PENH", preferred_gender="F")  # fmt: skip
        person.full_clean()
        person.save()
        profile = StudentProfile(person=person, student_id=student_id, current_status="ACTIVE")
        profile.full_clean()
        profile.save()
        flags = (
            {"is_primary": True}
            if settings.CONTACT_SCHEMA == "emergencycontact"
            else {"is_emergency_contact": True}
        )
        contact = contact_model()(person=person, name="Registrar Contact", relationship="MOTHER",
                                  primary_phone="012 000 000", **flags)  # fmt: skip
        contact.full_clean()
        contact.save()
        sponsorship = SponsoredStudent(sponsor=Sponsor.objects.get(code=sponsor_code),
                                       student=profile, start_date=date(2025, 1, 1))  # fmt: skip
        sponsorship.full_clean()
        sponsorship.save()
        return {
            "person": person.pk,
            "profile": profile.pk,
            "contact": contact.pk,
            "sponsorship": sponsorship.pk,
        }
