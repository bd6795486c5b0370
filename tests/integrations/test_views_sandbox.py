"""The staff pages against the sandbox over HTTP: Sync Now's progress bar reaches 100% for a real run
to Xero (deposit account fetched and chosen on the card), then the invoice panel resyncs a payment."""

import pytest
from django.urls import reverse

from integrations.models import ExternalLink, SyncRun
from integrations.sandbox.models import SandboxObject
from invoices import services as invoice_services
from tests.integrations.sync.conftest import enqueued  # noqa: F401
from tests.integrations.sync.test_sandbox_end_to_end import (  # noqa: F401
    connect,
    make_items,
    remote_count,
    run_to_end,
    sent_invoice,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_sync_now_and_invoice_resync_reach_xero_through_the_pages(connect, enqueued, organization, staff_client):  # noqa: F811
    connection = connect("xero")
    connection.details = {}
    connection.save(update_fields=["details"])
    staff_client.post(reverse("integrations:deposit_account", args=["xero"]), {"action": "refresh"})
    connection.refresh_from_db()
    bank = SandboxObject.objects.get(company__external_id=connection.company_id, kind="account", data__Type="BANK")
    assert connection.details["deposit_account_id"] == bank.object_id  # the sandbox's only bank account, by AccountID
    staff_client.post(reverse("integrations:deposit_account", args=["xero"]), {"deposit_account_id": bank.object_id})
    items = make_items(organization, 12)
    invoice = sent_invoice(organization, items[:2])

    staff_client.post(reverse("integrations:sync_now", args=["xero"]))
    run = run_to_end(SyncRun.objects.get().pk)
    html = staff_client.get(reverse("integrations:run_progress", args=["xero", run.pk])).content.decode()

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert f"{run.total} of {run.total} records (100%)" in html and run.total == 14
    assert "every 1s" not in html
    assert remote_count(connection, "item") == 12 and remote_count(connection, "invoice") == 1

    payment = invoice_services.payment_record(invoice=invoice, amount="5.00")
    panel = staff_client.get(reverse("integrations:invoice_panel", args=[invoice.pk])).content.decode()
    assert ">Resync to Xero</button>" in panel and "State: <strong>Synced</strong>" in panel

    staff_client.post(reverse("integrations:invoice_sync", args=["xero", invoice.pk]))
    for active in SyncRun.objects.filter(status__in=["queued", "running"]):
        run_to_end(active.pk)

    assert ExternalLink.objects.get(connection=connection, kind="payment", local_id=payment.pk).status == "synced"
    assert remote_count(connection, "payment") == 1
    panel = staff_client.get(reverse("integrations:invoice_panel", args=[invoice.pk])).content.decode()
    assert "<td>Payment</td><td>create</td><td>ok</td>" in panel
