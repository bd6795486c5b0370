"""Sandbox set-up for a benchmark: reset the provider, set its latencies, connect a fresh organization."""

from __future__ import annotations

import datetime
import uuid

import requests
from django.utils import timezone

from blueclerk.models import Organization
from integrations.models import Connection, IncomeAccount
from integrations.providers.base import TokenSet
from integrations.providers.config import provider_config
from integrations.providers.registry import adapter_class
from integrations.services.connections import adapter_for
from integrations.tokens import credential_store


def control(base_url, provider, method="get", **body):
    answer = getattr(requests, method)(f"{base_url}/sandbox/{provider}/_control", json=body or None, timeout=30)
    answer.raise_for_status()
    return answer.json() if answer.content else {}


def sandbox_reset(*, base_url, provider, single_ms, batch_ms):
    """DELETE the provider's sandbox (every company, object, token and counter), then set the
    latencies: `single_ms` per request, `batch_ms` per batch request in all. Returns the report."""
    control(base_url, provider, method="delete")
    control(base_url, provider, method="post", latency_ms=single_ms, batch_latency_ms=max(0, batch_ms - single_ms))
    return control(base_url, provider)


def minted_adapter(*, base_url, provider):
    """(adapter, income account id) on a freshly minted token, no throttle: the strategies that ignore
    limits. The income account is the company's first (what `organization_connect` chooses)."""
    minted = control(base_url, provider, method="post", mint_token=True)
    adapter = adapter_class(provider)(
        config=provider_config(provider),
        company_id=minted["company"],
        token_provider=lambda force_refresh=False: minted["access_token"],
    )
    accounts = adapter.income_accounts()
    return adapter, (accounts[0].remote_id if accounts else "")


def organization_connect(*, base_url, provider, name="Benchmark", company=None):
    """A fresh organization connected to the sandbox's first company (or `company`, an external id),
    tokens stored as the OAuth flow stores them, the first income account as default."""
    suffix = uuid.uuid4().hex[:8]
    organization = Organization.objects.create(name=f"{name} {suffix}", slug=f"bench-{provider}-{suffix}")
    minted = control(base_url, provider, method="post", mint_token=True, **({"company": company} if company else {}))
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
        connection.save(update_fields=["default_income_account"])
    return organization, connection, (accounts[0].remote_id if accounts else "")
