"""Tenancy: every domain row belongs to one Organization; users reach it through a Membership."""

from django.conf import settings
from django.db import models


class Organization(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    currency = models.CharField(max_length=3, default="USD", help_text="ISO 4217 code; one currency per organization.")
    # Next invoice number to hand out. Allocated under SELECT ... FOR UPDATE on this row
    # (invoices.services.invoice_number_allocate), so concurrent invoice creation never repeats a number.
    next_invoice_number = models.PositiveIntegerField(default=1)
    invoice_number_prefix = models.CharField(max_length=10, default="INV-")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        # Every amount synced to a provider is in this currency: an unknown code must never reach one.
        from .currencies import currency_check

        self.currency = (self.currency or "").strip().upper()
        currency_check(self.currency)


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        STAFF = "staff", "Staff"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.STAFF)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "organization"], name="unique_membership")]

    def __str__(self):
        return f"{self.user} @ {self.organization} ({self.role})"

    @property
    def can_manage_integrations(self):
        return self.role in (self.Role.OWNER, self.Role.ADMIN)


class OrganizationOwned(models.Model):
    """Abstract base of every domain row: it belongs to exactly one organization."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")

    class Meta:
        abstract = True
