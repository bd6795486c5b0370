import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import Item
from integrations.models import ExternalLink, Notification, SyncCursor, SyncEvent, SyncRun
from integrations.providers.base import (
    CustomerData,
    InvoiceData,
    ItemData,
    LineData,
    PaymentData,
    ReconnectRequired,
    TransientError,
)
from integrations.sync import pull
from integrations.sync.pull_hash import local_payload_hash
from invoices import services as invoice_services
from invoices.models import Customer, Invoice, Payment
from tests.factories import CustomerFactory, InvoiceFactory, ItemFactory
from tests.integrations.pull.fakes import FakeAdapter

pytestmark = pytest.mark.django_db


def later(minutes=1):
    return timezone.now() + datetime.timedelta(minutes=minutes)


def customer_data(customer, **changes):
    values = {"display_name": customer.display_name, "email": customer.email} | changes
    return CustomerData(**values)


def invoice_data(invoice, **changes):
    line = invoice.lines.first()
    values = {
        "number": invoice.number,
        "customer_remote_id": f"C{invoice.customer_id}",
        "issue_date": invoice.issue_date,
        "due_date": invoice.due_date,
        "lines": [
            LineData(
                item_remote_id=f"I{line.item_id}",
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
            )
        ],
        "notes": invoice.notes,
        "status": invoice.status,
        "total": invoice.total,
    } | changes
    return InvoiceData(**values)


# Customers and items ------------------------------------------------------------------------------


def test_it_applies_a_customer_email_changed_in_the_provider(connection, adapter, link, organization):
    customer = CustomerFactory(organization=organization, email="old@example.com")
    customer_link = link(connection, "customer", customer, "C1")
    adapter.put("customer", "C1", customer_data(customer, email="New@Example.com"), updated_at=later(), version="3")

    run = pull.pull_connection(connection=connection, adapter=adapter, kinds=["customer"])

    customer.refresh_from_db()
    customer_link.refresh_from_db()
    assert customer.email == "new@example.com"
    assert run.status == SyncRun.Status.SUCCEEDED and run.direction == "pull"
    assert customer_link.remote_version == "3"
    # No echo: the push engine's hash of the now-local record is what it last "pushed".
    assert customer_link.pushed_hash == customer_link.pulled_hash == local_payload_hash(connection, "customer", customer)
    assert not SyncEvent.objects.filter(action="conflict").exists()


def test_it_creates_and_links_a_customer_made_in_the_provider(connection, adapter, organization):
    adapter.put("customer", "C9", CustomerData(display_name="Harbor Dental", email="desk@harbor.example", billing_city="Akron"))

    pull.pull_connection(connection=connection, adapter=adapter, kinds=["customer"])

    customer = Customer.objects.get(organization=organization, display_name="Harbor Dental")
    assert customer.billing_city == "Akron"
    customer_link = ExternalLink.objects.get(connection=connection, kind="customer", remote_id="C9")
    assert customer_link.local_id == customer.pk and customer_link.status == ExternalLink.Status.SYNCED


def test_it_links_a_remote_customer_to_ours_of_the_same_name_instead_of_duplicating(connection, adapter, organization):
    ours = CustomerFactory(organization=organization, display_name="Harbor Dental")
    adapter.put("customer", "C9", CustomerData(display_name="harbor dental", email="desk@harbor.example"))

    pull.pull_connection(connection=connection, adapter=adapter, kinds=["customer"])

    assert Customer.objects.filter(organization=organization).count() == 1
    assert ExternalLink.objects.get(connection=connection, kind="customer", remote_id="C9").local_id == ours.pk


def test_it_creates_an_item_made_in_the_provider(connection, adapter, organization):
    adapter.put("item", "I7", ItemData(name="Water heater flush", code="WHF", unit_price=Decimal("89.50")))

    pull.pull_connection(connection=connection, adapter=adapter, kinds=["item"])

    item_link = ExternalLink.objects.get(connection=connection, kind="item", remote_id="I7")
    item = Item.objects.get(pk=item_link.local_id)
    assert (item.name, item.code, item.unit_price) == ("Water heater flush", "WHF", Decimal("89.50"))


