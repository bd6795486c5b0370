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


def test_each_provider_takes_client_credentials_its_own_way():
    client = Client()
    code = consent(client, "freshbooks")["code"][0]
    basic = base64.b64encode(b"sandbox-client:sandbox-secret").decode()
    as_basic = client.post(
        "/sandbox/freshbooks/auth/oauth/token",
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert as_basic.status_code == 401 and as_basic.json()["error"] == "invalid_client"
    wrong = client.post(
        "/sandbox/quickbooks/oauth2/v1/tokens/bearer",
        {"grant_type": "refresh_token", "refresh_token": "x"},
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"sandbox-client:wrong").decode(),
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"


@pytest.mark.parametrize("provider", ["quickbooks", "freshbooks"])
def test_revoking_ends_the_grant(provider):
    client = Client()
    code = consent(client, provider)["code"][0]
    tokens = token_post(client, provider, grant_type="authorization_code", code=code, redirect_uri=REDIRECT).json()
    revoke_url = {"quickbooks": "v2/oauth2/tokens/revoke", "freshbooks": "auth/oauth/revoke"}[provider]
    if provider == "quickbooks":
        basic = base64.b64encode(b"sandbox-client:sandbox-secret").decode()
        answer = client.post(
            f"/sandbox/{provider}/{revoke_url}",
            {"token": tokens["refresh_token"]},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Basic {basic}",
        )
    else:
        body = {"client_id": "sandbox-client", "client_secret": "sandbox-secret", "token": tokens["access_token"]}
        answer = client.post(f"/sandbox/{provider}/{revoke_url}", body, content_type="application/json")
    assert answer.status_code == 200
    dead = token_post(client, provider, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert dead.status_code == 400 and dead.json()["error"] == "invalid_grant"


@pytest.mark.postgres
def test_simultaneous_refreshes_with_one_token_leave_one_winner(live_server):
    """QuickBooks: of two refreshes racing with one token, the loser gets invalid_grant (why callers lock)."""
    import threading

    import requests

    refresh = (
        Client()
        .post("/sandbox/quickbooks/_control", {"mint_token": True}, content_type="application/json")
        .json()["refresh_token"]
    )
    basic = base64.b64encode(b"sandbox-client:sandbox-secret").decode()
    barrier = threading.Barrier(3)
    codes = []

    def race():
        barrier.wait()
        answer = requests.post(
            f"{live_server.url}/sandbox/quickbooks/oauth2/v1/tokens/bearer",
            data={"grant_type": "refresh_token", "refresh_token": refresh},
            headers={"Authorization": f"Basic {basic}"},
            timeout=10,
        )
        codes.append(answer.status_code)

    threads = [threading.Thread(target=race) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200, 400, 400]


def test_the_control_endpoint_refuses_bad_settings():
    client = Client()
    for body in ({"fail_mode": "explode"}, {"reject_names": "("}, {"limits": {"per_minute": -1}}, {"latency_ms": "slow"}):
        answer = client.post("/sandbox/xero/_control", body, content_type="application/json")
        assert answer.status_code == 400 and answer.json()["error"]
    ok = client.post(
        "/sandbox/xero/_control", {"limits": {"per_minute": 10, "in_flight": None}}, content_type="application/json"
    ).json()
    assert ok["limits"]["per_minute"] == 10 and ok["limits"]["in_flight"] is None and ok["limits"]["per_day"] == 5000


# --- Limits: requests are dated when they arrive -----------------------------------------------------


def enter(arrived, **limits):
    return core.limits_enter(provider="quickbooks", scope="realm-1", is_batch=False, limits=limits, arrived=arrived)


def test_a_request_that_waited_is_dated_when_it_arrived_not_when_it_was_let_in():
    start = core.now()
    for i in range(2):
        enter(start + core.timedelta(seconds=i * 0.4), per_second=2)
    # Arrived 1.1 s after the first: only the second one shares a one-second window with it.
    assert enter(start + core.timedelta(seconds=1.1), per_second=2).second == 2


def test_a_late_comer_counts_in_windows_with_requests_that_arrived_after_it():
    start = core.now()
    enter(start + core.timedelta(seconds=0.5), per_second=2)
    enter(start + core.timedelta(seconds=0.6), per_second=2)
    # Arrived before both, let in after them: the window ending at 0.6 s holds all three.
    with pytest.raises(core.Throttled) as refused:
        enter(start, per_second=2)
    assert refused.value.limit == "per_second"
    # One that arrived more than a second before the later two shares no window with both.
    assert enter(start - core.timedelta(seconds=0.45), per_second=2).second == 2
