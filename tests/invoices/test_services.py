"""Customer and invoice services: validation, status changes, and change announcements after commit."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from blueclerk.changes import record_changed
from invoices.models import Customer, Invoice, InvoiceLine, Payment
from invoices.services import (
    customer_create,
    customer_update,
    invoice_create,
    invoice_mark_paid,
    invoice_mark_sent,
    invoice_update,
    invoice_void,
    payment_record,
)
from tests.factories import CustomerFactory, InvoiceFactory, ItemFactory, OrganizationFactory


@pytest.fixture
def announced():
    """Every record_changed sent during the test, as (kind, action, ids, origin)."""
    received = []

    def receiver(sender, organization_id, kind, ids, action, origin, **kwargs):
        received.append((kind, action, ids, origin))

    record_changed.connect(receiver, weak=False, dispatch_uid="tests-invoices-announced")
    yield received
    record_changed.disconnect(dispatch_uid="tests-invoices-announced")


@pytest.fixture
def customer(organization):
    return CustomerFactory(organization=organization)


@pytest.fixture
def pipe(organization):
    return ItemFactory(organization=organization, name="PEX pipe (1/2 in, 10 ft)", unit_price=Decimal("6.50"))


@pytest.fixture
def flush(organization):
    return ItemFactory(organization=organization, name="Water heater flush (40 gal)", unit_price=Decimal("129.00"))


def _draft(organization, customer, item, quantity=1, **kwargs):
    return invoice_create(organization=organization, customer=customer, lines=[{"item": item, "quantity": quantity}], **kwargs)


# Customers -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_creates_a_customer_with_a_tidy_name_and_email(organization):
    customer = customer_create(
        organization=organization,
        display_name="  Oakwood Dental ",
        email=" Office@OakwoodDental.Example.com ",
        phone="(217) 555-0142",
    )
    customer.refresh_from_db()
    assert (customer.display_name, customer.email, customer.organization_id) == (
        "Oakwood Dental",
        "office@oakwooddental.example.com",
        organization.id,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"display_name": "   "}, {"display_name": ["A customer needs a display name."]}),
        ({"display_name": "Ann Lee", "email": "not-an-email"}, {"email": ["Enter a valid email address."]}),
    ],
)
def test_it_refuses_a_customer_without_a_name_or_with_a_bad_email(organization, fields, error):
    with pytest.raises(ValidationError) as excinfo:
        customer_create(organization=organization, **fields)
    assert excinfo.value.message_dict == error
    assert not Customer.objects.exists()


@pytest.mark.django_db
def test_it_refuses_unknown_customer_fields(organization, customer):
    with pytest.raises(TypeError, match="unexpected fields: nickname"):
        customer_create(organization=organization, display_name="Ann", nickname="A")
    with pytest.raises(TypeError, match="unexpected fields: organization"):
        customer_update(customer=customer, organization=OrganizationFactory())


@pytest.mark.django_db
def test_updating_a_customer_changes_only_what_differs_and_announces_it(customer, announced, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        customer_update(customer=customer, display_name=customer.display_name)
    assert announced == []

    with django_capture_on_commit_callbacks(execute=True):
        updated = customer_update(customer=customer, billing_city="Springfield", billing_region="IL")
    assert (updated.billing_city, updated.billing_region) == ("Springfield", "IL")
    assert announced == [("customer", "updated", [customer.id], None)]


@pytest.mark.django_db
def test_a_rejected_customer_update_leaves_the_row_as_it_was(customer):
    with pytest.raises(ValidationError):
        customer_update(customer=customer, display_name="", phone="(217) 555-0100")
    customer.refresh_from_db()
    assert customer.display_name and customer.phone == ""


# Creating and editing invoices -----------------------------------------------------------------------


@pytest.mark.django_db
def test_it_creates_a_draft_with_lines_and_the_total_of_the_lines(organization, customer, pipe, flush):
    invoice = invoice_create(
        organization=organization,
        customer=customer,
        lines=[
            {"item": flush, "quantity": "1"},
            {"item": pipe.pk, "quantity": "2.5", "unit_price": "7.00", "description": "Kitchen run"},
        ],
        issue_date=datetime.date(2025, 5, 1),
    )
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.DRAFT
    assert invoice.due_date == datetime.date(2025, 5, 31)
    assert invoice.total == Decimal("146.50")
    lines = list(invoice.lines.values_list("position", "item_id", "description", "quantity", "unit_price"))
    assert lines == [
        (1, flush.id, flush.name, Decimal("1.00"), Decimal("129.00")),
        (2, pipe.id, "Kitchen run", Decimal("2.50"), Decimal("7.00")),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("line", "error"),
    [
        ({"quantity": None}, "Line 1: quantity is required."),
        ({"quantity": ""}, "Line 1: quantity is required."),
        ({}, "Line 1: quantity is required."),
        ({"quantity": "0"}, "Line 1: quantity must be more than zero."),
        ({"quantity": "-1"}, "Line 1: quantity must be more than zero."),
        ({"quantity": "a few"}, "Line 1: quantity must be a number."),
        ({"quantity": "1", "unit_price": "-3"}, "Line 1: unit price cannot be negative."),
    ],
)
def test_it_refuses_a_line_without_a_proper_quantity_and_writes_nothing(organization, customer, pipe, line, error):
    with pytest.raises(ValidationError) as excinfo:
        invoice_create(organization=organization, customer=customer, lines=[{"item": pipe, **line}])
    assert excinfo.value.message_dict == {"lines": [error]}
    assert not Invoice.objects.exists() and not InvoiceLine.objects.exists()
    organization.refresh_from_db()
    assert organization.next_invoice_number == 1


@pytest.mark.django_db
def test_it_refuses_an_invoice_without_lines(organization, customer):
    with pytest.raises(ValidationError, match="at least one line"):
        invoice_create(organization=organization, customer=customer, lines=[])


@pytest.mark.django_db
def test_it_refuses_another_organizations_customer_or_item(organization, customer, pipe):
    other = OrganizationFactory()
    with pytest.raises(ValidationError, match="Choose one of your customers"):
        _draft(organization, CustomerFactory(organization=other), pipe)
    with pytest.raises(ValidationError, match="Line 1: choose an item from your catalog"):
        _draft(organization, customer, ItemFactory(organization=other))
    with pytest.raises(ValidationError, match="Line 1: choose an item from your catalog"):
        _draft(organization, customer, ItemFactory(organization=other).pk)
    assert not Invoice.objects.exists()


@pytest.mark.django_db
def test_it_refuses_a_due_date_before_the_issue_date(organization, customer, pipe):
    with pytest.raises(ValidationError, match="due date cannot be before the issue date"):
        _draft(organization, customer, pipe, issue_date=datetime.date(2025, 5, 2), due_date=datetime.date(2025, 5, 1))


@pytest.mark.django_db
def test_editing_the_lines_recomputes_the_total(organization, customer, pipe, flush):
    invoice = _draft(organization, customer, pipe, quantity=2)
    invoice = invoice_update(
        invoice=invoice, lines=[{"item": flush, "quantity": 2}, {"item": pipe, "quantity": 1}], notes="Gate code 4512"
    )
    invoice.refresh_from_db()
    assert invoice.total == Decimal("264.50")
    assert invoice.notes == "Gate code 4512"
    assert invoice.lines.count() == 2


@pytest.mark.django_db
def test_it_refuses_lines_totalling_less_than_what_was_paid(organization, customer, flush, pipe):
    invoice = invoice_mark_sent(invoice=_draft(organization, customer, flush))
    payment_record(invoice=invoice, amount="100")
    with pytest.raises(ValidationError, match=r"less than the 100\.00 already paid"):
        invoice_update(invoice=invoice, lines=[{"item": pipe, "quantity": 1}])
    invoice.refresh_from_db()
    assert invoice.total == Decimal("129.00")
    assert list(invoice.lines.values_list("item_id", flat=True)) == [flush.id]


@pytest.mark.django_db
def test_it_refuses_every_edit_of_a_void_invoice(organization, customer, pipe, flush):
    invoice = invoice_void(invoice=_draft(organization, customer, pipe, notes="first visit"))
    for change in (
        {"notes": "changed"},
        {"lines": [{"item": flush, "quantity": 1}]},
        {"customer": CustomerFactory(organization=organization)},
    ):
        with pytest.raises(ValidationError, match=f"Invoice {invoice.number} is void and cannot be changed."):
            invoice_update(invoice=invoice, **change)
    with pytest.raises(ValidationError, match="is void"):
        invoice_mark_sent(invoice=invoice)
    with pytest.raises(ValidationError, match="is void"):
        invoice_mark_paid(invoice=invoice)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.notes, invoice.total) == (Invoice.Status.VOID, "first visit", Decimal("6.50"))
    assert not Payment.objects.exists()


# Sent, paid, void ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_marking_sent_moves_a_draft_to_sent_once(organization, customer, pipe, announced, django_capture_on_commit_callbacks):
    invoice = _draft(organization, customer, pipe)
    with django_capture_on_commit_callbacks(execute=True):
        sent = invoice_mark_sent(invoice=invoice)
    assert sent.status == Invoice.Status.SENT and sent.sent_at is not None
    with django_capture_on_commit_callbacks(execute=True):
        again = invoice_mark_sent(invoice=sent)
    assert again.sent_at == sent.sent_at
    assert announced == [("invoice", "sent", [invoice.id], None)]


@pytest.mark.django_db
def test_marking_paid_records_a_payment_for_the_remaining_balance(organization, customer, flush):
    invoice = invoice_mark_sent(invoice=_draft(organization, customer, flush, quantity=2))  # 258.00
    payment_record(invoice=invoice, amount="58.00")
    payment = invoice_mark_paid(
        invoice=invoice, date=datetime.date(2025, 6, 2), method=Payment.Method.CARD, reference="Card ending 4242"
    )
    assert (payment.amount, payment.method, payment.reference, payment.date) == (
        Decimal("200.00"),
        "card",
        "Card ending 4242",
        datetime.date(2025, 6, 2),
    )
    invoice = Invoice.objects.with_amounts().get(pk=invoice.pk)
    assert (invoice.status, invoice.amount_paid, invoice.balance) == (Invoice.Status.PAID, Decimal("258.00"), Decimal("0.00"))


@pytest.mark.django_db
def test_marking_a_draft_paid_sends_it_first(organization, customer, pipe):
    payment = invoice_mark_paid(invoice=_draft(organization, customer, pipe))
    invoice = Invoice.objects.get(pk=payment.invoice_id)
    assert invoice.status == Invoice.Status.PAID and invoice.sent_at is not None
    assert payment.amount == Decimal("6.50")


@pytest.mark.django_db
def test_marking_a_paid_invoice_paid_again_records_nothing(organization, customer, pipe):
    invoice = _draft(organization, customer, pipe)
    invoice_mark_paid(invoice=invoice)
    assert invoice_mark_paid(invoice=invoice) is None
    assert Payment.objects.filter(invoice=invoice).count() == 1


@pytest.mark.django_db
def test_voiding_refuses_an_invoice_with_payments(organization, customer, flush):
    invoice = invoice_mark_sent(invoice=_draft(organization, customer, flush))
    payment_record(invoice=invoice, amount="10")
    with pytest.raises(ValidationError, match="has payments recorded; it cannot be voided"):
        invoice_void(invoice=invoice)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.SENT and invoice.voided_at is None


@pytest.mark.django_db
def test_voiding_a_sent_invoice(organization, customer, flush):
    invoice = invoice_void(invoice=invoice_mark_sent(invoice=_draft(organization, customer, flush)))
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.VOID and invoice.voided_at is not None
    assert invoice_void(invoice=invoice).voided_at == invoice.voided_at


# Announcements ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_changes_are_announced_only_after_the_transaction_commits(
    organization, customer, pipe, announced, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        invoice = _draft(organization, customer, pipe)
        invoice_mark_sent(invoice=invoice)
        payment = payment_record(invoice=invoice, amount="6.50", origin="xero")
        assert announced == []  # still inside the transaction: nobody has heard anything
    assert len(callbacks) == 4
    assert announced == [
        ("invoice", "created", [invoice.id], None),
        ("invoice", "sent", [invoice.id], None),
        ("payment", "recorded", [payment.id], "xero"),
        ("invoice", "paid", [invoice.id], "xero"),
    ]


@pytest.mark.django_db
def test_nothing_is_announced_when_the_transaction_rolls_back(
    organization, customer, pipe, announced, django_capture_on_commit_callbacks
):
    class Abandon(Exception):
        pass

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(Abandon), transaction.atomic():
            created = customer_create(organization=organization, display_name="Rolled Back Realty")
            _draft(organization, customer, pipe)
            raise Abandon
    assert callbacks == []
    assert announced == []
    assert not Customer.objects.filter(pk=created.pk).exists()
    assert not Invoice.objects.exists()


@pytest.mark.django_db
def test_a_refused_change_announces_nothing(organization, customer, pipe, announced, django_capture_on_commit_callbacks):
    invoice = InvoiceFactory(organization=organization, customer=customer)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(ValidationError):
            payment_record(invoice=invoice, amount="1000")
        with pytest.raises(ValidationError):
            _draft(organization, customer, pipe, quantity=0)
    assert callbacks == [] and announced == []
