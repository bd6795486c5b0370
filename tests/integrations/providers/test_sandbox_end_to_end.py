"""The adapters against the built-in sandbox over real HTTP (live_server), unchanged but for base URLs."""

import datetime
from decimal import Decimal

import pytest
import requests

from integrations.providers.base import CustomerData, InvoiceData, ItemData, LineData, PaymentData, PushRequest
from integrations.providers.config import provider_config
from integrations.providers.registry import adapter_class

pytestmark = pytest.mark.django_db(transaction=True)


def connect(provider, live_server, settings, **control):
    settings.SITE_URL = live_server.url
    minted = requests.post(
        f"{live_server.url}/sandbox/{provider}/_control", json={"mint_token": True, **control}, timeout=10
    ).json()
    adapter = adapter_class(provider)(
        config=provider_config(provider),
        company_id=minted["company"],
        token_provider=lambda force_refresh=False: minted["access_token"],
        timeout=20,
    )
    return adapter


def test_quickbooks_adapter_round_trip(live_server, settings):
    adapter = connect("quickbooks", live_server, settings, limits={"per_second": None})
    account = adapter.income_accounts()[0]
    items = [
        PushRequest(
            "item",
            1,
            ItemData(name="Drain cleaning", unit_price=Decimal("125.00"), income_account_id=account.remote_id),
            idempotency_key="e2e-item-1",
        ),
        PushRequest(
            "item",
            2,
            ItemData(name="Drain: Main line", unit_price=Decimal("90.00"), income_account_id=account.remote_id),
            idempotency_key="e2e-item-2",
        ),
        PushRequest(
            "item",
            3,
            ItemData(name="Water heater", unit_price=Decimal("900.00"), income_account_id=account.remote_id),
            idempotency_key="e2e-item-3",
        ),
    ]

    results = adapter.push_batch("item", items)

    assert [r.ok for r in results] == [True, False, True]
    assert results[1].error.message == "QuickBooks rejected item 'Drain: Main line': names cannot contain ':'"
    again = adapter.push_batch("item", [items[0], items[2]])  # same records, same requestid: replayed
    assert [r.remote_id for r in again] == [results[0].remote_id, results[2].remote_id]
    found = adapter.find("item", items[2].data)
    assert found.remote_id == results[2].remote_id

    updated = adapter.push_one(
        "item",
        PushRequest(
            "item",
            1,
            ItemData(name="Drain cleaning", unit_price=Decimal("130.00"), income_account_id=account.remote_id),
            remote_id=results[0].remote_id,
            remote_version=results[0].remote_version,
            idempotency_key="e2e-item-1b",
        ),
    )
    assert updated.ok and updated.remote_version != results[0].remote_version
    stale = adapter.push_one(
        "item",
        PushRequest(
            "item",
            1,
            ItemData(name="Drain cleaning", unit_price=Decimal("135.00"), income_account_id=account.remote_id),
            remote_id=results[0].remote_id,
            remote_version=results[0].remote_version,
            idempotency_key="e2e-item-1c",
        ),
    )
    assert type(stale.error).__name__ == "StaleVersion"

    customer = adapter.push_one(
        "customer",
        PushRequest(
            "customer", 1, CustomerData(display_name="Ada Plumbing", email="ada@example.com"), idempotency_key="e2e-cust-1"
        ),
    )
    duplicate = adapter.push_one(
        "customer", PushRequest("customer", 2, CustomerData(display_name="Ada Plumbing"), idempotency_key="e2e-cust-2")
    )
    assert customer.ok and type(duplicate.error).__name__ == "DuplicateName"

    invoice = adapter.push_one(
        "invoice",
        PushRequest(
            "invoice",
            1,
            InvoiceData(
                number="INV-1001",
                customer_remote_id=customer.remote_id,
                issue_date=datetime.date(2025, 3, 1),
                due_date=datetime.date(2025, 3, 31),
                lines=[
                    LineData(
                        item_remote_id=results[0].remote_id,
                        description="Drain",
                        quantity=Decimal("2"),
                        unit_price=Decimal("125.00"),
                    )
                ],
            ),
            idempotency_key="e2e-inv-1",
        ),
    )
    assert invoice.ok and invoice.remote_number == "INV-1001", invoice.error
    payment = adapter.push_one(
        "payment",
        PushRequest(
            "payment",
            1,
            PaymentData(
                invoice_remote_id=invoice.remote_id,
                customer_remote_id=customer.remote_id,
                amount=Decimal("100.00"),
                date=datetime.date(2025, 3, 5),
            ),
            idempotency_key="e2e-pay-1",
        ),
    )
    assert payment.ok, payment.error
    assert (
        adapter.find(
            "payment",
            PaymentData(
                invoice_remote_id=invoice.remote_id,
                customer_remote_id=customer.remote_id,
                amount=Decimal("100.00"),
                date=datetime.date(2025, 3, 5),
            ),
        ).remote_id
        == payment.remote_id
    )

    since = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)
    changed = {r.remote_id for r in adapter.changed("item", since)}
    assert {results[0].remote_id, results[2].remote_id} <= changed
    assert adapter.company().name
    assert adapter.stats.batches == 2 and adapter.stats.throttled == 0
