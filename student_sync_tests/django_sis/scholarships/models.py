"""The school's `scholarships` app as domain.md reconstructs it: Python-side defaults only."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from people.models import AuditModel, StudentProfile


class UserAuditModel(AuditModel):
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta(AuditModel.Meta):
        abstract = True


class Sponsor(UserAuditModel):
    code = models.CharField(max_length=10, unique=True)
    name = models.CharField(max_length=100)
    contact_name = models.CharField(max_length=100, blank=True, default="")
    contact_email = models.EmailField(blank=True, default="")
    billing_email = models.EmailField(blank=True, default="")
    contact_phone = models.CharField(max_length=20, blank=True, default="")
    mou_start_date = models.DateField()
    mou_end_date = models.DateField(null=True, blank=True)
    default_discount_percentage = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    requests_tax_addition = models.BooleanField(default=False)
    requests_consolidated_invoicing = models.BooleanField(default=False)
    requests_attendance_reporting = models.BooleanField(default=False)
    requests_grade_reporting = models.BooleanField(default=False)
    requests_scheduling_reporting = models.BooleanField(default=False)
    admin_fee_exempt_until = models.DateField(null=True, blank=True)
    payment_mode = models.CharField(
        max_length=20,
        choices=[("DIRECT", "Direct"), ("BULK_INVOICE", "Bulk invoice")],
        default="DIRECT",
    )
    billing_cycle = models.CharField(
        max_length=20,
        choices=[(c, c.title()) for c in ("MONTHLY", "TERM", "QUARTERLY", "YEARLY")],
        default="TERM",
    )
    invoice_generation_day = models.IntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(28)]
    )
    payment_terms_days = models.IntegerField(
        default=30, validators=[MinValueValidator(0), MaxValueValidator(90)]
    )
    is_active = models.BooleanField(default=True)
    notes = models.TextField(blank=True, default="")

    def clean(self):
        if self.mou_end_date and self.mou_end_date <= self.mou_start_date:
            raise ValidationError({"mou_end_date": "MOU end must be after its start."})


class SponsoredStudent(UserAuditModel):
    sponsor = models.ForeignKey(Sponsor, on_delete=models.PROTECT, related_name="students")
    student = models.ForeignKey(StudentProfile, on_delete=models.PROTECT, related_name="+")
    sponsorship_type = models.CharField(
        max_length=20,
        choices=[(t, t.title()) for t in ("FULL", "PARTIAL", "EMERGENCY", "SCHOLARSHIP")],
        default="FULL",
    )
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True, default="")

    class Meta(UserAuditModel.Meta):
        unique_together = [("sponsor", "student", "start_date")]

    def clean(self):
        if self.end_date and self.end_date <= self.start_date:
            raise ValidationError({"end_date": "End date must be after the start date."})
        if self.sponsor_id is None or self.student_id is None:
            return
        others = SponsoredStudent.all_objects.filter(
            sponsor_id=self.sponsor_id, student_id=self.student_id
        ).exclude(pk=self.pk)
        for other in others:
            other_end = other.end_date
            ends_before = self.end_date is not None and self.end_date <= other.start_date
            starts_after = other_end is not None and self.start_date >= other_end
            if not (ends_before or starts_after):
                raise ValidationError("Sponsorship periods of one sponsor and student overlap.")
