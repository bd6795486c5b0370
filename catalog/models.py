from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Lower

from blueclerk.models import OrganizationOwned


class Item(OrganizationOwned):
    """A service or product the business sells (what appears on invoice lines)."""

    class Kind(models.TextChoices):
        SERVICE = "service", "Service"
        PRODUCT = "product", "Product"

    name = models.CharField(max_length=200)
    code = models.CharField("code / SKU", max_length=60, blank=True)
    description = models.TextField(blank=True)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"), validators=[MinValueValidator(0)])
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SERVICE)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                "organization",
                Lower("name"),
                name="item_name_unique_per_org",
                violation_error_message="An item with this name already exists.",
            ),
            models.UniqueConstraint(
                fields=["organization", "code"],
                condition=~models.Q(code=""),
                name="item_code_unique_per_org",
                violation_error_message="An item with this code already exists.",
            ),
        ]
        indexes = [models.Index(fields=["organization", "name"])]

    def __str__(self):
        return self.name
