"""Reads of customers, invoices and payments, always within one organization.

Amounts paid come from `Invoice.objects.with_amounts()`: SUM(payments.amount), never a stored copy.
"""

from django.db.models import Q
from django.shortcuts import get_object_or_404

from .models import Customer, Invoice


def customer_list(*, organization, query="", active=None):
    customers = Customer.objects.filter(organization=organization)
    query = (query or "").strip()
    if query:
        customers = customers.filter(
            Q(display_name__icontains=query)
            | Q(company__icontains=query)
            | Q(email__icontains=query)
            | Q(phone__icontains=query)
            | Q(billing_city__icontains=query)
        )
    if active is not None:
        customers = customers.filter(active=active)
    return customers


def customer_get(*, organization, pk):
    return get_object_or_404(Customer, organization=organization, pk=pk)


def invoice_list(*, organization, query="", status="", customer=None):
    """Invoices with `amount_paid_sum` annotated and their customer joined, newest first."""
    invoices = Invoice.objects.filter(organization=organization).select_related("customer").with_amounts()
    query = (query or "").strip()
    if query:
        invoices = invoices.filter(
            Q(number__icontains=query) | Q(customer__display_name__icontains=query) | Q(customer__company__icontains=query)
        )
    if status:
        invoices = invoices.filter(status=status)
    if customer is not None:
        invoices = invoices.filter(customer=customer)
    # Explicit: the model's default ordering is not applied to an aggregated (GROUP BY) query.
    return invoices.order_by("-issue_date", "-id")


def invoice_get(*, organization, pk):
    """The organization's invoice with its amounts, or 404."""
    invoices = Invoice.objects.filter(organization=organization).select_related("customer").with_amounts()
    return get_object_or_404(invoices, pk=pk)


def invoice_lines(*, invoice):
    return invoice.lines.select_related("item")


def invoice_payments(*, invoice):
    return invoice.payments.all()
