"""The push engine against the in-memory fake provider: batches, order, failures, idempotency."""

import datetime
from decimal import Decimal

import pytest

from integrations.models import ExternalLink, IncomeAccount, ItemAccountMapping, Notification, SyncEvent, SyncRun
from invoices import services as invoice_services
from tests.factories import CustomerFactory, InvoiceFactory, ItemFactory, MembershipFactory, PaymentFactory

S = ExternalLink.Status
pytestmark = pytest.mark.django_db


def links(connection, kind):
    return ExternalLink.objects.filter(connection=connection, kind=kind)


def test_it_pushes_many_items_in_batches_no_larger_than_the_limit(connection, book, sync):
    ItemFactory.create_batch(95, organization=connection.organization)
    run = sync(connection)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert book.count("item") == 95
    assert max(book.batch_lengths) == 30
    assert sorted(book.batch_lengths) == [5, 30, 30, 30]
    assert run.succeeded == run.done == run.total == 95
    assert run.batches == 4
    assert links(connection, "item").filter(status=S.SYNCED).count() == 95
    assert all(r.data.income_account_id == "79" for r in book.of("item"))


def test_a_second_sync_sends_nothing_when_nothing_changed(connection, book, sync):
    ItemFactory.create_batch(3, organization=connection.organization)
    sync(connection)
    before = len(book.requests)
    run = sync(connection)
    assert len(book.requests) == before
    assert run.done == 0 and run.status == SyncRun.Status.SUCCEEDED


def test_it_sends_a_changed_item_again_as_an_update(connection, book, sync):
    item = ItemFactory(organization=connection.organization)
    sync(connection)
    item.unit_price = Decimal("99.00")
    item.save()
    sync(connection)
    assert book.count("item") == 1
    (record,) = book.of("item")
    assert record.data.unit_price == Decimal("99.00")
    assert record.version == "1"


def test_it_pushes_customers_and_items_before_the_invoice_and_the_invoice_before_its_payment(connection, book, sync):
    invoice = InvoiceFactory(organization=connection.organization, lines=[(None, Decimal("2"), Decimal("50.00"))])
    PaymentFactory(invoice=invoice, amount=Decimal("40.00"))
    run = sync(connection)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    kinds = [kind for kind, _ in book.creates]
    assert kinds == ["customer", "item", "invoice", "payment"]
    (inv,) = book.of("invoice")
    customer_link = links(connection, "customer").get()
    assert inv.data.customer_remote_id == customer_link.remote_id
    (payment,) = book.of("payment")
    assert payment.invoice_remote_id == inv.remote_id
    assert payment.data.amount == Decimal("40.00")


def test_drafts_and_imported_payments_are_not_pushed(connection, book, sync):
    InvoiceFactory(organization=connection.organization, status="DRAFT")
    invoice = InvoiceFactory(organization=connection.organization)
    PaymentFactory(invoice=invoice, amount=Decimal("5.00"), source="quickbooks")
    sync(connection)
    assert book.count("invoice") == 1
    assert book.count("payment") == 0


def test_a_rejected_item_fails_alone_with_a_readable_error_and_blocks_its_invoice(connection, book, sync):
    bad = ItemFactory(organization=connection.organization, name="Drain: Main line")
    ItemFactory.create_batch(4, organization=connection.organization)
    invoice = InvoiceFactory(organization=connection.organization, lines=[(bad, Decimal("1"), Decimal("10.00"))])
    MembershipFactory(organization=connection.organization, role="admin")
    run = sync(connection)
    assert run.status == SyncRun.Status.PARTIAL
    link = links(connection, "item").get(local_id=bad.pk)
    assert link.status == S.FAILED
    assert link.last_error == "QuickBooks rejected item 'Drain: Main line': names cannot contain ':'"
    assert book.count("item") == 4
    inv_link = links(connection, "invoice").get(local_id=invoice.pk)
    assert inv_link.status == S.BLOCKED
    assert "Drain: Main line" in inv_link.last_error
    assert book.count("invoice") == 0
    assert Notification.objects.filter(run=run).count() == 1


def test_a_failed_record_is_not_retried_every_sweep_but_is_when_it_changes(connection, book, sync):
    bad = ItemFactory(organization=connection.organization, name="Drain: Main line")
    sync(connection)
    before = len(book.requests)
    run = sync(connection)
    assert len(book.requests) == before and run.done == 0
    bad.name = "Drain - Main line"
    bad.save()
    sync(connection)
    assert links(connection, "item").get().status == S.SYNCED


def test_an_item_without_an_income_account_needs_mapping_and_is_sent_once_mapped(connection, book, sync):
    connection.default_income_account = None
    connection.save()
    item = ItemFactory(organization=connection.organization)
    run = sync(connection)
    assert links(connection, "item").get().status == S.NEEDS_MAPPING
    assert book.count("item") == 0 and run.blocked == 1
    account = IncomeAccount.objects.create(connection=connection, remote_id="81", name="Services")
    ItemAccountMapping.objects.create(connection=connection, item=item, income_account=account)
    sync(connection)
    assert links(connection, "item").get().status == S.SYNCED
    assert book.of("item")[0].data.income_account_id == "81"


