"""The school's `people` app as domain.md reconstructs it: Python-side defaults only.

Django's ``default=`` never reaches the database, so every NOT NULL column here has no
DEFAULT in PostgreSQL: a writer that leaves one out fails, exactly as at the school.
"""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

PROVINCES = [
    "BANTEAY_MEANCHEY", "BATTAMBANG", "KAMPONG_CHAM", "KAMPONG_CHHNANG", "KAMPONG_SPEU",
    "KAMPONG_THOM", "KAMPOT", "KANDAL", "KEP", "KOH_KONG", "KRATIE", "MONDULKIRI",
    "ODDAR_MEANCHEY", "PAILIN", "PHNOM_PENH", "PREAH_SIHANOUK", "PREAH_VIHEAR", "PREY_VENG",
    "PURSAT", "RATANAKIRI", "SIEM_REAP", "STUNG_TRENG", "SVAY_RIENG", "TAKEO", "TBOUNG_KHMUM",
    "INTERNATIONAL", "UNKNOWN",
]  # fmt: skip
GENDERS = [("M", "Male"), ("F", "Female"), ("N", "Non-binary/other"), ("X", "Not stated")]
STATUSES = ["ACTIVE", "INACTIVE", "GRADUATED", "DROPPED", "SUSPENDED", "TRANSFERRED",
            "FROZEN", "UNKNOWN"]  # fmt: skip
RELATIONSHIPS = ["FATHER", "MOTHER", "SPOUSE", "PARTNER", "SIBLING", "GRANDPARENT", "GUARDIAN",
                 "FRIEND", "OTHER"]  # fmt: skip
KHMER_NAME_SOURCES = ["user", "approximated", "legacy", "verified", "import"]


def _choices(values):
    return [(v, v.replace("_", " ").title()) for v in values]


def new_unique_id() -> uuid.UUID:
    """uuid7 where the interpreter has it (3.14+), else uuid4, as the school's app does."""
    return getattr(uuid, "uuid7", uuid.uuid4)()


class ActiveManager(models.Manager):
    """The default manager hides soft-deleted rows."""

    def get_queryset(self):
        return super().get_queryset().filter(is_deleted=False)


class AuditModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    is_deleted = models.BooleanField(default=False)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = ActiveManager()
    all_objects = models.Manager()

    class Meta:
        abstract = True
        base_manager_name = "all_objects"


class Person(AuditModel):
    unique_id = models.UUIDField(default=new_unique_id, unique=True, editable=False)
    family_name = models.CharField(max_length=255)
    personal_name = models.CharField(max_length=255)
    full_name = models.CharField(max_length=255, blank=True)
    khmer_name = models.CharField(max_length=255, blank=True)
    khmer_name_source = models.CharField(
        max_length=20, choices=[(s, s) for s in KHMER_NAME_SOURCES], default="legacy"
    )
    khmer_name_confidence = models.DecimalField(max_digits=3, decimal_places=2, default=0)
    khmer_name_approximated_at = models.DateTimeField(null=True, blank=True)
    khmer_name_verified_at = models.DateTimeField(null=True, blank=True)
    khmer_name_components = models.JSONField(null=True, blank=True)
    preferred_gender = models.CharField(max_length=1, choices=GENDERS, default="X")
    use_legal_name_for_documents = models.BooleanField(default=False)
    alternate_family_name = models.CharField(max_length=255, blank=True, default="")
    alternate_personal_name = models.CharField(max_length=255, blank=True, default="")
    alternate_khmer_name = models.CharField(max_length=255, blank=True, default="")
    alternate_gender = models.CharField(max_length=1, choices=GENDERS, default="X")
    photo = models.FileField(upload_to="photos/", null=True, blank=True)  # ImageField: same column
    school_email = models.EmailField(unique=True, null=True, blank=True)
    personal_email = models.EmailField(null=True, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    birth_province = models.CharField(
        max_length=50, choices=_choices(PROVINCES), null=True, blank=True
    )
    citizenship = models.CharField(max_length=2, default="KH")  # django-countries CountryField

    def clean(self):
        if self.citizenship != "KH" and self.birth_province != "INTERNATIONAL":
            raise ValidationError(
                {"birth_province": "Non-Cambodian citizens must have INTERNATIONAL province."}
            )

    def save(self, *args, **kwargs):
        self.family_name = (self.family_name or "").upper()
        self.personal_name = (self.personal_name or "").upper()
        self.full_name = f"{self.family_name} {self.personal_name}".strip()
        super().save(*args, **kwargs)


class StudentProfile(AuditModel):
    person = models.OneToOneField(Person, on_delete=models.PROTECT, related_name="student_profile")
    student_id = models.PositiveIntegerField(unique=True)
    legacy_ipk = models.PositiveIntegerField(null=True, blank=True, db_index=True)
    is_monk = models.BooleanField(default=False)
    is_transfer_student = models.BooleanField(default=False)
    current_status = models.CharField(max_length=11, choices=_choices(STATUSES), default="UNKNOWN")
    study_time_preference = models.CharField(
        max_length=20,
        choices=[("morning", "Morning"), ("afternoon", "Afternoon"), ("evening", "Evening")],
        default="evening",
    )
    last_enrollment_date = models.DateField(null=True, blank=True)


class _ContactFields(AuditModel):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    relationship = models.CharField(max_length=40, choices=_choices(RELATIONSHIPS), default="OTHER")
    primary_phone = models.CharField(max_length=100, blank=True)
    secondary_phone = models.CharField(max_length=100, blank=True)
    email = models.EmailField(blank=True)
    address = models.TextField(blank=True)

    class Meta(AuditModel.Meta):
        abstract = True

    def clean(self):
        if self.secondary_phone and self.secondary_phone == self.primary_phone:
            raise ValidationError({"secondary_phone": "Secondary phone repeats the primary."})


if settings.CONTACT_SCHEMA == "emergencycontact":

    class EmergencyContact(_ContactFields):
        """The app's older contact model (migrations 0001-0002)."""

        is_primary = models.BooleanField(default=False)

        class Meta(_ContactFields.Meta):
            constraints = [
                models.UniqueConstraint(
                    fields=["person"],
                    condition=Q(is_primary=True),
                    name="unique_primary_emergency_contact",
                )
            ]

else:

    class Contact(_ContactFields):
        """The app's head contact model (migration 0003 replaced EmergencyContact)."""

        is_emergency_contact = models.BooleanField(default=False)
        is_general_contact = models.BooleanField(default=False)

        class Meta(_ContactFields.Meta):
            constraints = [
                models.CheckConstraint(
                    condition=Q(is_emergency_contact=True) | Q(is_general_contact=True),
                    name="contact_has_a_purpose",
                )
            ]
