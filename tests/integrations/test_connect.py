"""Connecting each provider through Settings → Integrations against the sandbox over real HTTP."""

import re
from html import unescape
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils.html import escape

from integrations import crypto, oauth
from integrations.management.commands.connect_provider import approve_consent
from integrations.models import Connection, Credential, ExternalLink
from integrations.providers.base import InvalidGrant
from tests.factories import ConnectionFactory, CustomerFactory, MembershipFactory
from tests.integrations import connecting
from tests.integrations.connecting import PROVIDERS, connect_in_browser, control, finish, start_connect

# Fixtures shared by the connection tests.
sandbox = connecting.sandbox
owner_client = connecting.owner_client

pytestmark = pytest.mark.django_db(transaction=True)


def _messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_it_connects_each_provider_and_stores_the_company(owner_client, sandbox, organization, provider):
    report = control(sandbox, provider)
    first = report["companies"][0]

    response = connect_in_browser(owner_client, provider)

    assert response.status_code == 302
    connection = Connection.objects.get(organization=organization, provider=provider)
    assert connection.status == Connection.Status.CONNECTED
    assert connection.company_id == first["id"]
    assert connection.company_name == first["name"]
    assert connection.connected_by == owner_client.user
    credential = Credential.objects.get(connection=connection)
    assert crypto.decrypt(credential.access_token_encrypted)
    assert crypto.decrypt(credential.refresh_token_encrypted)
    # The post-connection wizard comes next.
    assert response["Location"] == reverse("integrations:wizard", args=[provider])
    assert f"{connection.provider_name} is connected" in " ".join(_messages(response))


def test_quickbooks_identity_comes_from_the_callbacks_realm_id(owner_client, sandbox, organization):
    second = control(sandbox, "quickbooks")["companies"][1]

    connect_in_browser(owner_client, "quickbooks", company_id=second["id"])

    connection = Connection.objects.get(organization=organization, provider="quickbooks")
    assert connection.company_id == second["id"]
    assert connection.company_name == second["name"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_it_refuses_a_denied_consent_with_a_clear_message(owner_client, sandbox, organization, provider):
    response = connect_in_browser(owner_client, provider, action="deny")

    assert response.status_code == 302 and response["Location"] == reverse("integrations:index")
    assert not Connection.objects.filter(organization=organization).exists()
    assert any("declined" in m for m in _messages(response))


@pytest.mark.parametrize("provider", PROVIDERS)
def test_it_refuses_a_tampered_state(owner_client, sandbox, organization, provider):
    params = approve_consent(start_connect(owner_client, provider))
    params["state"] = params["state"][:-2] + "xx"

    response = finish(owner_client, provider, params)

    assert not Connection.objects.filter(organization=organization).exists()
    assert any("could not be verified" in m for m in _messages(response))
    # Nothing was exchanged: the code is still unused, the sandbox saw no token request.
    assert control(sandbox, provider)["requests"].get("token", 0) == 0


def test_it_refuses_a_replayed_state(owner_client, sandbox, organization):
    params = approve_consent(start_connect(owner_client, "xero"))
    finish(owner_client, "xero", params)
    Connection.objects.all().delete()

    response = finish(owner_client, "xero", params)

    assert not Connection.objects.exists()
    assert any("already used" in m for m in _messages(response))


def test_it_refuses_a_state_issued_in_another_browser(owner_client, client_factory_other, sandbox, organization):
    params = approve_consent(start_connect(owner_client, "wave"))

    response = finish(client_factory_other, "wave", params)

    assert not Connection.objects.exists()
    assert any("could not be verified" in m for m in _messages(response))


def test_it_refuses_a_state_issued_for_another_organization(owner_client, sandbox, organization):
    params = approve_consent(start_connect(owner_client, "freshbooks"))
    other = MembershipFactory(user=owner_client.user, role="owner").organization
    session = owner_client.session
    session["organization_id"] = other.pk
    session.save()

    response = finish(owner_client, "freshbooks", params)

    assert not Connection.objects.exists()
    assert any("another organization" in m for m in _messages(response))


@pytest.fixture
def client_factory_other(organization):
    from django.test import Client

    other = Client()
    other.force_login(MembershipFactory(organization=organization, role="admin").user)
    return other


def test_staff_cannot_connect_or_disconnect(client, organization, sandbox):
    client.force_login(MembershipFactory(organization=organization, role="staff").user)

    assert client.get(reverse("integrations:index")).status_code == 200
    assert client.post(reverse("integrations:connect", args=["quickbooks"])).status_code == 403
    assert client.post(reverse("integrations:disconnect", args=["quickbooks"])).status_code == 403


def test_xero_lets_the_user_choose_when_several_tenants_are_granted(owner_client, sandbox, organization):
    companies = control(sandbox, "xero")["companies"]
    url = start_connect(owner_client, "xero")
    # The consent page allows several organisations: approve both.
    page = requests.get(url, timeout=10).text
    hidden = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page)
    data = [(k, unescape(v)) for k, v in hidden] + [("company", c["id"]) for c in companies] + [("action", "approve")]
    answer = requests.post(url, data=data, allow_redirects=False, timeout=10)
    params = dict(parse_qsl(urlsplit(answer.headers["Location"]).query))

    response = finish(owner_client, "xero", params)

    assert response["Location"] == reverse("integrations:choose", args=["xero"])
    page = owner_client.get(reverse("integrations:choose", args=["xero"]))
    assert escape(companies[0]["name"]) in page.content.decode()
    assert escape(companies[1]["name"]) in page.content.decode()
    chosen = owner_client.post(reverse("integrations:choose", args=["xero"]), {"company": companies[1]["id"]})
    assert chosen.status_code == 302
    connection = Connection.objects.get(organization=organization, provider="xero")
    assert (connection.company_id, connection.company_name) == (companies[1]["id"], companies[1]["name"])
    assert connection.details["connection_id"]