def test_a_batch_failure_falls_back_to_single_requests_and_duplicates_nothing(connection, book, sync):
    ItemFactory.create_batch(90, organization=connection.organization)
    book.fail_batches = {2}  # applied, then the answer is lost
    run = sync(connection)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert book.count("item") == 90
    assert len(book.creates) == 90  # the repeated idempotency keys were answered, not applied again
    assert run.fallbacks == 1
    assert links(connection, "item").filter(status=S.SYNCED).count() == 90


def test_after_a_failed_batch_a_duplicate_name_is_linked_when_the_key_is_forgotten(connection, book, sync):
    ItemFactory.create_batch(60, organization=connection.organization)
    book.fail_batches = {1}
    book.replay_keys = False
    run = sync(connection)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert book.count("item") == 60 and len(book.creates) == 60
    assert SyncEvent.objects.filter(run=run, action="link").count() == 30


def test_after_a_failed_batch_invoices_are_looked_up_before_they_are_created(connection, book, sync, fake):
    fake.adapter_class = type("SmallBatches", (fake.adapter_class,), {"batch_sizes": {"invoice": 2}})
    InvoiceFactory.create_batch(2, organization=connection.organization)
    sync(connection)
    book.fail_batches = {book.batch_calls + 1}
    book.replay_keys = False
    InvoiceFactory.create_batch(2, organization=connection.organization)  # customers and items go alone
    run = sync(connection)
    assert run.fallbacks == 1
    assert book.count("invoice") == 4 and [k for k, _ in book.creates].count("invoice") == 4
    assert ("find", "invoice") in book.requests


def test_a_batch_failure_before_anything_was_applied_creates_each_record_once(connection, book, sync):
    ItemFactory.create_batch(40, organization=connection.organization)
    book.fail_batches = {1}
    book.apply_failed_batches = False
    run = sync(connection)
    assert book.count("item") == 40 and len(book.creates) == 40
    assert run.fallbacks == 1 and run.succeeded == 40


def test_an_uncertain_create_is_looked_up_before_it_is_created_again(connection, book, sync, fake):
    fake.adapter_class = type("Single", (fake.adapter_class,), {"batch_sizes": {}})
    customer = CustomerFactory(organization=connection.organization)
    book.uncertain_creates = {customer.pk}
    run = sync(connection)
    link = links(connection, "customer").get()
    assert link.status == S.UNCERTAIN and run.failed == 1
    sync(connection)
    link.refresh_from_db()
    assert link.status == S.SYNCED
    assert book.count("customer") == 1
    assert ("find", "customer") in book.requests


def test_a_duplicate_name_links_the_existing_object_instead_of_failing(connection, book, sync, fake):
    item = ItemFactory(organization=connection.organization, name="Water heater flush")
    adapter = fake.adapter_class(book)
    from integrations.providers.base import ItemData, PushRequest

    existing = adapter.push_one("item", PushRequest(kind="item", local_id=0, data=ItemData(name="WATER HEATER FLUSH")))
    run = sync(connection)
    link = links(connection, "item").get(local_id=item.pk)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert link.remote_id == existing.remote_id
    assert book.count("item") == 1
    assert book.of("item")[0].data.name == "Water heater flush"


def test_a_stale_version_is_read_again_and_the_update_retried_once(connection, book, sync):
    item = ItemFactory(organization=connection.organization)
    sync(connection)
    book.stale_once = {item.pk}
    item.unit_price = Decimal("1.00")
    item.save()
    run = sync(connection)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert ("fetch", "item") in book.requests
    assert book.of("item")[0].data.unit_price == Decimal("1.00")


def test_an_over_balance_payment_fails_alone_while_the_rest_sync(connection, book, sync):
    invoice = InvoiceFactory(organization=connection.organization, lines=[(None, Decimal("1"), Decimal("100.00"))])
    good = PaymentFactory(invoice=invoice, amount=Decimal("60.00"))
    over = PaymentFactory(invoice=invoice, amount=Decimal("50.00"))
    run = sync(connection)
    assert run.status == SyncRun.Status.PARTIAL
    assert links(connection, "payment").get(local_id=good.pk).status == S.SYNCED
    failed = links(connection, "payment").get(local_id=over.pk)
    assert failed.status == S.FAILED
    assert failed.last_error.startswith("QuickBooks rejected payment of 50.00 on invoice")


def test_a_burst_of_429s_slows_the_run_but_it_completes_without_duplicates(connection, book, sync):
    ItemFactory.create_batch(70, organization=connection.organization)
    book.rate_limited = 4
    run = sync(connection)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.throttled == 4
    assert book.count("item") == 70 and len(book.creates) == 70


