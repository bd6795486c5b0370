"""Two-way sync against the built-in QuickBooks sandbox over real HTTP (live_server).

A "bookkeeper" edits records in the sandbox with a token of their own (minted by the sandbox's
_control endpoint); BlueClerk pushes with the push engine and pulls with the pull engine, unchanged
but for the adapter's token (tokens are another module's concern).
"""

import datetime
from decimal import Decimal

import pytest
import requests
from django.utils import timezone

from catalog.services import item_create
from integrations.models import Connection, ExternalLink, IncomeAccount, SyncEvent, SyncRun
from integrations.providers.base import CustomerData, PaymentData, PushRequest
from integrations.providers.config import provider_config
from integrations.providers.registry import adapter_class
from integrations.sync import pull, runs
from invoices import services as invoice_services
from invoices.models import Customer, Invoice

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
WRITE_KINDS = ("batch", "item", "customer", "invoice", "payment")


def control(live_server, provider="quickbooks", method="get", **body):
    answer = getattr(requests, method)(f"{live_server.url}/sandbox/{provider}/_control", json=body or None, timeout=10)
    answer.raise_for_status()
    return answer.json()


def adapter_with(token, company):
    return adapter_class("quickbooks")(
        config=provider_config("quickbooks"), company_id=company, token_provider=lambda force_refresh=False: token, timeout=20
    )


@pytest.fixture
def world(live_server, settings, organization, monkeypatch):
    """An organization connected to a sandbox QuickBooks company, with a customer, an item and a sent
    invoice pushed there by the push engine; and a bookkeeper's adapter on the same company."""
    settings.SITE_URL = live_server.url
    control(live_server, method="post", limits={"per_second": None})
    ours = control(live_server, method="post", mint_token=True)
    bookkeeper = control(live_server, method="post", mint_token=True, company=ours["company"])
    company = ours["company"]
    monkeypatch.setattr(
        runs,
        "adapter_factory_for",
        lambda connection: (adapter_class("quickbooks"), lambda: adapter_with(ours["access_token"], company)),
    )

    connection = Connection.objects.create(
        organization=organization,
        provider="quickbooks",
        company_id=company,
        connected_at=timezone.now() - datetime.timedelta(hours=1),
    )
    account = adapter_with(ours["access_token"], company).income_accounts()[0]
    income = IncomeAccount.objects.create(connection=connection, remote_id=account.remote_id, name=account.name)
    connection.default_income_account = income
    connection.save()

    customer = invoice_services.customer_create(
        organization=organization, display_name="Harbor Dental", email="desk@harbor.example"
    )
    item = item_create(organization=organization, name="Drain cleaning", unit_price=Decimal("125.00"))
    invoice = invoice_services.invoice_create(organization=organization, customer=customer, lines=[{"item": item, "quantity": 2}])
    invoice = invoice_services.invoice_mark_sent(invoice=invoice)
    sync(connection)
    assert ExternalLink.objects.filter(connection=connection, status=ExternalLink.Status.SYNCED).count() == 3

    class World:
        pass

    w = World()
    w.connection, w.customer, w.item, w.invoice = connection, customer, item, invoice
    w.bookkeeper = adapter_with(bookkeeper["access_token"], company)
    w.remote_id = lambda kind, obj: ExternalLink.objects.get(connection=connection, kind=kind, local_id=obj.pk).remote_id
    return w


def sync(connection):
    run, _ = runs.run_request(connection=connection, trigger=SyncRun.Trigger.COMMAND, scope=runs.make_scope())
    assert runs.run_execute(run=run)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    return run


def bookkeeper_edits_customer(w, **changes):
    remote = w.bookkeeper.fetch("customer", w.remote_id("customer", w.customer))
    data = CustomerData(**{**remote.data.__dict__, **changes})
    result = w.bookkeeper.push_one(
        "customer",
        PushRequest(
            "customer", 0, data, remote_id=remote.remote_id, remote_version=remote.version, idempotency_key=f"bk-{changes}"
        ),
    )
    assert result.ok, result.error
    return result


