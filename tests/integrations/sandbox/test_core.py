"""The sandbox engine: OAuth for all four providers, control endpoint, objects, limits."""

import base64
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from integrations.sandbox import core
from integrations.sandbox.models import SandboxCompany

pytestmark = pytest.mark.django_db(transaction=True)

REDIRECT = "http://testserver/integrations/callback"
AUTH = {
    "quickbooks": "connect/oauth2",
    "xero": "identity/connect/authorize",
    "freshbooks": "oauth/authorize",
    "wave": "oauth2/authorize/",
}
TOKEN = {
    "quickbooks": "oauth2/v1/tokens/bearer",
    "xero": "connect/token",
    "freshbooks": "auth/oauth/token",
    "wave": "oauth2/token/",
}


def token_post(client, provider, **fields):
    url = f"/sandbox/{provider}/{TOKEN[provider]}"
    creds = {"client_id": "sandbox-client", "client_secret": "sandbox-secret"}
    if provider in ("quickbooks", "xero"):
        basic = base64.b64encode(b"sandbox-client:sandbox-secret").decode()
        return client.post(url, fields, HTTP_AUTHORIZATION=f"Basic {basic}")
    if provider == "freshbooks":
        return client.post(url, {**creds, **fields}, content_type="application/json")
    return client.post(url, {**creds, **fields})


def consent(client, provider, action="approve", company=None):
    params = {"client_id": "sandbox-client", "redirect_uri": REDIRECT, "response_type": "code", "scope": "s", "state": "st8"}
    page = client.get(f"/sandbox/{provider}/{AUTH[provider]}", params)
    assert page.status_code == 200
    companies = core.companies(provider)
    data = {**params, "action": action, "company": company or companies[0].external_id}
    answer = client.post(f"/sandbox/{provider}/{AUTH[provider]}", data)
    assert answer.status_code == 302
    return parse_qs(urlsplit(answer["Location"]).query)


@pytest.mark.parametrize("provider", ["quickbooks", "xero", "freshbooks", "wave"])
def test_it_runs_the_whole_oauth_dance(provider):
    client = Client()
    query = consent(client, provider)
    assert query["state"] == ["st8"]
    if provider == "quickbooks":
        assert query["realmId"] == [core.companies(provider)[0].external_id]
    code = query["code"][0]
    answer = token_post(client, provider, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert answer.status_code == 200, answer.content
    tokens = answer.json()
    assert tokens["expires_in"] == {"quickbooks": 3600, "xero": 1800, "freshbooks": 43200, "wave": 7200}[provider]
    again = token_post(client, provider, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    refreshed = token_post(client, provider, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refreshed.status_code == 200
    assert refreshed.json()["refresh_token"] != tokens["refresh_token"]
    reuse = token_post(client, provider, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    if provider == "xero":
        assert reuse.status_code == 200  # 30-minute grace
    else:
        assert reuse.status_code == 400 and reuse.json() == {
            "error": "invalid_grant",
            "error_description": reuse.json()["error_description"],
        }
    report = client.get(f"/sandbox/{provider}/_control").json()
    assert report["refreshes"] == (2 if provider == "xero" else 1)
    assert report["invalid_grants"] == (1 if provider == "xero" else 2)


def test_deny_redirects_with_access_denied():
    query = consent(Client(), "xero", action="deny")
    assert query == {"error": ["access_denied"], "state": ["st8"]}


def test_it_refuses_a_duplicate_name_in_the_database():
    company = core.companies("quickbooks")[0]
    core.object_create(company=company, kind="item", data={}, unique_key="pipe")
    with pytest.raises(core.Duplicate):
        core.object_create(company=company, kind="item", data={}, unique_key="pipe")
    assert SandboxCompany.objects.filter(provider="quickbooks").count() == 2


def test_control_mints_a_token_and_resets():
    client = Client()
    minted = client.post("/sandbox/quickbooks/_control", {"mint_token": True}, content_type="application/json").json()
    assert minted["access_token"] and minted["company"] == minted["companies"][0]["id"]
    assert set(minted["objects"]) >= {"item", "customer", "invoice", "payment"}
    reset = client.delete("/sandbox/quickbooks/_control").json()
    assert reset["companies"][0]["id"] != minted["company"]
