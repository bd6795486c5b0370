"""OAuth details per provider (responses): consent URL, code exchange, token errors, revoke, state."""

import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from integrations import oauth
from integrations.providers.base import InvalidGrant, MalformedResponse, ProviderError, TransientError
from integrations.providers.config import provider_config


@pytest.mark.parametrize("provider", ["quickbooks", "xero", "freshbooks", "wave"])
def test_the_consent_url_carries_client_redirect_scopes_and_state(provider):
    url = oauth.authorization_url(provider, state="s-123")

    config = provider_config(provider)
    assert url.startswith(config.auth_url)
    query = parse_qs(urlsplit(url).query)
    assert query["client_id"] == ["sandbox-client"]
    assert query["response_type"] == ["code"]
    assert query["state"] == ["s-123"]
    assert query["redirect_uri"] == [f"http://testserver/settings/integrations/{provider}/callback/"]
    assert query["scope"][0].split(" ") == list(config.scopes)


@responses.activate
def test_quickbooks_exchanges_the_code_with_basic_auth_and_reads_the_refresh_lifetime():
    responses.add(
        responses.POST,
        provider_config("quickbooks").token_url,
        json={
            "token_type": "bearer",
            "access_token": "A",
            "refresh_token": "R",
            "expires_in": 3600,
            "x_refresh_token_expires_in": 8726400,
        },
    )

    tokens = oauth.exchange_code("quickbooks", code="C")

    assert (tokens.access_token, tokens.refresh_token, tokens.expires_in, tokens.refresh_expires_in) == ("A", "R", 3600, 8726400)
    request = responses.calls[0].request
    assert request.headers["Authorization"].startswith("Basic ")
    body = parse_qs(request.body)
    assert body["code"] == ["C"] and body["grant_type"] == ["authorization_code"] and "client_secret" not in body


@responses.activate
def test_freshbooks_exchanges_the_code_in_a_json_body():
    responses.add(
        responses.POST,
        provider_config("freshbooks").token_url,
        json={"access_token": "A", "refresh_token": "R", "expires_in": 43200, "token_type": "Bearer"},
    )

    oauth.exchange_code("freshbooks", code="C")

    request = responses.calls[0].request
    body = json.loads(request.body)
    assert body["client_id"] == "sandbox-client" and body["client_secret"] == "sandbox-secret"
    assert body["code"] == "C" and body["redirect_uri"].endswith("/settings/integrations/freshbooks/callback/")
    assert "Authorization" not in request.headers


@responses.activate
def test_wave_sends_the_client_credentials_in_a_form_body():
    responses.add(
        responses.POST, provider_config("wave").token_url, json={"access_token": "A", "refresh_token": "R", "expires_in": 7200}
    )

    oauth.exchange_code("wave", code="C")

    body = parse_qs(responses.calls[0].request.body)
    assert body["client_id"] == ["sandbox-client"] and body["client_secret"] == ["sandbox-secret"]


@responses.activate
@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ({"json": {"error": "invalid_grant"}, "status": 400}, InvalidGrant),
        ({"json": {"error": "invalid_client"}, "status": 401}, ProviderError),
        ({"body": "<html>oops</html>", "status": 503}, TransientError),
        ({"json": {"error": "slow_down"}, "status": 429}, TransientError),
        ({"body": requests.ConnectTimeout("slow")}, TransientError),
        ({"json": {"token_type": "bearer"}, "status": 200}, MalformedResponse),
    ],
)
def test_token_failures_become_typed_errors_without_tokens_in_them(answer, error):
    responses.add(responses.POST, provider_config("xero").token_url, **answer)

    with pytest.raises(error) as raised:
        oauth.refresh("xero", refresh_token="secret-refresh-token")

    assert "secret-refresh-token" not in str(raised.value)


@responses.activate
def test_invalid_client_says_which_settings_to_check():
    responses.add(responses.POST, provider_config("xero").token_url, json={"error": "invalid_client"}, status=401)

    with pytest.raises(ProviderError, match="XERO_CLIENT_ID and XERO_CLIENT_SECRET"):
        oauth.exchange_code("xero", code="C")


@responses.activate
def test_revoke_is_best_effort():
    responses.add(responses.POST, provider_config("quickbooks").revoke_url, body=requests.ConnectionError("down"))

    assert oauth.revoke("quickbooks", token="R") is False
    assert oauth.revoke("wave", token="R") is False  # Wave has no revocation endpoint


@responses.activate
def test_quickbooks_revoke_posts_the_token_as_json_with_basic_auth():
    responses.add(responses.POST, provider_config("quickbooks").revoke_url, json={})

    assert oauth.revoke("quickbooks", token="R") is True
    request = responses.calls[0].request
    assert json.loads(request.body) == {"token": "R"} and request.headers["Authorization"].startswith("Basic ")


def test_a_state_is_good_once_for_its_organization_and_provider():
    session = {}
    state = oauth.state_issue(session, organization_id=1, provider="xero")

    assert oauth.state_consume(session, state=state, organization_id=1, provider="xero")["provider"] == "xero"
    with pytest.raises(oauth.OAuthStateError, match="already used"):
        oauth.state_consume(session, state=state, organization_id=1, provider="xero")


@pytest.mark.parametrize(
    ("organization_id", "provider", "message"),
    [(2, "xero", "another organization"), (1, "wave", "another organization or provider")],
)
def test_a_state_for_another_organization_or_provider_is_refused(organization_id, provider, message):
    session = {}
    state = oauth.state_issue(session, organization_id=1, provider="xero")

    with pytest.raises(oauth.OAuthStateError, match=message):
        oauth.state_consume(session, state=state, organization_id=organization_id, provider=provider)


def test_an_old_state_is_refused(monkeypatch):
    session = {}
    state = oauth.state_issue(session, organization_id=1, provider="xero")
    issued = time.time()
    monkeypatch.setattr(oauth.time, "time", lambda: issued + oauth.STATE_MAX_AGE + 1)

    with pytest.raises(oauth.OAuthStateError, match="minutes old"):
        oauth.state_consume(session, state=state, organization_id=1, provider="xero")
