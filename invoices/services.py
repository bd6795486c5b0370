"""Writes to customers, invoices and payments. Each is atomic and announces its change after commit.

Concurrency: invoice numbers come from a counter on the Organization row taken with SELECT ... FOR
UPDATE, so concurrent creations queue on that row and never repeat a number. Payments lock their
invoice row before reading the balance, so two payments racing cannot together exceed it.
"""

import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from blueclerk.changes import announce_change
from blueclerk.models import Organization
from catalog.models import Item

from .models import ZERO, Customer, Invoice, InvoiceLine, Payment

CUSTOMER_FIELDS = (
    "display_name",
    "company",
    "email",
    "phone",
    "billing_line1",
    "billing_line2",
    "billing_city",
    "billing_region",
    "billing_postal_code",
    "billing_country",
    "active",
)
CENT = Decimal("0.01")


def _announce(obj, kind, action, origin=None):
    announce_change(organization_id=obj.organization_id, kind=kind, ids=[obj.id], action=action, origin=origin)


# Customers -------------------------------------------------------------------------------------------


def _clean_customer(customer):
    customer.display_name = (customer.display_name or "").strip()
    customer.email = (customer.email or "").strip().lower()
    if not customer.display_name:
        raise ValidationError({"display_name": "A customer needs a display name."})
    customer.full_clean(exclude=["organization"])


@transaction.atomic
def customer_create(*, organization, display_name, origin=None, **fields):
    unknown = set(fields) - set(CUSTOMER_FIELDS)
    if unknown:
        raise TypeError(f"customer_create() got unexpected fields: {', '.join(sorted(unknown))}")
    customer = Customer(organization=organization, display_name=display_name, **fields)
    _clean_customer(customer)
    customer.save()
    _announce(customer, "customer", "created", origin)
    return customer


@transaction.atomic
def customer_update(*, customer, origin=None, **changes):
    unknown = set(changes) - set(CUSTOMER_FIELDS)
    if unknown:
        raise TypeError(f"customer_update() got unexpected fields: {', '.join(sorted(unknown))}")
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    changed = [f for f, v in changes.items() if getattr(customer, f) != v]
    if not changed:
        return customer
    for field in changed:
        setattr(customer, field, changes[field])
    _clean_customer(customer)
    customer.save()
    _announce(customer, "customer", "updated", origin)
    return customer


# Invoices --------------------------------------------------------------------------------------------


def invoice_number_allocate(*, organization):
    """The next invoice number of the organization. Must run inside the creating transaction."""
    org = Organization.objects.select_for_update().get(pk=organization.pk)
    while True:
        number = f"{org.invoice_number_prefix}{org.next_invoice_number:04d}"
        org.next_invoice_number += 1
        # Numbers typed by hand or imported may already be taken: skip them.
        if not Invoice.objects.filter(organization=org, number=number).exists():
            break
    Organization.objects.filter(pk=org.pk).update(next_invoice_number=org.next_invoice_number)
    return number


def _decimal(value, field, position):
    if value in (None, ""):
        raise ValidationError({"lines": f"Line {position}: {field} is required."})
    try:
        return Decimal(str(value)).quantize(CENT)
    except (InvalidOperation, ValueError):
        raise ValidationError({"lines": f"Line {position}: {field} must be a number."}) from None


def _clean_lines(organization, lines):
    """Validate line dicts {item, quantity, unit_price?, description?} into unsaved InvoiceLines."""
    if not lines:
        raise ValidationError({"lines": "An invoice needs at least one line."})
    cleaned = []
    for position, line in enumerate(lines, start=1):
        item = line.get("item")
        if isinstance(item, int | str) and str(item).isdigit():
            item = Item.objects.filter(organization=organization, pk=int(item)).first()
        if not isinstance(item, Item) or item.organization_id != organization.id:
            raise ValidationError({"lines": f"Line {position}: choose an item from your catalog."})
        quantity = _decimal(line.get("quantity"), "quantity", position)
        if quantity <= 0:
            raise ValidationError({"lines": f"Line {position}: quantity must be more than zero."})
        unit_price = line.get("unit_price")
        unit_price = item.unit_price if unit_price in (None, "") else _decimal(unit_price, "unit price", position)
        if unit_price < 0:
            raise ValidationError({"lines": f"Line {position}: unit price cannot be negative."})
        description = (line.get("description") or item.description or item.name)[:500]
        cleaned.append(
            InvoiceLine(position=position, item=item, description=description, quantity=quantity, unit_price=unit_price)
        )
    return cleaned


def _check_dates(issue_date, due_date):
    if due_date < issue_date:
        raise ValidationError({"due_date": "The due date cannot be before the issue date."})


@transaction.atomic
def invoice_create(*, organization, customer, lines, issue_date=None, due_date=None, notes="", number=None):
    if customer.organization_id != organization.id:
        raise ValidationError({"customer": "Choose one of your customers."})
    issue_date = issue_date or timezone.localdate()
    due_date = due_date or issue_date + datetime.timedelta(days=30)
    _check_dates(issue_date, due_date)
    cleaned = _clean_lines(organization, lines)
    if number:
        number = number.strip()
        if Invoice.objects.filter(organization=organization, number=number).exists():
            raise ValidationError({"number": f"Invoice number {number} is already used."})
    else:
        number = invoice_number_allocate(organization=organization)
    invoice = Invoice.objects.create(
        organization=organization, number=number, customer=customer, issue_date=issue_date, due_date=due_date, notes=notes
    )
    for line in cleaned:
        line.invoice = invoice
    InvoiceLine.objects.bulk_create(cleaned)
    invoice.total = sum((line.amount for line in cleaned), ZERO)
    invoice.save(update_fields=["total"])
    _announce(invoice, "invoice", "created")
    return invoice


