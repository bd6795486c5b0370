"""Helpers of the connection tests (h4): drive the Settings → Integrations flow against the sandbox."""

from urllib.parse import urlsplit

import pytest
import requests
from django.urls import reverse

from integrations.management.commands.connect_provider import approve_consent
from integrations.sync import throttle
from tests.factories import MembershipFactory

PROVIDERS = ["quickbooks", "xero", "freshbooks", "wave"]


def control(base_url, provider, method="get", **body):
    answer = getattr(requests, method)(f"{base_url}/sandbox/{provider}/_control", json=body or None, timeout=10)
    answer.raise_for_status()
    return answer.json()


@pytest.fixture
def sandbox(live_server, settings):
    """The sandbox served by a live server, with SITE_URL pointing at it (redirect URIs and provider URLs).
    Adapters made meanwhile use the shared throttle, whose database connections are closed afterwards
    (before the test database is dropped)."""
    settings.SITE_URL = live_server.url
    yield live_server.url
    throttle.close_all_connections()


@pytest.fixture
def owner_client(client, organization):
    user = MembershipFactory(organization=organization, role="owner").user
    client.force_login(user)
    client.user = user
    return client


def start_connect(client, provider):
    """Press Connect: the consent URL the browser is sent to."""
    response = client.post(reverse("integrations:connect", args=[provider]))
    assert response.status_code == 302, response.content[:300]
    return response["Location"]


def finish(client, provider, params):
    """The browser arriving back at the callback with `params`."""
    path = reverse("integrations:callback", args=[provider])
    return client.get(path, params)


def connect_in_browser(client, provider, *, action="approve", company_id=None):
    """The whole flow: Connect, the consent page (approve or deny), the callback. Returns the callback response."""
    url = start_connect(client, provider)
    params = approve_consent(url, company_id=company_id, action=action)
    return finish(client, provider, params)


def messages_of(response):
    return [str(m) for m in response.wsgi_request._messages] if hasattr(response.wsgi_request, "_messages") else []


def path_of(url):
    return urlsplit(url).path
