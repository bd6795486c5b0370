"""Shared helpers of the drills, bad-input and security tests (i8b): a connection to a fresh sandbox
company over real HTTP, with tokens stored as the OAuth flow stores them."""

import datetime
from decimal import Decimal

import pytest
import requests
from django.utils import timezone

from catalog.services import item_create
from integrations import tasks
from integrations.models import Connection, IncomeAccount, SyncRun
from integrations.providers.base import TokenSet
from integrations.providers.config import provider_config
from integrations.providers.registry import adapter_class
from integrations.sandbox.models import SandboxCompany, SandboxObject
from integrations.sync import throttle
from integrations.tokens import credential_store, token_provider_for
from tests.integrations.sync.conftest import OBJECT_KIND, enqueued  # noqa: F401 (fixture re-exported)


def control(base_url, provider, method="get", **body):
    answer = getattr(requests, method)(f"{base_url}/sandbox/{provider}/_control", json=body or None, timeout=10)
    answer.raise_for_status()
    return answer.json()


def store_fresh_tokens(connection):
    """Mint a grant for the connection's sandbox company and store it (what a reconnect leaves)."""
    minted = control(
        connection.live_server.url, connection.provider, method="post", mint_token=True, company=connection.company_id
    )
    credential_store(
        connection=connection,
        tokens=TokenSet(access_token=minted["access_token"], refresh_token=minted["refresh_token"], expires_in=3600),
    )
    return minted


@pytest.fixture
def connect(live_server, settings, organization):
    """connect(provider) -> a Connection to a fresh sandbox company, default income account chosen."""
    settings.SITE_URL = live_server.url

    def make(provider, **limits):
        control(live_server.url, provider, method="delete")
        control(live_server.url, provider, method="post", limits=limits, latency_ms=0, batch_latency_ms=0, fail_next_batches=0)
        minted = control(live_server.url, provider, method="post", mint_token=True)
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
        connection.minted = minted
        adapter = adapter_class(provider)(
            config=provider_config(provider), company_id=connection.company_id, token_provider=token_provider_for(connection)
        )
        accounts = adapter.income_accounts()
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

    yield make
    throttle.close_all_connections()


def remote_count(connection, kind):
    report = control(connection.live_server.url, connection.provider)
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
