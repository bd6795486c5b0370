"""A payment reaches Xero and Wave with nobody typing an account code: connecting through Settings →
Integrations (the sandbox over HTTP) chooses the first bank account, and the payment is deposited there."""

import pytest

from integrations.models import Connection, ExternalLink, IncomeAccount
from integrations.sandbox.models import SandboxObject
from integrations.services import income_accounts_fetch
from integrations.services.sync import sync_now
from invoices import services as invoice_services
from tests.integrations import connecting
from tests.integrations.connecting import connect_in_browser
from tests.integrations.sync.test_sandbox_end_to_end import make_items, run_to_end, sent_invoice

sandbox = connecting.sandbox
owner_client = connecting.owner_client

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# The sandbox's bank account (seeded for every new company) and where its payments record the account.
BANK = {"xero": {"data__Type": "BANK"}, "wave": {"data__subtype": "CASH_AND_BANK"}}


def deposited_to(provider, payment):
    if provider == "xero":
        return payment.data["Account"]["AccountID"]
    return payment.data["paymentAccountId"]


@pytest.mark.parametrize("provider", ["xero", "wave"])
def test_a_payment_syncs_into_the_bank_account_chosen_on_connect(owner_client, sandbox, enqueued, organization, provider):
    connect_in_browser(owner_client, provider)
    connection = Connection.objects.get(organization=organization, provider=provider)
    bank = SandboxObject.objects.get(company__external_id=connection.company_id, kind="account", **BANK[provider])
    assert connection.details["deposit_account_id"] == bank.object_id
    assert connection.details["deposit_account_chosen_by"] == "default"
    income_accounts_fetch(connection=connection)
    connection.default_income_account = IncomeAccount.objects.filter(connection=connection).order_by("id").first()
    connection.save(update_fields=["default_income_account"])
    invoice = sent_invoice(organization, make_items(organization, 1))
    payment = invoice_services.payment_record(invoice=invoice, amount="4.00")

    run = run_to_end(sync_now(connection=connection).pk)

    assert run.failed == 0, run.error
    link = ExternalLink.objects.get(connection=connection, kind="payment", local_id=payment.pk)
    assert link.status == ExternalLink.Status.SYNCED, link.last_error
    remote = SandboxObject.objects.get(company=bank.company, kind="payment", object_id=link.remote_id)
    assert deposited_to(provider, remote) == bank.object_id
