"""Two-way sync against the built-in Xero, FreshBooks and Wave sandboxes over real HTTP: a bookkeeper's
changes in the provider come back. (QuickBooks has its own file, test_pull_sandbox.py, with the
conflict and webhook cases.)"""

import datetime
from decimal import Decimal

import pytest

from integrations.models import ExternalLink, SyncRun
from integrations.sync import pull
from invoices.models import Invoice
from tests.integrations.pull.sandbox_world import sandbox_world, sync  # noqa: F401 (fixture)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(params=["xero", "freshbooks", "wave"])
def world(request, sandbox_world):  # noqa: F811
    return sandbox_world(request.param)


def test_a_customer_edited_in_the_provider_is_pulled(world):
    world.bookkeeper_edits_customer(email="accounts@harbor.example")

    run = pull.pull_connection(connection=world.connection)

    world.customer.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert world.customer.email == "accounts@harbor.example"


def test_an_invoice_paid_in_the_provider_is_paid_here_with_that_payment(world):
    paid = world.bookkeeper_records_payment("250.00", datetime.date(2026, 3, 2), "CHK-1042")

    run = pull.pull_connection(connection=world.connection)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    invoice = Invoice.objects.get(pk=world.invoice.pk)
    [payment] = invoice.payments.all()
    assert invoice.status == Invoice.Status.PAID and invoice.amount_paid == Decimal("250.00")
    assert (payment.source, payment.amount, payment.date, payment.reference) == (
        world.connection.provider,
        Decimal("250.00"),
        datetime.date(2026, 3, 2),
        "CHK-1042",
    )
    assert ExternalLink.objects.get(connection=world.connection, kind="payment", local_id=payment.pk).remote_id == paid.remote_id


def test_a_pull_followed_by_a_sync_sends_nothing(world):
    world.bookkeeper_edits_customer(phone="555-0199")
    world.bookkeeper_records_payment("100.00", datetime.date(2026, 3, 3), "CHK-7")
    pull.pull_connection(connection=world.connection)
    before = world.writes()

    sync(world.connection)

    assert world.writes() == before
