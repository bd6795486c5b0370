"""The Xero adapter against the built-in Xero sandbox over real HTTP (live_server): create, find (Xero
`where` filters), update and changed for customers, items, invoices and payments."""

import datetime
from decimal import Decimal

import pytest

from integrations.providers.base import CustomerData, InvoiceData, ItemData, LineData, PaymentData, PushRequest
from tests.integrations.providers.test_sandbox_end_to_end import connect
from tests.integrations.pull.sandbox_world import deposit_account_of

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def pushed(adapter, kind, data, *, local_id=1, remote=None):
    request = PushRequest(
        kind,
        local_id,
        data,
        remote_id=remote.remote_id if remote else None,
        remote_version=remote.version if remote else "",
        idempotency_key=f"e2e-{kind}-{local_id}-{bool(remote)}",
    )
    [result] = adapter.push_batch(kind, [request]) if adapter.batch_size(kind) > 1 else [adapter.push_one(kind, request)]
    assert result.ok, result.error
    return result


def round_trip(adapter, provider):
    """Every kind created, found again by its natural key, updated and listed as changed."""
    accounts = adapter.income_accounts()
    account = accounts[0].remote_id if accounts else ""
    customer = CustomerData(display_name="Harbor Dental", email="desk@harbor.example")
    customer_id = pushed(adapter, "customer", customer).remote_id
    assert adapter.find("customer", customer).remote_id == customer_id
    pushed(
        adapter,
        "customer",
        CustomerData(display_name="Harbor Dental", email="accounts@harbor.example"),
        remote=adapter.fetch("customer", customer_id),
    )
    assert adapter.fetch("customer", customer_id).data.email == "accounts@harbor.example"

    item = ItemData(name="Drain cleaning", code="DRAIN", unit_price=Decimal("125.00"), income_account_id=account)
    item_id = pushed(adapter, "item", item).remote_id
    assert adapter.find("item", item).remote_id == item_id
    cheaper = ItemData(name="Drain cleaning", code="DRAIN", unit_price=Decimal("110.00"), income_account_id=account)
    pushed(adapter, "item", cheaper, remote=adapter.fetch("item", item_id))
    assert adapter.fetch("item", item_id).data.unit_price == Decimal("110.00")

    invoice = InvoiceData(
        number="INV-0042",
        customer_remote_id=customer_id,
        issue_date=datetime.date(2026, 3, 1),
        due_date=datetime.date(2026, 3, 31),
        lines=[
            LineData(item_id, "Drain cleaning", Decimal("2"), Decimal("110.00"), item_code="DRAIN", income_account_id=account)
        ],
        total=Decimal("220.00"),
    )
    invoice_id = pushed(adapter, "invoice", invoice).remote_id
    assert adapter.find("invoice", invoice).remote_id == invoice_id
    fetched = adapter.fetch("invoice", invoice_id)
    assert fetched.data.status == "SENT" and fetched.data.total == Decimal("220.00")

    payment = PaymentData(
        invoice_remote_id=invoice_id,
        customer_remote_id=customer_id,
        amount=Decimal("220.00"),
        date=datetime.date(2026, 3, 2),
        reference="CHK-1042",
        deposit_account_id=deposit_account_of(provider, adapter.company_id),
    )
    payment_id = pushed(adapter, "payment", payment).remote_id
    assert adapter.find("payment", payment).remote_id == payment_id
    assert adapter.fetch("invoice", invoice_id).data.status == "PAID"

    for kind, remote_id in (("customer", customer_id), ("item", item_id), ("invoice", invoice_id), ("payment", payment_id)):
        assert remote_id in {r.remote_id for r in adapter.changed(kind, None)}, kind
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=3)  # past FreshBooks' day of overlap
    assert customer_id not in {r.remote_id for r in adapter.changed("customer", later)}


def test_the_xero_adapter_creates_finds_updates_and_lists_every_kind(live_server, settings):
    round_trip(connect("xero", live_server, settings), "xero")
