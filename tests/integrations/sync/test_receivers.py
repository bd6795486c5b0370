"""Local changes become sync work after commit; imported changes are not pushed back."""

from decimal import Decimal

import pytest

from catalog import services as catalog_services
from integrations.models import ExternalLink, IncomeAccount, SyncRun
from integrations.signals import mapping_changed
from invoices import services as invoice_services
from tests.factories import CustomerFactory, ItemFactory

pytestmark = pytest.mark.django_db


def test_an_added_item_requests_a_run_after_commit(connection, enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        item = catalog_services.item_create(organization=connection.organization, name="Sump pump", unit_price=10)
    run = SyncRun.objects.get(connection=connection)
    assert run.trigger == SyncRun.Trigger.AUTOMATIC
    assert run.scope["ids"] == {"item": [item.pk]}
    assert enqueued == [run.pk]


def test_a_change_imported_from_the_provider_is_not_pushed_back(connection, enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        catalog_services.item_create(organization=connection.organization, name="Sump pump", origin="quickbooks")
    assert not SyncRun.objects.exists() and enqueued == []


def test_a_draft_is_not_synced_until_it_is_sent(connection, enqueued, django_capture_on_commit_callbacks):
    customer = CustomerFactory(organization=connection.organization)
    item = ItemFactory(organization=connection.organization)
    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoice_services.invoice_create(
            organization=connection.organization, customer=customer, lines=[{"item": item, "quantity": "1"}]
        )
    assert not SyncRun.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        invoice_services.invoice_mark_sent(invoice=invoice)
    run = SyncRun.objects.get()
    assert run.scope["ids"] == {"invoice": [invoice.pk], "customer": [customer.pk], "item": [item.pk]}


def test_a_recorded_payment_marks_its_link_pending_and_brings_its_invoice(
    connection, enqueued, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(organization=connection.organization)
    item = ItemFactory(organization=connection.organization)
    invoice = invoice_services.invoice_create(
        organization=connection.organization, customer=customer, lines=[{"item": item, "quantity": "1", "unit_price": "50"}]
    )
    invoice_services.invoice_mark_sent(invoice=invoice)
    with django_capture_on_commit_callbacks(execute=True):
        payment = invoice_services.payment_record(invoice=invoice, amount=Decimal("20"))
    run = SyncRun.objects.get()
    assert run.scope["ids"]["payment"] == [payment.pk]
    assert run.scope["ids"]["invoice"] == [invoice.pk]


def test_an_updated_record_goes_back_to_pending(connection, enqueued, django_capture_on_commit_callbacks):
    item = ItemFactory(organization=connection.organization)
    link = ExternalLink.objects.create(
        connection=connection, kind="item", local_id=item.pk, remote_id="7", status=ExternalLink.Status.FAILED
    )
    with django_capture_on_commit_callbacks(execute=True):
        catalog_services.item_update(item=item, unit_price=Decimal("3.00"))
    link.refresh_from_db()
    assert link.status == ExternalLink.Status.PENDING


def test_a_mapping_change_pushes_the_items_again(connection, enqueued, book, fake):
    item = ItemFactory(organization=connection.organization)
    from integrations import tasks

    mapping_changed.send(sender=None, connection_id=connection.pk, item_ids=[item.pk])
    tasks.sync_run(enqueued[0])
    assert book.of("item")[0].data.income_account_id == "79"
    account = IncomeAccount.objects.create(connection=connection, remote_id="90", name="Installations")
    from integrations.models import ItemAccountMapping

    ItemAccountMapping.objects.create(connection=connection, item=item, income_account=account)
    mapping_changed.send(sender=None, connection_id=connection.pk, item_ids=[item.pk])
    tasks.sync_run(enqueued[-1])
    assert book.count("item") == 1
    assert book.of("item")[0].data.income_account_id == "90"