def test_reconnecting_keeps_every_link(owner_client, sandbox, organization):
    connect_in_browser(owner_client, "quickbooks")
    connection = Connection.objects.get(organization=organization)
    customer = CustomerFactory(organization=organization)
    link = ExternalLink.objects.create(
        connection=connection, kind="customer", local_id=customer.pk, remote_id="58", status="synced"
    )
    control(sandbox, "quickbooks", method="post", revoke_refresh_token=True)
    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.RECONNECT_REQUIRED)
    page = owner_client.get(reverse("integrations:index"))
    assert "Reconnect QuickBooks" in page.content.decode()

    connect_in_browser(owner_client, "quickbooks")

    connection.refresh_from_db()
    assert connection.status == Connection.Status.CONNECTED
    assert Connection.objects.filter(organization=organization).count() == 1
    assert ExternalLink.objects.get(pk=link.pk).remote_id == "58"


def test_connecting_another_company_is_refused_while_records_are_linked(owner_client, sandbox, organization):
    companies = control(sandbox, "quickbooks")["companies"]
    connect_in_browser(owner_client, "quickbooks", company_id=companies[0]["id"])
    connection = Connection.objects.get(organization=organization)
    ExternalLink.objects.create(connection=connection, kind="customer", local_id=1, remote_id="1", status="synced")

    response = connect_in_browser(owner_client, "quickbooks", company_id=companies[1]["id"])

    connection.refresh_from_db()
    assert connection.company_id == companies[0]["id"]
    assert any("Reconnect with that company" in m for m in _messages(response))


def test_disconnect_revokes_and_forgets_the_tokens_but_keeps_links(owner_client, sandbox, organization):
    connect_in_browser(owner_client, "xero")
    connection = Connection.objects.get(organization=organization)
    ExternalLink.objects.create(connection=connection, kind="customer", local_id=1, remote_id="abc", status="synced")
    refresh_token = crypto.decrypt(connection.credential.refresh_token_encrypted)

    response = owner_client.post(reverse("integrations:disconnect", args=["xero"]))

    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.status == Connection.Status.DISCONNECTED
    assert Credential.objects.get(connection=connection).refresh_token_encrypted == ""
    assert ExternalLink.objects.filter(connection=connection).count() == 1
    # The grant is revoked at the provider: its refresh token no longer works.
    with pytest.raises(InvalidGrant):
        oauth.refresh("xero", refresh_token=refresh_token)


def test_the_cards_show_each_providers_state(client, organization):
    client.force_login(MembershipFactory(organization=organization, role="owner").user)
    ConnectionFactory(organization=organization, provider="quickbooks", company_name="Northwind Plumbing")
    ConnectionFactory(organization=organization, provider="xero", status=Connection.Status.RECONNECT_REQUIRED)
    ConnectionFactory(organization=organization, provider="wave", status=Connection.Status.DISCONNECTED)

    html = client.get(reverse("integrations:index")).content.decode()

    assert "Connected</span> to <strong>Northwind Plumbing</strong>" in html
    assert "Disconnect</button>" in html
    assert "Reconnect Xero</button>" in html
    assert "Your Xero connection has expired. Go to Settings → Integrations → Reconnect Xero." in html
    assert "Connect Wave</button>" in html and "Connect FreshBooks</button>" in html
    assert reverse("integrations:index") in client.get(reverse("settings")).content.decode()