def test_a_customer_edited_in_quickbooks_is_pulled(world):
    bookkeeper_edits_customer(world, email="accounts@harbor.example")

    run = pull.pull_connection(connection=world.connection)

    world.customer.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert world.customer.email == "accounts@harbor.example"


def test_an_invoice_paid_in_quickbooks_is_paid_here_with_that_payment(world):
    paid = world.bookkeeper.push_one(
        "payment",
        PushRequest(
            "payment",
            0,
            PaymentData(
                invoice_remote_id=world.remote_id("invoice", world.invoice),
                customer_remote_id=world.remote_id("customer", world.customer),
                amount=Decimal("250.00"),
                date=datetime.date(2026, 3, 2),
                reference="CHK-1042",
            ),
            idempotency_key="bk-payment",
        ),
    )
    assert paid.ok, paid.error

    pull.pull_connection(connection=world.connection)

    invoice = Invoice.objects.get(pk=world.invoice.pk)
    [payment] = invoice.payments.all()
    assert invoice.status == Invoice.Status.PAID and invoice.amount_paid == Decimal("250.00")
    assert (payment.source, payment.amount, payment.date, payment.reference) == (
        "quickbooks",
        Decimal("250.00"),
        datetime.date(2026, 3, 2),
        "CHK-1042",
    )
    assert ExternalLink.objects.get(connection=world.connection, kind="payment", local_id=payment.pk).remote_id == paid.remote_id


def test_a_customer_changed_on_both_sides_keeps_the_newest_and_the_losing_version(world):
    invoice_services.customer_update(customer=world.customer, phone="555-0100")  # here first (a minute ago)...
    Customer.objects.filter(pk=world.customer.pk).update(updated_at=timezone.now() - datetime.timedelta(minutes=1))
    bookkeeper_edits_customer(world, phone="555-0199")  # ...then in QuickBooks: QuickBooks is newer

    pull.pull_connection(connection=world.connection)

    world.customer.refresh_from_db()
    assert world.customer.phone == "555-0199"
    conflict = SyncEvent.objects.get(connection=world.connection, action="conflict", local_id=world.customer.pk)
    assert conflict.request["phone"] == "555-0100"


def test_a_pull_followed_by_a_sync_sends_nothing(world, live_server):
    bookkeeper_edits_customer(world, email="accounts@harbor.example")
    pull.pull_connection(connection=world.connection)
    version = world.bookkeeper.fetch("customer", world.remote_id("customer", world.customer)).version
    before = control(live_server)["requests"]

    runs.run_request(connection=world.connection, trigger=SyncRun.Trigger.COMMAND, scope=runs.make_scope())
    for run in SyncRun.objects.filter(connection=world.connection, direction="push", finished_at__isnull=True):
        runs.run_execute(run=run)

    after = control(live_server)["requests"]
    assert {k: after[k] - before[k] for k in WRITE_KINDS} == dict.fromkeys(WRITE_KINDS, 0)
    assert world.bookkeeper.fetch("customer", world.remote_id("customer", world.customer)).version == version


def test_a_webhook_with_a_bad_signature_is_refused_and_changes_nothing(world, live_server):
    body = b'{"eventNotifications": [{"realmId": "%s", "dataChangeEvent": {"entities": [{"name": "Customer", "id": "1", "operation": "Update"}]}}]}'
    body = body % world.connection.company_id.encode()

    answer = requests.post(f"{live_server.url}/webhooks/quickbooks/", data=body, headers={"intuit-signature": "AAAA"}, timeout=10)

    assert answer.status_code == 401
    from integrations.models import WebhookDelivery

    assert not WebhookDelivery.objects.exists()
    assert not SyncRun.objects.filter(direction="pull").exists()