def test_the_provider_wins_when_its_change_is_newer_and_ours_is_kept_in_history(connection, adapter, link, organization):
    customer = CustomerFactory(organization=organization, phone="555-0100")
    customer_link = link(connection, "customer", customer, "C1")
    invoice_services.customer_update(customer=customer, phone="555-0199")  # changed here, not yet pushed
    customer.refresh_from_db()
    adapter.put(
        "customer",
        "C1",
        customer_data(customer, phone="555-0777"),
        updated_at=customer.updated_at + datetime.timedelta(minutes=5),
    )

    pull.pull_connection(connection=connection, adapter=adapter, kinds=["customer"])

    customer.refresh_from_db()
    customer_link.refresh_from_db()
    assert customer.phone == "555-0777"
    conflict = SyncEvent.objects.get(action="conflict", local_id=customer.pk)
    assert conflict.request["phone"] == "555-0199"  # the losing version, kept
    assert customer_link.pushed_hash == local_payload_hash(connection, "customer", customer)


def test_our_change_wins_when_it_is_newer_and_the_providers_is_kept_in_history(connection, adapter, link, organization):
    customer = CustomerFactory(organization=organization, phone="555-0100")
    customer_link = link(connection, "customer", customer, "C1", remote_version="1")
    invoice_services.customer_update(customer=customer, phone="555-0199")
    customer.refresh_from_db()
    adapter.put(
        "customer",
        "C1",
        customer_data(customer, phone="555-0777"),
        updated_at=customer.updated_at - datetime.timedelta(minutes=5),
        version="2",
    )

    pull.pull_connection(connection=connection, adapter=adapter, kinds=["customer"])

    customer.refresh_from_db()
    customer_link.refresh_from_db()
    assert customer.phone == "555-0199"
    conflict = SyncEvent.objects.get(action="conflict", local_id=customer.pk)
    assert conflict.response["phone"] == "555-0777"  # the provider's losing version, kept
    # The push will send ours, on top of the provider's current version.
    assert customer_link.remote_version == "2"
    assert customer_link.pushed_hash != local_payload_hash(connection, "customer", customer)


def test_a_version_already_applied_is_not_applied_again(connection, adapter, link, organization):
    customer = CustomerFactory(organization=organization)
    link(connection, "customer", customer, "C1")
    adapter.put("customer", "C1", customer_data(customer, phone="555-0777"), updated_at=later(), version="3")
    pull.pull_connection(connection=connection, adapter=adapter, kinds=["customer"])
    invoice_services.customer_update(customer=customer, phone="555-0100")  # a later local edit

    run = pull.pull_connection(connection=connection, adapter=adapter, kinds=["customer"])  # overlap: same version again

    customer.refresh_from_db()
    assert customer.phone == "555-0100"
    assert run.scope["outcomes"] == {"unchanged": 1}


def test_a_customer_deleted_in_the_provider_is_marked_and_notified_and_kept(connection, adapter, link, organization):
    customer = CustomerFactory(organization=organization, display_name="Harbor Dental")
    customer_link = link(connection, "customer", customer, "C1")
    adapter.put("customer", "C1", None, deleted=True)

    pull.pull_connection(connection=connection, adapter=adapter, kinds=["customer"])
    pull.pull_connection(connection=connection, adapter=adapter, kinds=["customer"])

    customer_link.refresh_from_db()
    assert customer_link.status == ExternalLink.Status.DELETED_REMOTE
    assert Customer.objects.filter(pk=customer.pk).exists()
    notification = Notification.objects.get(organization=organization)
    assert notification.title == "Customer Harbor Dental was deleted in QuickBooks"


# Invoices and payments ----------------------------------------------------------------------------


def test_a_payment_recorded_in_the_provider_marks_our_invoice_paid(connection, adapter, link, organization, link_invoice):
    invoice = InvoiceFactory(organization=organization)  # SENT, total 100.00
    invoice_link = link_invoice(connection, invoice, "INV1")
    adapter.put(
        "payment", "P1", PaymentData("INV1", "C1", Decimal("100.00"), datetime.date(2026, 3, 2), method="check", reference="1042")
    )

    pull.pull_connection(connection=connection, adapter=adapter, kinds=["payment"])

    invoice.refresh_from_db()
    payment = Payment.objects.get(invoice=invoice)
    assert invoice.status == Invoice.Status.PAID
    assert invoice.amount_paid == Decimal("100.00")
    assert (payment.source, payment.method, payment.reference) == ("quickbooks", "check", "1042")
    payment_link = ExternalLink.objects.get(connection=connection, kind="payment", remote_id="P1")
    assert payment_link.local_id == payment.pk
    assert payment_link.pushed_hash == local_payload_hash(connection, "payment", payment)
    invoice_link.refresh_from_db()
    assert invoice_link.pushed_hash == local_payload_hash(connection, "invoice", invoice)  # PAID is not echoed


