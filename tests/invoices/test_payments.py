"""Payments: the amount paid is always SUM(payments.amount); bad amounts are refused and write nothing."""

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count

from invoices.models import Invoice, Payment
from invoices.services import invoice_void, payment_record
from tests.factories import InvoiceFactory, ItemFactory, PaymentFactory


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


@pytest.mark.django_db
def test_amount_paid_and_balance_are_the_sum_of_the_payments():
    invoice = InvoiceFactory(lines=[(None, Decimal("2"), Decimal("125.00")), (None, Decimal("1.5"), Decimal("40.00"))])
    assert invoice.total == Decimal("310.00")
    payment_record(invoice=invoice, amount="100.00")
    payment_record(invoice=invoice, amount=Decimal("0.01"))
    payment_record(invoice=invoice, amount="59.99")

    fresh = Invoice.objects.get(pk=invoice.pk)
    assert fresh.amount_paid == Decimal("160.00")
    assert fresh.balance == Decimal("150.00")
    assert fresh.status == Invoice.Status.SENT


@pytest.mark.django_db
def test_the_with_amounts_annotation_agrees_with_the_property_for_every_invoice(organization):
    unpaid = InvoiceFactory(organization=organization)
    partly = InvoiceFactory(organization=organization)
    twice = InvoiceFactory(organization=organization, lines=[(None, Decimal("3"), Decimal("33.33"))])
    payment_record(invoice=partly, amount="12.34")
    payment_record(invoice=twice, amount="50")
    payment_record(invoice=twice, amount="49.99")

    annotated = {i.pk: i for i in Invoice.objects.filter(organization=organization).with_amounts()}
    for invoice in (unpaid, partly, twice):
        plain = Invoice.objects.get(pk=invoice.pk)  # no annotation: the property sums the payments itself
        assert annotated[invoice.pk].amount_paid_sum == plain.amount_paid
        assert annotated[invoice.pk].balance == plain.balance
    assert annotated[unpaid.pk].amount_paid == Decimal("0.00")
    assert annotated[partly.pk].balance == Decimal("87.66")
    assert annotated[twice.pk].balance == Decimal("0.00")


@pytest.mark.django_db
def test_the_with_amounts_annotation_stays_right_beside_a_count_of_lines():
    invoice = InvoiceFactory(
        lines=[(None, Decimal("1"), Decimal("50")), (None, Decimal("1"), Decimal("50")), (None, Decimal("2"), Decimal("25"))]
    )
    payment_record(invoice=invoice, amount="30")
    payment_record(invoice=invoice, amount="20")
    listed = Invoice.objects.with_amounts().annotate(line_count=Count("lines")).get(pk=invoice.pk)
    assert (listed.line_count, listed.amount_paid, listed.balance) == (3, Decimal("50.00"), Decimal("100.00"))


@pytest.mark.django_db
def test_the_balance_cannot_drift_from_the_payments_because_nothing_stores_it():
    invoice = InvoiceFactory()
    payment_record(invoice=invoice, amount="30")
    # A payment row written behind the services' back (an import, a fix in the shell) still counts,
    # because amount paid is read from the payments, never from a stored copy.
    PaymentFactory(invoice=invoice, amount=Decimal("45.00"))
    fresh = Invoice.objects.get(pk=invoice.pk)
    assert fresh.amount_paid == Decimal("75.00")
    assert Invoice.objects.with_amounts().get(pk=invoice.pk).balance == Decimal("25.00")
    with pytest.raises(ValidationError, match=r"more than the balance of 25\.00"):
        payment_record(invoice=invoice, amount="25.01")


@pytest.mark.django_db
@pytest.mark.parametrize("amount", ["0", "0.00", "-5", Decimal("-0.01"), "0.004"])
def test_it_refuses_zero_and_negative_payments_and_writes_nothing(amount):
    invoice = InvoiceFactory()
    with pytest.raises(ValidationError) as excinfo:
        payment_record(invoice=invoice, amount=amount)
    assert excinfo.value.message_dict == {"amount": ["A payment must be more than zero."]}
    assert not Payment.objects.exists()
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.SENT


@pytest.mark.django_db
def test_it_refuses_an_amount_that_is_not_a_number():
    invoice = InvoiceFactory()
    with pytest.raises(ValidationError) as excinfo:
        payment_record(invoice=invoice, amount="twelve dollars")
    assert excinfo.value.message_dict == {"amount": ["The amount must be a number."]}
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_it_refuses_a_payment_on_a_draft_or_void_invoice():
    draft = InvoiceFactory(status=Invoice.Status.DRAFT)
    with pytest.raises(ValidationError, match="is a draft: mark it sent"):
        payment_record(invoice=draft, amount="10")
    void = InvoiceFactory()
    invoice_void(invoice=void)
    with pytest.raises(ValidationError, match="is void and cannot be changed"):
        payment_record(invoice=void, amount="10")
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_it_refuses_an_unknown_payment_method():
    invoice = InvoiceFactory()
    with pytest.raises(ValidationError, match="Choose a payment method"):
        payment_record(invoice=invoice, amount="10", method="bitcoin")
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_a_payment_keeps_its_date_method_and_reference(organization):
    invoice = InvoiceFactory(
        organization=organization, lines=[(ItemFactory(organization=organization), Decimal("1"), Decimal("80"))]
    )
    payment = payment_record(invoice=invoice, amount="80", date="2025-03-04", method=Payment.Method.CHECK, reference="Check 1042")
    payment.refresh_from_db()
    assert (str(payment.date), payment.method, payment.reference, payment.organization_id) == (
        "2025-03-04",
        "check",
        "Check 1042",
        organization.id,
    )


@pytest.mark.postgres
def test_two_people_paying_the_same_balance_at_once_record_only_one_payment(transactional_db):
    invoice = InvoiceFactory()  # SENT, total 100.00
    start = threading.Barrier(2)
    outcomes = []

    def pay():
        try:
            start.wait(timeout=10)
            payment_record(invoice=invoice, amount="100.00")
            outcomes.append("paid")
        except ValidationError as exc:
            outcomes.append(exc.messages[0])
        except Exception as exc:  # anything else (a deadlock, a constraint) must fail the test visibly
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=pay) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert sorted(outcomes) == sorted(["paid", f"The payment of 100.00 is more than the balance of 0.00 on {invoice.number}."])
    assert Payment.objects.filter(invoice=invoice).count() == 1
    fresh = Invoice.objects.get(pk=invoice.pk)
    assert (fresh.status, fresh.amount_paid, fresh.balance) == (Invoice.Status.PAID, Decimal("100.00"), Decimal("0.00"))
