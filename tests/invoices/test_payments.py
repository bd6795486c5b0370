from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from invoices.models import Invoice, Payment
from invoices.services import payment_record
from tests.factories import InvoiceFactory


@pytest.mark.django_db
def test_it_refuses_an_over_balance_payment_and_writes_nothing():
    invoice = InvoiceFactory()  # total 100.00
    payment_record(invoice=invoice, amount="60.00")
    with pytest.raises(ValidationError, match="more than the balance"):
        payment_record(invoice=invoice, amount="40.01")
    assert Payment.objects.filter(invoice=invoice).count() == 1
    invoice.refresh_from_db()
    assert invoice.amount_paid == Decimal("60.00")
    assert invoice.balance == Decimal("40.00")
    assert invoice.status == Invoice.Status.SENT


@pytest.mark.django_db
def test_it_marks_the_invoice_paid_when_the_balance_is_settled():
    invoice = InvoiceFactory()
    payment_record(invoice=invoice, amount="100")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert Invoice.objects.with_amounts().get(pk=invoice.pk).amount_paid == Decimal("100.00")
