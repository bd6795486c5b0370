"""Shared set-up of the pull tests against the built-in sandbox over HTTP, for every provider.

`sandbox_world(provider)` connects the organization to a fresh sandbox company the way the OAuth flow
leaves it (tokens stored, default income account, deposit account where payments need one), pushes a
customer, an item and a sent invoice with the push engine, and gives a "bookkeeper": an adapter of
the same company with a token of its own, to make changes in the provider as a person would.
"""

import datetime
from decimal import Decimal

import pytest
import requests
from django.utils import timezone

from catalog.services import item_create
from integrations.models import Connection, ExternalLink, IncomeAccount, SyncRun
from integrations.providers.base import CustomerData, PaymentData, PushRequest, TokenSet
from integrations.providers.config import provider_config
from integrations.providers.registry import adapter_class
from integrations.sandbox.models import SandboxCompany, SandboxObject
from integrations.sync import runs, throttle
from integrations.tokens import credential_store, token_provider_for
from invoices import services as invoice_services

WRITE_KINDS = ("batch", "item", "customer", "invoice", "payment")


def control(base_url, provider, method="get", **body):
    answer = getattr(requests, method)(f"{base_url}/sandbox/{provider}/_control", json=body or None, timeout=10)
    answer.raise_for_status()
    return answer.json()


def sync(connection):
    """Push everything out of date, continuations included; the run must succeed."""
    run, _ = runs.run_request(connection=connection, trigger=SyncRun.Trigger.COMMAND, scope=runs.make_scope())
    for _ in range(50):
        runs.run_execute(run=run)
        run.refresh_from_db()
        if not run.is_active:
            break
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    return run


def deposit_account_of(provider, company_id):
    """The bank account payments go into (Xero: the demo company's bank account code)."""
    if provider == "xero":
        return "090"
    if provider == "wave":
        company = SandboxCompany.objects.get(external_id=company_id)
        return SandboxObject.objects.get(company=company, kind="account", data__subtype="CASH_AND_BANK").object_id
    return ""


class World:
    """connection, customer, item, invoice (ours); bookkeeper (the provider's side); remote_id(kind, obj)."""

    def remote_id(self, kind, obj):
        return ExternalLink.objects.get(connection=self.connection, kind=kind, local_id=obj.pk).remote_id

    def writes(self):
        """Writes the sandbox has answered so far, by kind."""
        counted = control(self.base_url, self.provider)["requests"]
        return {kind: counted.get(kind, 0) for kind in WRITE_KINDS}

    def bookkeeper_edits_customer(self, **changes):
        remote = self.bookkeeper.fetch("customer", self.remote_id("customer", self.customer))
        data = CustomerData(**{**remote.data.__dict__, **changes})
        request = PushRequest(
            "customer", 0, data, remote_id=remote.remote_id, remote_version=remote.version, idempotency_key=f"bk-{changes}"
        )
        result = self.bookkeeper.push_one("customer", request)
        assert result.ok, result.error
        return result

    def bookkeeper_records_payment(self, amount, date, reference):
        data = PaymentData(
            invoice_remote_id=self.remote_id("invoice", self.invoice),
            customer_remote_id=self.remote_id("customer", self.customer),
            amount=Decimal(amount),
            date=date,
            reference=reference,
            deposit_account_id=deposit_account_of(self.provider, self.connection.company_id),
        )
        result = self.bookkeeper.push_one("payment", PushRequest("payment", 0, data, idempotency_key=f"bk-pay-{reference}"))
        assert result.ok, result.error
        return result


@pytest.fixture
def sandbox_world(live_server, settings, organization):
    """sandbox_world(provider) -> World (see the module docstring)."""
    settings.SITE_URL = live_server.url

    def make(provider):
        control(live_server.url, provider, method="post", limits={}, latency_ms=0, batch_latency_ms=0, fail_next_batches=0)
        ours = control(live_server.url, provider, method="post", mint_token=True)
        theirs = control(live_server.url, provider, method="post", mint_token=True, company=ours["company"])
        connection = Connection.objects.create(
            organization=organization,
            provider=provider,
            company_id=ours["company"],
            connected_at=timezone.now() - datetime.timedelta(hours=1),
        )
        credential_store(
            connection=connection,
            tokens=TokenSet(access_token=ours["access_token"], refresh_token=ours["refresh_token"], expires_in=3600),
        )
        config = provider_config(provider)
        adapter = adapter_class(provider)(
            config=config, company_id=connection.company_id, token_provider=token_provider_for(connection)
        )
        accounts = adapter.income_accounts()
        if accounts:
            connection.default_income_account = IncomeAccount.objects.create(
                connection=connection, remote_id=accounts[0].remote_id, code=accounts[0].code, name=accounts[0].name
            )
        deposit = deposit_account_of(provider, connection.company_id)
        if deposit:
            connection.details = {**(connection.details or {}), "deposit_account_id": deposit}
        connection.save()

        customer = invoice_services.customer_create(
            organization=organization, display_name="Harbor Dental", email="desk@harbor.example"
        )
        item = item_create(organization=organization, name="Drain cleaning", code="DRAIN", unit_price=Decimal("125.00"))
        invoice = invoice_services.invoice_create(
            organization=organization, customer=customer, lines=[{"item": item, "quantity": 2}]
        )
        invoice = invoice_services.invoice_mark_sent(invoice=invoice)
        sync(connection)
        assert ExternalLink.objects.filter(connection=connection, status=ExternalLink.Status.SYNCED).count() == 3

        w = World()
        w.provider, w.base_url = provider, live_server.url
        w.connection, w.customer, w.item, w.invoice = connection, customer, item, invoice
        token = theirs["access_token"]
        w.bookkeeper = adapter_class(provider)(
            config=config, company_id=connection.company_id, token_provider=lambda force_refresh=False: token, timeout=20
        )
        return w

    yield make
    throttle.close_all_connections()
