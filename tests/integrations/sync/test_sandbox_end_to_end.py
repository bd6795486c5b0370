"""The push engine end to end: real adapters, real tokens (integrations.tokens) and the built-in
sandbox over HTTP (live_server). Latency is zero and record counts small so the suite stays fast;
the 3,629-item run belongs to the benchmark."""

import datetime
from decimal import Decimal

import pytest
import requests
from django.utils import timezone

from catalog.services import item_create
from integrations import tasks
from integrations.models import Connection, ExternalLink, IncomeAccount, SyncRun
from integrations.providers.base import TokenSet
from integrations.providers.config import provider_config
from integrations.providers.registry import adapter_class
from integrations.sandbox.models import SandboxCompany, SandboxObject
from integrations.services.connections import adapter_for
from integrations.services.sync import invoice_sync, sync_now
from integrations.tokens import credential_store, token_provider_for
from invoices import services as invoice_services
from tests.integrations.sync.conftest import OBJECT_KIND

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
S = ExternalLink.Status


def control(live_server, provider, method="get", **body):
    answer = getattr(requests, method)(f"{live_server.url}/sandbox/{provider}/_control", json=body or None, timeout=10)
    answer.raise_for_status()
    return answer.json()


@pytest.fixture
def connect(live_server, settings, organization):
    """connect(provider) -> a Connection to a fresh sandbox company, tokens stored as the OAuth flow
    would, default income account chosen, deposit account set where payments need one."""
    settings.SITE_URL = live_server.url

    def make(provider, **limits):
        control(live_server, provider, method="post", limits=limits, latency_ms=0, batch_latency_ms=0, fail_next_batches=0)
        minted = control(live_server, provider, method="post", mint_token=True)
        connection = Connection.objects.create(
            organization=organization,
            provider=provider,
            company_id=minted["company"],
            connected_at=timezone.now() - datetime.timedelta(hours=1),
        )
        credential_store(
            connection=connection,
            tokens=TokenSet(access_token=minted["access_token"], refresh_token=minted["refresh_token"], expires_in=3600),
        )
        # Through the connection's shared throttle, as the product fetches them: the provider counts this
        # request too, and one the throttle did not see made the next full minute one request over (a 429).
        accounts = adapter_for(connection).income_accounts()
        if accounts:
            connection.default_income_account = IncomeAccount.objects.create(
                connection=connection, remote_id=accounts[0].remote_id, code=accounts[0].code, name=accounts[0].name
            )
        if provider == "xero":
            connection.details = {"deposit_account_id": "090"}
        if provider == "wave":
            company = SandboxCompany.objects.get(external_id=connection.company_id)
            bank = SandboxObject.objects.get(company=company, kind="account", data__subtype="CASH_AND_BANK")
            connection.details = {"deposit_account_id": bank.object_id}
        connection.save()
        connection.live_server = live_server
        return connection

    return make


def remote_count(connection, kind):
    report = control(connection.live_server, connection.provider)
    return report["objects"].get(OBJECT_KIND[connection.provider][kind], 0)


def run_to_end(run_id):
    for _ in range(200):
        tasks.sync_run(run_id)
        run = SyncRun.objects.get(pk=run_id)
        if not run.is_active:
            return run
    raise AssertionError("the run did not finish")


def make_items(organization, n, prefix="Service"):
    return [
        item_create(organization=organization, name=f"{prefix} {i:03d}", code=f"S{i:03d}", unit_price=Decimal("10.00") + i)
        for i in range(n)
    ]


def sent_invoice(organization, items, name="Harbor Dental"):
    customer = invoice_services.customer_create(organization=organization, display_name=name)
    invoice = invoice_services.invoice_create(
        organization=organization, customer=customer, lines=[{"item": item, "quantity": "1"} for item in items]
    )
    return invoice_services.invoice_mark_sent(invoice=invoice)


@pytest.mark.parametrize("provider,count", [("quickbooks", 95), ("xero", 120), ("freshbooks", 6), ("wave", 6)])
def test_many_items_go_in_one_run_within_the_limits(connect, enqueued, organization, provider, count):
    connection = connect(provider)
    make_items(organization, count)
    run = run_to_end(sync_now(connection=connection).pk)
    report = control(connection.live_server, provider)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert remote_count(connection, "item") == count
    assert report["throttled"] == 0
    assert report["largest_batch"] <= adapter_class(provider).batch_sizes.get("item", 1)
    assert ExternalLink.objects.filter(connection=connection, kind="item", status=S.SYNCED).count() == count