def test_events_keep_what_was_sent_without_tokens(connection, book, sync):
    ItemFactory(organization=connection.organization)
    run = sync(connection)
    event = SyncEvent.objects.get(run=run)
    assert event.outcome == "ok" and event.action == "create"
    assert event.request["income_account_id"] == "79"
    assert event.response["Authorization"] == "[redacted]"


def test_a_void_invoice_already_sent_is_voided_remotely_and_one_never_sent_is_skipped(connection, book, sync):
    sent = InvoiceFactory(organization=connection.organization)
    sync(connection)
    invoice_services.invoice_void(invoice=sent)
    never = InvoiceFactory(organization=connection.organization)
    invoice_services.invoice_void(invoice=never)
    sync(connection)
    assert book.count("invoice") == 1
    assert book.of("invoice")[0].data.status == "VOID"
    assert not links(connection, "invoice").filter(local_id=never.pk).exists()


def test_queries_grow_with_batches_not_records(connection, book, sync, django_assert_max_num_queries):
    ItemFactory.create_batch(30, organization=connection.organization)
    sync(connection)  # warm: nothing to compare yet
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    ItemFactory.create_batch(300, organization=connection.organization)
    with CaptureQueriesContext(db) as ten_batches:
        sync(connection)
    ItemFactory.create_batch(30, organization=connection.organization)
    with CaptureQueriesContext(db) as one_batch:
        sync(connection)
    per_batch = (len(ten_batches) - len(one_batch)) / 9
    print("queries", len(ten_batches), len(one_batch), per_batch)
    assert per_batch <= 5, per_batch


@pytest.mark.parametrize("days", [0])
def test_a_payment_recorded_after_the_invoice_synced_goes_up_once_on_resync(connection, book, sync, enqueued, days):
    from integrations.services.sync import invoice_sync

    invoice = InvoiceFactory(organization=connection.organization, lines=[(None, Decimal("1"), Decimal("100.00"))])
    sync(connection)
    payment = invoice_services.payment_record(invoice=invoice, amount="30.00", date=datetime.date.today())
    for _ in range(2):  # a double click
        run = invoice_sync(invoice=invoice, connection=connection)
        from integrations import tasks

        tasks.sync_run(run.pk)
    tasks.sync_run(run.pk)  # a retried task
    assert book.count("payment") == 1
    assert book.of("payment")[0].data.amount == Decimal("30.00")
    assert links(connection, "payment").get(local_id=payment.pk).status == S.SYNCED


def test_two_customers_with_one_name_never_share_one_remote_customer(connection, book, sync):
    first = CustomerFactory(organization=connection.organization, display_name="Jane Smith")
    second = CustomerFactory(organization=connection.organization, display_name="Jane Smith")
    CustomerFactory(organization=connection.organization, display_name="Someone else")
    run = sync(connection)
    assert run.status == SyncRun.Status.PARTIAL
    assert book.count("customer") == 2
    assert links(connection, "customer").get(local_id=first.pk).status == S.SYNCED
    refused = links(connection, "customer").get(local_id=second.pk)
    assert refused.status == S.FAILED and refused.remote_id is None
    assert refused.last_error.startswith("QuickBooks rejected customer 'Jane Smith': Duplicate Name")
    assert all(record.version == "0" for record in book.of("customer"))  # the first one was not overwritten


def test_the_payment_that_settles_an_invoice_does_not_send_the_invoice_again(connection, book, sync):
    invoice = InvoiceFactory(organization=connection.organization, lines=[(None, Decimal("1"), Decimal("100.00"))])
    sync(connection)
    invoice_services.payment_record(invoice=invoice, amount="100.00")
    invoice.refresh_from_db()
    assert invoice.status == "PAID"
    before = len(book.requests)
    sync(connection)
    assert book.requests[before:] == [("single", "payment")]


def test_changing_the_deposit_account_leaves_recorded_payments_alone_and_applies_to_new_ones(connection, book, sync):
    """The deposit account is where the money of a payment not yet sent goes: a payment already in the
    provider is not sent again (Xero refuses to change a recorded payment)."""
    connection.details = {"deposit_account_id": "090"}
    connection.save(update_fields=["details"])
    invoice = InvoiceFactory(organization=connection.organization, lines=[(None, Decimal("1"), Decimal("100.00"))])
    first = invoice_services.payment_record(invoice=invoice, amount="30.00", date=datetime.date.today())
    sync(connection)
    requests_before = len(book.requests)
    connection.details = {"deposit_account_id": "091"}
    connection.save(update_fields=["details"])

    run = sync(connection)

    assert run.done == 0 and len(book.requests) == requests_before
    assert links(connection, "payment").get(local_id=first.pk).status == S.SYNCED
    invoice_services.payment_record(invoice=invoice, amount="20.00", date=datetime.date.today())
    sync(connection)
    assert sorted(p.data.deposit_account_id for p in book.of("payment")) == ["090", "091"]