def test_a_payment_pulled_twice_is_recorded_once(connection, adapter, link, organization, link_invoice):
    invoice = InvoiceFactory(organization=organization)
    link_invoice(connection, invoice, "INV1")
    adapter.put("payment", "P1", PaymentData("INV1", "C1", Decimal("40.00"), datetime.date(2026, 3, 2)))

    pull.pull_connection(connection=connection, adapter=adapter, kinds=["payment"])
    pull.pull_connection(connection=connection, adapter=adapter, kinds=["payment"])

    invoice.refresh_from_db()
    assert invoice.payments.count() == 1
    assert invoice.amount_paid == Decimal("40.00") and invoice.status == Invoice.Status.SENT


def test_a_payment_against_an_invoice_we_do_not_know_is_ignored(connection, adapter, organization):
    adapter.put("payment", "P1", PaymentData("INV-UNKNOWN", "C1", Decimal("40.00"), datetime.date(2026, 3, 2)))

    run = pull.pull_connection(connection=connection, adapter=adapter, kinds=["payment"])

    assert not Payment.objects.exists()
    assert run.scope["outcomes"] == {"skipped": 1}


def test_a_payment_over_the_balance_is_refused_with_a_clear_reason(connection, adapter, link, organization, link_invoice):
    invoice = InvoiceFactory(organization=organization)
    link_invoice(connection, invoice, "INV1")
    adapter.put("payment", "P1", PaymentData("INV1", "C1", Decimal("150.00"), datetime.date(2026, 3, 2)))

    run = pull.pull_connection(connection=connection, adapter=adapter, kinds=["payment"])

    assert not Payment.objects.exists()
    assert run.failed == 1
    event = SyncEvent.objects.get(remote_id="P1")
    assert event.error == f"The payment of 150.00 is more than the balance of 100.00 on {invoice.number}."


def test_invoices_made_in_the_provider_are_not_imported(connection, adapter, organization):
    adapter.put("invoice", "INV9", InvoiceData("1009", "C1", datetime.date(2026, 3, 1), datetime.date(2026, 3, 31), []))

    run = pull.pull_connection(connection=connection, adapter=adapter, kinds=["invoice"])

    assert not Invoice.objects.exists()
    assert not ExternalLink.objects.filter(kind="invoice").exists()
    assert run.scope["outcomes"] == {"skipped": 1}


def test_an_invoice_voided_in_the_provider_is_marked_and_notified_but_not_changed(
    connection, adapter, link, organization, link_invoice
):
    invoice = InvoiceFactory(organization=organization)
    invoice_link = link_invoice(connection, invoice, "INV1")
    adapter.put("invoice", "INV1", invoice_data(invoice, status="VOID"), updated_at=later())

    pull.pull_connection(connection=connection, adapter=adapter, kinds=["invoice"])

    invoice.refresh_from_db()
    invoice_link.refresh_from_db()
    assert invoice.status == Invoice.Status.SENT
    assert invoice_link.status == ExternalLink.Status.DELETED_REMOTE
    assert Notification.objects.get().title == f"Invoice {invoice.number} was voided in QuickBooks"


def test_content_edited_in_the_provider_is_not_applied_to_a_sent_invoice(connection, adapter, link, organization, link_invoice):
    invoice = InvoiceFactory(organization=organization, notes="Thanks!")
    invoice_link = link_invoice(connection, invoice, "INV1")
    adapter.put("invoice", "INV1", invoice_data(invoice, notes="Edited by the bookkeeper"), updated_at=later(), version="4")

    pull.pull_connection(connection=connection, adapter=adapter, kinds=["invoice"])

    invoice.refresh_from_db()
    invoice_link.refresh_from_db()
    assert invoice.notes == "Thanks!"
    assert invoice_link.remote_version == "4"  # our next push is not stale
    assert "BlueClerk owns the content" in SyncEvent.objects.get(remote_id="INV1").error


def test_a_status_change_in_the_provider_is_not_reported_as_a_content_edit(connection, adapter, organization, link_invoice):
    invoice = InvoiceFactory(organization=organization, notes="Thanks!")
    link_invoice(connection, invoice, "INV1")
    adapter.put("invoice", "INV1", invoice_data(invoice, status="PAID"), updated_at=later(), version="5")

    run = pull.pull_connection(connection=connection, adapter=adapter, kinds=["invoice"])

    assert run.scope["outcomes"] == {"unchanged": 1}
    assert not SyncEvent.objects.exists()