@pytest.mark.parametrize("provider", ["quickbooks", "xero"])
def test_a_batch_failure_mid_run_falls_back_and_duplicates_nothing(connect, enqueued, organization, provider, live_server):
    connection = connect(provider)
    size = adapter_class(provider).batch_sizes["item"]
    make_items(organization, size * 2 + 3)
    control(live_server, provider, method="post", fail_next_batches=1, fail_mode="5xx")
    run = run_to_end(sync_now(connection=connection).pk)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.fallbacks == 1
    assert remote_count(connection, "item") == size * 2 + 3
    assert control(live_server, provider)["faults_injected"] >= 1


@pytest.mark.parametrize("provider", ["quickbooks", "xero", "freshbooks", "wave"])
def test_a_double_click_and_a_retried_task_create_nothing_twice(connect, enqueued, organization, provider):
    connection = connect(provider)
    items = make_items(organization, 3)
    sent_invoice(organization, items)
    first = sync_now(connection=connection)
    second = sync_now(connection=connection)
    assert first.pk == second.pk and enqueued == [first.pk]
    run_to_end(first.pk)
    tasks.sync_run(first.pk)  # the broker delivers it again
    again = run_to_end(sync_now(connection=connection).pk)
    assert again.done == 0
    assert [remote_count(connection, k) for k in ("item", "customer", "invoice")] == [3, 1, 1]


@pytest.mark.parametrize("provider", ["quickbooks", "xero", "freshbooks", "wave"])
def test_a_payment_recorded_after_the_invoice_synced_goes_up_once_on_resync(connect, enqueued, organization, provider):
    connection = connect(provider)
    invoice = sent_invoice(organization, make_items(organization, 2))
    run_to_end(invoice_sync(invoice=invoice, connection=connection).pk)
    payment = invoice_services.payment_record(invoice=invoice, amount=Decimal("7.50"))
    for _ in range(2):
        run_to_end(invoice_sync(invoice=invoice, connection=connection).pk)
    link = ExternalLink.objects.get(connection=connection, kind="payment", local_id=payment.pk)
    assert link.status == S.SYNCED, link.last_error
    assert remote_count(connection, "payment") == 1
    adapter = adapter_class(provider)(
        config=provider_config(provider), company_id=connection.company_id, token_provider=token_provider_for(connection)
    )
    invoice_link = ExternalLink.objects.get(connection=connection, kind="invoice", local_id=invoice.pk)
    payments = [p for p in adapter.changed("payment", None) if p.invoice_remote_id == invoice_link.remote_id]
    assert [p.data.amount for p in payments] == [Decimal("7.50")]


@pytest.mark.parametrize("provider", ["quickbooks", "xero"])
def test_invalid_names_and_over_balance_payments_fail_per_record_while_the_rest_sync(
    connect, enqueued, organization, provider, live_server
):
    connection = connect(provider)
    control(live_server, provider, method="post", reject_names="Forbidden")
    good = make_items(organization, 4)
    bad = item_create(organization=organization, name="Forbidden thing", code="BAD1", unit_price=Decimal("5"))
    invoice = sent_invoice(organization, good[:1])
    ok_payment = invoice_services.payment_record(invoice=invoice, amount=Decimal("3.00"))
    # Arrange an over-balance payment as an import glitch would leave it (the service refuses it).
    from invoices.models import Payment

    over = Payment.objects.create(
        organization=organization, invoice=invoice, amount=Decimal("500.00"), date=datetime.date.today()
    )
    run = run_to_end(sync_now(connection=connection).pk)
    control(live_server, provider, method="post", reject_names="")
    assert run.status == SyncRun.Status.PARTIAL
    links = {(link.kind, link.local_id): link for link in ExternalLink.objects.filter(connection=connection)}
    assert links[("item", bad.pk)].status == S.FAILED
    assert links[("item", bad.pk)].last_error.startswith(f"{connection.provider_name} rejected item 'Forbidden thing'")
    assert all(links[("item", i.pk)].status == S.SYNCED for i in good)
    assert links[("payment", ok_payment.pk)].status == S.SYNCED
    assert links[("payment", over.pk)].status == S.FAILED
    assert remote_count(connection, "payment") == 1


def test_a_burst_of_429s_slows_the_run_but_it_completes_without_duplicates(connect, enqueued, organization, live_server):
    connection = connect("xero", per_second=1)
    make_items(organization, 150)  # three batches of 50 at once: the sandbox takes one a second
    run = run_to_end(sync_now(connection=connection).pk)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.throttled >= 1
    assert remote_count(connection, "item") == 150


def test_an_exhausted_budget_continues_in_a_new_task_and_completes(connect, enqueued, organization, settings):
    settings.SYNC_TIME_BUDGET_SECONDS = 0
    connection = connect("quickbooks")
    make_items(organization, 70)
    run = run_to_end(sync_now(connection=connection).pk)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.continuations >= 1 and enqueued.count(run.pk) == run.continuations + 1
    assert remote_count(connection, "item") == 70
