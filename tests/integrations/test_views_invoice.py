# ruff: noqa: F811  (fixtures imported from the sync tests' conftest)
"""Invoice detail sync panel: Sync / Resync to <Provider> on SENT and PAID invoices, the sync state, the
remote number and the sync history; the POST calls invoice_sync."""

import pytest
from django.urls import reverse

from integrations import tasks
from integrations.models import ExternalLink, SyncRun
from tests.factories import ConnectionFactory, InvoiceFactory, PaymentFactory
from tests.integrations.sync.conftest import _close_throttle_connections, book, connection, enqueued, fake  # noqa: F401

pytestmark = pytest.mark.django_db


def panel(client, invoice):
    return client.get(reverse("integrations:invoice_panel", args=[invoice.pk])).content.decode()


def test_the_invoice_page_loads_the_sync_panel(staff_client, connection):
    invoice = InvoiceFactory(organization=connection.organization, status="SENT")
    html = staff_client.get(reverse("invoice_detail", args=[invoice.pk])).content.decode()
    assert f'hx-get="{reverse("integrations:invoice_panel", args=[invoice.pk])}"' in html


def test_sync_then_resync_with_state_remote_number_and_history(staff_client, connection, enqueued, book, fake):
    invoice = InvoiceFactory(organization=connection.organization, status="SENT")
    html = panel(staff_client, invoice)
    assert ">Sync to QuickBooks</button>" in html and "Not synced to QuickBooks yet." in html

    response = staff_client.post(reverse("integrations:invoice_sync", args=["quickbooks", invoice.pk]), HTTP_HX_REQUEST="true")
    assert f"Invoice {invoice.number} is on its way to QuickBooks." in response.content.decode()
    run = SyncRun.objects.get()
    assert run.trigger == "invoice" and enqueued == [run.pk]
    tasks.sync_run(run.pk)

    link = ExternalLink.objects.get(connection=connection, kind="invoice", local_id=invoice.pk)
    html = panel(staff_client, invoice)
    assert ">Resync to QuickBooks</button>" in html and ">Sync to QuickBooks</button>" not in html
    assert "State: <strong>Synced</strong>" in html
    assert link.remote_number == invoice.number
    assert f"QuickBooks number {invoice.number}" in html
    assert "<td>Invoice</td><td>create</td><td>ok</td>" in html


def test_a_payment_recorded_after_the_sync_goes_up_with_the_resync(staff_client, connection, enqueued, book, fake):
    invoice = InvoiceFactory(organization=connection.organization, status="SENT")
    staff_client.post(reverse("integrations:invoice_sync", args=["quickbooks", invoice.pk]))
    tasks.sync_run(SyncRun.objects.get().pk)
    payment = PaymentFactory(invoice=invoice, amount="5.00")

    staff_client.post(reverse("integrations:invoice_sync", args=["quickbooks", invoice.pk]))
    tasks.sync_run(SyncRun.objects.order_by("-id").first().pk)

    assert ExternalLink.objects.get(connection=connection, kind="payment", local_id=payment.pk).status == "synced"
    assert "<td>Payment</td><td>create</td><td>ok</td>" in panel(staff_client, invoice)


def test_a_draft_has_no_sync_button_and_a_post_says_why(staff_client, connection, enqueued):
    invoice = InvoiceFactory(organization=connection.organization, status="DRAFT")
    assert "Sync to QuickBooks</button>" not in panel(staff_client, invoice)

    response = staff_client.post(reverse("integrations:invoice_sync", args=["quickbooks", invoice.pk]), follow=True)

    assert f"Invoice {invoice.number} is a draft: mark it sent before syncing it." in response.content.decode()
    assert not SyncRun.objects.exists()


def test_a_paid_invoice_can_be_resynced(staff_client, connection):
    invoice = InvoiceFactory(organization=connection.organization, status="PAID")
    assert "Sync to QuickBooks</button>" in panel(staff_client, invoice)


def test_every_connected_provider_has_its_own_block(staff_client, connection):
    ConnectionFactory(organization=connection.organization, provider="xero")
    ConnectionFactory(organization=connection.organization, provider="wave", status="disconnected")
    invoice = InvoiceFactory(organization=connection.organization, status="SENT")

    html = panel(staff_client, invoice)

    assert "Sync to QuickBooks</button>" in html and "Sync to Xero</button>" in html and "Wave" not in html


def test_no_connection_points_to_the_integrations_settings(staff_client, organization):
    invoice = InvoiceFactory(organization=organization, status="SENT")
    assert "No accounting software connected." in panel(staff_client, invoice)


def test_another_organizations_invoice_is_not_found(staff_client, connection, enqueued):
    foreign = InvoiceFactory(status="SENT")

    assert staff_client.get(reverse("integrations:invoice_panel", args=[foreign.pk])).status_code == 404
    response = staff_client.post(reverse("integrations:invoice_sync", args=["quickbooks", foreign.pk]))
    assert response.status_code == 404
    assert not SyncRun.objects.exists()