def test_a_draft_sent_in_the_provider_becomes_sent_here_without_an_echo(connection, adapter, organization, link_invoice):
    invoice = InvoiceFactory(organization=organization, status=Invoice.Status.DRAFT)
    invoice_link = link_invoice(connection, invoice, "INV1")
    adapter.put("invoice", "INV1", invoice_data(invoice, status="SENT"), updated_at=later())

    pull.pull_connection(connection=connection, adapter=adapter, kinds=["invoice"])

    invoice.refresh_from_db()
    invoice_link.refresh_from_db()
    assert invoice.status == Invoice.Status.SENT
    assert invoice_link.pushed_hash == local_payload_hash(connection, "invoice", invoice)


# Cursors and runs ---------------------------------------------------------------------------------


def test_the_cursor_moves_after_a_complete_pull_and_the_next_pull_starts_there(connection, adapter):
    pull.pull_connection(connection=connection, adapter=adapter, kinds=["customer"])
    cursor = pull.cursor_get(connection=connection, kind="customer")
    assert cursor is not None and SyncCursor.objects.filter(connection=connection, kind="customer").count() == 1

    pull.pull_connection(connection=connection, adapter=adapter, kinds=["customer"])

    assert adapter.calls[-1] == ("changed", "customer", cursor - pull.DEFAULT_OVERLAP)


def test_freshbooks_reads_a_day_early(connect):
    connection = connect(provider="freshbooks", company_id="acct-1")
    adapter = FakeAdapter("freshbooks")
    pull.pull_connection(connection=connection, adapter=adapter, kinds=["customer"])

    assert adapter.calls[0] == ("changed", "customer", connection.connected_at - datetime.timedelta(days=1))


def test_a_failed_read_keeps_the_cursor_and_other_kinds_go_on(connection, adapter, organization):
    adapter.failing["customer"] = TransientError("QuickBooks is unavailable")
    adapter.put("item", "I7", ItemData(name="Flush"))

    run = pull.pull_connection(connection=connection, adapter=adapter, kinds=["customer", "item"])

    assert pull.cursor_get(connection=connection, kind="customer") is None
    assert pull.cursor_get(connection=connection, kind="item") is not None
    assert run.status == SyncRun.Status.PARTIAL
    assert run.error == "Reading customers from QuickBooks failed: QuickBooks is unavailable"


def test_reconnect_required_stops_the_pull_with_the_friendly_message(connection, adapter):
    adapter.failing["customer"] = ReconnectRequired("QuickBooks", provider="quickbooks")

    run = pull.pull_connection(connection=connection, adapter=adapter)

    assert run.status == SyncRun.Status.RECONNECT_REQUIRED
    assert run.error == "Your QuickBooks connection has expired. Go to Settings → Integrations → Reconnect QuickBooks."
    assert [c[1] for c in adapter.calls] == ["customer"]


def test_a_pull_out_of_time_leaves_the_rest_for_the_next_task(connection, adapter):
    run = pull.pull_connection(connection=connection, adapter=adapter, budget_seconds=0)

    assert run.scope["unfinished"] == ["customer", "item", "invoice", "payment"]
    assert not SyncCursor.objects.exists()


def test_wave_pulls_no_items(connect):
    connection = connect(provider="wave", company_id="biz-1")
    adapter = FakeAdapter("wave")
    pull.pull_connection(connection=connection, adapter=adapter)

    assert [c[1] for c in adapter.calls] == ["customer", "invoice", "payment"]


def test_a_targeted_pull_reads_the_named_records(connection, adapter, link, organization):
    customer = CustomerFactory(organization=organization)
    link(connection, "customer", customer, "C1")
    adapter.put("customer", "C1", customer_data(customer, email="new@example.com"), updated_at=later())

    run = pull.pull_changes(
        connection=connection, adapter=adapter, changes=[{"kind": "customer", "remote_id": "C1", "operation": "update"}] * 2
    )

    customer.refresh_from_db()
    assert customer.email == "new@example.com"
    assert adapter.calls == [("fetch", "customer", "C1")]
    assert run.trigger == SyncRun.Trigger.WEBHOOK


def test_a_targeted_pull_of_a_record_gone_from_the_provider_marks_it(connection, adapter, link, organization):
    item = ItemFactory(organization=organization)
    item_link = link(connection, "item", item, "I1")

    pull.pull_changes(
        connection=connection, adapter=adapter, changes=[{"kind": "item", "remote_id": "I1", "operation": "update"}]
    )

    item_link.refresh_from_db()
    assert item_link.status == ExternalLink.Status.DELETED_REMOTE
