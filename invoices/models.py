from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Sum
from django.db.models.functions import Coalesce

from blueclerk.models import OrganizationOwned

ZERO = Decimal("0.00")


class Customer(OrganizationOwned):
    display_name = models.CharField(max_length=200)
    company = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    billing_line1 = models.CharField("address line 1", max_length=200, blank=True)
    billing_line2 = models.CharField("address line 2", max_length=200, blank=True)
    billing_city = models.CharField("city", max_length=100, blank=True)
    billing_region = models.CharField("state / region", max_length=100, blank=True)
    billing_postal_code = models.CharField("postal code", max_length=20, blank=True)
    billing_country = models.CharField("country", max_length=2, blank=True, default="US")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["display_name", "id"]
        indexes = [models.Index(fields=["organization", "display_name"]), models.Index(fields=["organization", "email"])]

    def __str__(self):
        return self.display_name

    @property
    def billing_address(self):
        parts = [self.billing_line1, self.billing_line2, self.billing_city, self.billing_region, self.billing_postal_code]
        return ", ".join(p for p in parts if p)


class InvoiceQuerySet(models.QuerySet):
    def with_amounts(self):
        """Annotate amount_paid_sum = SUM(payments.amount): the only source of what was paid.

        A correlated subquery rather than a join, so the sum stays right when the queryset also joins
        or counts lines (a join would repeat each payment once per line).
        """
        paid = Payment.objects.filter(invoice=models.OuterRef("pk")).values("invoice").annotate(s=Sum("amount")).values("s")
        return self.annotate(
            amount_paid_sum=Coalesce(
                models.Subquery(paid), ZERO, output_field=models.DecimalField(max_digits=12, decimal_places=2)
            )
        )


class Invoice(OrganizationOwned):
    class Status(models.TextChoices):
        DRAFT = "DRAFT", "Draft"
        SENT = "SENT", "Sent"
        PAID = "PAID", "Paid"
        VOID = "VOID", "Void"

    number = models.CharField(max_length=30)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invoices")
    status = models.CharField(max_length=5, choices=Status.choices, default=Status.DRAFT)
    issue_date = models.DateField()
    due_date = models.DateField()
    notes = models.TextField(blank=True)
    # Sum of the lines, recomputed by the invoice services in the same transaction as any line change.
    total = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO)
    sent_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        ordering = ["-issue_date", "-id"]
        constraints = [models.UniqueConstraint(fields=["organization", "number"], name="invoice_number_unique_per_org")]
        indexes = [models.Index(fields=["organization", "status"]), models.Index(fields=["organization", "-issue_date"])]

    def __str__(self):
        return self.number

    @property
    def amount_paid(self):
        """SUM(payments.amount), read fresh (or from with_amounts()), never a stored copy."""
        annotated = getattr(self, "amount_paid_sum", None)
        if annotated is not None:
            return annotated
        return self.payments.aggregate(s=Coalesce(Sum("amount"), ZERO))["s"]

    @property
    def balance(self):
        return self.total - self.amount_paid


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    item = models.ForeignKey("catalog.Item", on_delete=models.PROTECT, related_name="invoice_lines")
    description = models.CharField(max_length=500, blank=True)
    quantity = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))])
    unit_price = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(0)])

    class Meta:
        ordering = ["position", "id"]

    @property
    def amount(self):
        return (self.quantity * self.unit_price).quantize(Decimal("0.01"))


class Payment(OrganizationOwned):
    class Method(models.TextChoices):
        CASH = "cash", "Cash"
        CHECK = "check", "Check"
        CARD = "card", "Card"
        BANK_TRANSFER = "bank_transfer", "Bank transfer"
        OTHER = "other", "Other"

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))])
    date = models.DateField()
    method = models.CharField(max_length=20, choices=Method.choices, default=Method.OTHER)
    reference = models.CharField(max_length=100, blank=True)
    # "" for payments recorded here; the provider's name for payments imported from it (never pushed back).
    source = models.CharField(max_length=20, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["date", "id"]
        indexes = [models.Index(fields=["organization", "date"])]

    def __str__(self):
        return f"{self.amount} on {self.invoice.number}"