def _lock_invoice(invoice):
    return Invoice.objects.select_for_update().get(pk=invoice.pk)


def _refuse_void(invoice):
    if invoice.status == Invoice.Status.VOID:
        raise ValidationError(f"Invoice {invoice.number} is void and cannot be changed.")


@transaction.atomic
def invoice_update(*, invoice, customer=None, lines=None, issue_date=None, due_date=None, notes=None):
    invoice = _lock_invoice(invoice)
    _refuse_void(invoice)
    if customer is not None:
        if customer.organization_id != invoice.organization_id:
            raise ValidationError({"customer": "Choose one of your customers."})
        invoice.customer = customer
    if issue_date is not None:
        invoice.issue_date = issue_date
    if due_date is not None:
        invoice.due_date = due_date
    _check_dates(invoice.issue_date, invoice.due_date)
    if notes is not None:
        invoice.notes = notes
    if lines is not None:
        cleaned = _clean_lines(invoice.organization, lines)
        new_total = sum((line.amount for line in cleaned), ZERO)
        paid = invoice.amount_paid
        if new_total < paid:
            raise ValidationError({"lines": f"The new total {new_total} is less than the {paid} already paid."})
        invoice.lines.all().delete()
        for line in cleaned:
            line.invoice = invoice
        InvoiceLine.objects.bulk_create(cleaned)
        invoice.total = new_total
        if invoice.status == Invoice.Status.PAID and new_total > paid:
            invoice.status = Invoice.Status.SENT
        elif invoice.status == Invoice.Status.SENT and new_total == paid and paid > 0:
            invoice.status = Invoice.Status.PAID
    invoice.save()
    _announce(invoice, "invoice", "updated")
    return invoice


@transaction.atomic
def invoice_mark_sent(*, invoice):
    invoice = _lock_invoice(invoice)
    _refuse_void(invoice)
    if invoice.status != Invoice.Status.DRAFT:
        return invoice
    invoice.status = Invoice.Status.SENT
    invoice.sent_at = timezone.now()
    invoice.save(update_fields=["status", "sent_at", "updated_at"])
    _announce(invoice, "invoice", "sent")
    return invoice


@transaction.atomic
def invoice_void(*, invoice):
    invoice = _lock_invoice(invoice)
    if invoice.status == Invoice.Status.VOID:
        return invoice
    if invoice.payments.exists():
        raise ValidationError(f"Invoice {invoice.number} has payments recorded; it cannot be voided.")
    invoice.status = Invoice.Status.VOID
    invoice.voided_at = timezone.now()
    invoice.save(update_fields=["status", "voided_at", "updated_at"])
    _announce(invoice, "invoice", "voided")
    return invoice


@transaction.atomic
def payment_record(*, invoice, amount, date=None, method=Payment.Method.OTHER, reference="", source="", origin=None):
    """Record a payment. Refuses zero, negative and over-balance amounts; marks the invoice PAID when settled."""
    invoice = _lock_invoice(invoice)
    _refuse_void(invoice)
    if invoice.status == Invoice.Status.DRAFT:
        raise ValidationError(f"Invoice {invoice.number} is a draft: mark it sent before recording a payment.")
    try:
        amount = Decimal(str(amount)).quantize(CENT)
    except (InvalidOperation, ValueError):
        raise ValidationError({"amount": "The amount must be a number."}) from None
    if amount <= 0:
        raise ValidationError({"amount": "A payment must be more than zero."})
    balance = invoice.balance
    if amount > balance:
        raise ValidationError({"amount": f"The payment of {amount} is more than the balance of {balance} on {invoice.number}."})
    if method not in Payment.Method.values:
        raise ValidationError({"method": "Choose a payment method."})
    payment = Payment.objects.create(
        organization_id=invoice.organization_id,
        invoice=invoice,
        amount=amount,
        date=date or timezone.localdate(),
        method=method,
        reference=(reference or "")[:100],
        source=source,
    )
    _announce(payment, "payment", "recorded", origin)
    if amount == balance:
        invoice.status = Invoice.Status.PAID
        invoice.save(update_fields=["status", "updated_at"])
        _announce(invoice, "invoice", "paid", origin)
    return payment


@transaction.atomic
def invoice_mark_paid(*, invoice, date=None, method=Payment.Method.OTHER, reference=""):
    """Record a payment for the remaining balance (nothing when already settled)."""
    invoice = _lock_invoice(invoice)
    _refuse_void(invoice)
    if invoice.status == Invoice.Status.DRAFT:
        invoice_mark_sent(invoice=invoice)
        invoice.refresh_from_db()
    balance = invoice.balance
    if balance <= 0:
        if invoice.status != Invoice.Status.PAID:
            invoice.status = Invoice.Status.PAID
            invoice.save(update_fields=["status", "updated_at"])
            _announce(invoice, "invoice", "paid")
        return None
    return payment_record(invoice=invoice, amount=balance, date=date, method=method, reference=reference)
