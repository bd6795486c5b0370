"""An invoice in a real browser: synced to QuickBooks, a payment recorded here, then Resync sends it."""

import pytest
from playwright.sync_api import expect

from catalog.models import Item
from integrations.models import ExternalLink
from invoices.models import Customer
from invoices.services import invoice_create, invoice_mark_sent
from tests.browser.conftest import screenshot, setup_quickbooks

pytestmark = pytest.mark.browser


def finish(worker):
    """Wait for the queued runs (the click's request enqueues them after commit)."""
    for thread in list(worker):
        thread.join(timeout=60)


def wait_synced(page, panel, worker):
    """Reload the invoice until its QuickBooks block says Synced (runs end in worker threads)."""
    for _ in range(50):
        finish(worker)
        page.reload()
        panel.wait_for()
        if "State: Synced" in panel.inner_text():
            return
        page.wait_for_timeout(200)
    expect(panel).to_contain_text("State: Synced")


def test_a_payment_on_a_synced_invoice_goes_up_with_resync(demo_page, site, worker):
    page = demo_page
    setup_quickbooks(page, site)
    organization = page.organization
    invoice = invoice_create(
        organization=organization,
        customer=Customer.objects.filter(organization=organization).first(),
        lines=[{"item": Item.objects.filter(organization=organization).first(), "quantity": "2", "unit_price": "45.00"}],
    )
    invoice = invoice_mark_sent(invoice=invoice)

    page.goto(f"{site}/invoices/{invoice.pk}/")
    panel = page.locator("#invoice-sync-quickbooks")
    panel.get_by_role("button", name="Sync to QuickBooks").click()
    wait_synced(page, panel, worker)
    expect(panel.get_by_role("button", name="Resync to QuickBooks")).to_be_visible()

    page.get_by_label("Amount").fill("10.00")
    page.get_by_role("button", name="Record payment").click()
    expect(page.locator("#record-payment, table").first).to_be_visible()
    panel.get_by_role("button", name="Resync to QuickBooks").click()
    wait_synced(page, panel, worker)

    payment = invoice.payments.get()
    link = ExternalLink.objects.get(kind="payment", local_id=payment.pk)
    assert link.status == ExternalLink.Status.SYNCED and link.remote_id
    expect(panel.locator("table")).to_contain_text("payment", ignore_case=True)
    screenshot(page, "invoice")
