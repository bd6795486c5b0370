"""The services pages, admin, API and the command call to request pushes."""

import pytest
from django.core.exceptions import ValidationError

from integrations import tasks
from integrations.models import Connection, ExternalLink, SyncRun
from integrations.services.sync import (
    invoice_sync,
    items_sync_selected,
    items_sync_unmapped,
    sync_now,
    sync_retry,
    sync_run_progress,
)
from tests.factories import InvoiceFactory, ItemFactory

pytestmark = pytest.mark.django_db


def test_more_than_100_selected_items_are_refused_with_a_clear_message(connection, enqueued):
    items = ItemFactory.create_batch(101, organization=connection.organization)
    with pytest.raises(ValidationError) as exc:
        items_sync_selected(connection=connection, item_ids=[i.pk for i in items])
    assert "at most 100 items" in exc.value.messages[0]
    assert not SyncRun.objects.exists()


def test_selected_items_are_synced_and_only_them(connection, enqueued, book, fake):
    items = ItemFactory.create_batch(5, organization=connection.organization)
    run = items_sync_selected(connection=connection, item_ids=[items[0].pk, items[1].pk])
    tasks.sync_run(run.pk)
    assert book.count("item") == 2


def test_sync_now_syncs_every_out_of_date_record(connection, enqueued, book, fake):
    InvoiceFactory.create_batch(3, organization=connection.organization)
    run = sync_now(connection=connection)
    tasks.sync_run(run.pk)
    progress = sync_run_progress(run=run)
    assert progress["status"] == "succeeded" and progress["done"] == 9 and progress["percent"] == 100
    assert book.count("invoice") == 3


def test_a_connection_that_needs_reconnecting_refuses_with_the_friendly_message(connection):
    connection.status = Connection.Status.RECONNECT_REQUIRED
    connection.save()
    with pytest.raises(ValidationError) as exc:
        sync_now(connection=connection)
    assert exc.value.messages == ["Your QuickBooks connection has expired. Go to Settings → Integrations → Reconnect QuickBooks."]


def test_a_draft_invoice_cannot_be_synced(connection):
    invoice = InvoiceFactory(organization=connection.organization, status="DRAFT")
    with pytest.raises(ValidationError):
        invoice_sync(invoice=invoice, connection=connection)


def test_retry_sends_failed_records_again(connection, enqueued, book, fake):
    item = ItemFactory(organization=connection.organization)
    ExternalLink.objects.create(
        connection=connection,
        kind="item",
        local_id=item.pk,
        status=ExternalLink.Status.FAILED,
        last_error="x",
        attempted_hash="h",
    )
    link = ExternalLink.objects.get()
    link.attempted_hash = ""  # as the failed push left it would be the hash; retry must not depend on it
    run = sync_retry(connection=connection, link_ids=[link.pk])
    tasks.sync_run(run.pk)
    link.refresh_from_db()
    assert link.status == ExternalLink.Status.SYNCED


def test_unmapped_items_are_synced_once_mapped(connection, enqueued, book, fake):
    default = connection.default_income_account
    connection.default_income_account = None
    connection.save()
    ItemFactory.create_batch(2, organization=connection.organization)
    tasks.sync_run(sync_now(connection=connection).pk)
    assert ExternalLink.objects.filter(status=ExternalLink.Status.NEEDS_MAPPING).count() == 2
    connection.default_income_account = default
    connection.save()
    tasks.sync_run(items_sync_unmapped(connection=connection).pk)
    assert book.count("item") == 2
