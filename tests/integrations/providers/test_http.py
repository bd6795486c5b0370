"""The request loop every adapter shares (integrations/providers/http.py)."""

import pytest
import requests

from integrations.providers.base import (
    AuthenticationFailed,
    MalformedResponse,
    RateLimited,
    TransientError,
    UncertainOutcome,
)
from integrations.providers.http import hmac_signature_matches, parse_retry_after, provider_session, short_key

from .conftest import COMPANY_IDS

QB = f"https://quickbooks.api.intuit.com/v3/company/{COMPANY_IDS['quickbooks']}"
COMPANY_INFO = f"{QB}/companyinfo/{COMPANY_IDS['quickbooks']}"


def test_it_refreshes_the_token_once_on_a_401_and_repeats_the_request(mocked, make_adapter):
    adapter = make_adapter("quickbooks")
    mocked.get(
        COMPANY_INFO,
        status=401,
        json={"fault": {"error": [{"message": "AuthenticationFailed", "code": "3200"}], "type": "AUTHENTICATION"}},
    )
    mocked.get(COMPANY_INFO, json={"CompanyInfo": {"CompanyName": "Ada Plumbing"}})

    company = adapter.company()

    assert company.name == "Ada Plumbing"
    assert adapter.tokens.refreshes == 1
    assert [c.request.headers["Authorization"] for c in mocked.calls] == ["Bearer token-1", "Bearer token-2"]
    assert adapter.stats.requests == 2


def test_it_gives_up_when_a_401_survives_the_refresh(mocked, make_adapter):
    adapter = make_adapter("quickbooks")
    mocked.get(COMPANY_INFO, status=401, json={"fault": {"error": [{"message": "AuthenticationFailed", "code": "3200"}]}})

    with pytest.raises(AuthenticationFailed) as caught:
        adapter.company()

    assert caught.value.permanent is True
    assert adapter.tokens.refreshes == 1
    assert len(mocked.calls) == 2


def test_it_calls_an_html_page_a_malformed_response(mocked, make_adapter):
    adapter = make_adapter("quickbooks")
    mocked.get(COMPANY_INFO, status=200, body="<!DOCTYPE html><html><body>Maintenance</body></html>", content_type="text/html")

    with pytest.raises(MalformedResponse) as caught:
        adapter.company()

    assert "HTML" in caught.value.message
    assert caught.value.permanent is False


def test_it_reports_a_timeout_after_sending_as_an_uncertain_outcome(mocked, make_adapter):
    adapter = make_adapter("quickbooks")
    mocked.get(COMPANY_INFO, body=requests.exceptions.ReadTimeout("read timed out"))

    with pytest.raises(UncertainOutcome):
        adapter.company()


def test_it_reports_a_refused_connection_as_transient_but_certain(mocked, make_adapter):
    adapter = make_adapter("quickbooks")
    mocked.get(COMPANY_INFO, body=requests.exceptions.ConnectionError("connection refused"))

    with pytest.raises(TransientError) as caught:
        adapter.company()

    assert not isinstance(caught.value, UncertainOutcome)


def test_it_reports_a_5xx_as_transient(mocked, make_adapter):
    adapter = make_adapter("quickbooks")
    mocked.get(COMPANY_INFO, status=503, body="Service Unavailable")

    with pytest.raises(TransientError) as caught:
        adapter.company()

    assert caught.value.status == 503
    assert caught.value.permanent is False


def test_it_counts_every_request_and_holds_a_throttle_slot_for_each(mocked, make_adapter):
    adapter = make_adapter("quickbooks")
    mocked.get(COMPANY_INFO, json={"CompanyInfo": {"CompanyName": "A"}})
    adapter.company()
    adapter.company()

    assert adapter.stats.requests == 2
    assert adapter.stats.by_kind == {"companyinfo": 2}
    assert adapter.throttle.slots == ["single", "single"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, 60.0), ("", 60.0), ("17", 17.0), ("2.5", 2.5), ("soon", 60.0), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],
)
def test_it_reads_retry_after_in_both_forms(value, expected):
    assert parse_retry_after(value, 60) == expected


def test_it_shortens_long_keys_stably():
    long_key = "x" * 80
    assert short_key("abc", 50) == "abc"
    assert len(short_key(long_key, 36)) == 36
    assert short_key(long_key, 36) == short_key(long_key, 36)
    assert short_key(long_key, 36) != short_key(long_key + "y", 36)


def test_it_checks_hmac_signatures():
    # base64(HMAC-SHA256("secret", b"body")), computed independently with openssl.
    signature = "3EaYNVf+oSe0OvchRn65s/3iM4/j4U9RlSqoR4wT01U="
    assert hmac_signature_matches(body=b"body", secret="secret", signature=signature)
    assert not hmac_signature_matches(body=b"body!", secret="secret", signature=signature)
    assert not hmac_signature_matches(body=b"body", secret="", signature=signature)
    assert not hmac_signature_matches(body=b"body", secret="secret", signature=None)


def test_a_429_penalizes_the_throttle_and_is_counted(mocked, make_adapter):
    adapter = make_adapter("xero")
    mocked.get(
        "https://api.xero.com/api.xro/2.0/Organisation",
        status=429,
        headers={"Retry-After": "12", "X-Rate-Limit-Problem": "minute"},
        body="",
    )

    with pytest.raises(RateLimited) as caught:
        adapter.company()

    assert caught.value.retry_after == 12.0
    assert caught.value.problem == "minute"
    assert adapter.throttle.penalties == [12.0]
    assert adapter.stats.throttled == 1


@pytest.mark.parametrize("signature", ["é-not-base64", "签名", ""])
def test_a_signature_with_characters_outside_ascii_is_a_mismatch_not_an_error(signature):
    assert hmac_signature_matches(body=b"{}", secret="s3cret", signature=signature) is False


@pytest.fixture
def no_proxy_environment(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


def test_a_netrc_entry_does_not_replace_our_authorization_header(mocked, make_adapter, no_proxy_environment, tmp_path):
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine quickbooks.api.intuit.com login someone password other\n")
    netrc.chmod(0o600)
    no_proxy_environment.setenv("NETRC", str(netrc))
    mocked.get(COMPANY_INFO, json={"CompanyInfo": {"CompanyName": "Ada Plumbing"}})

    make_adapter("quickbooks").company()

    assert mocked.calls[0].request.headers["Authorization"] == "Bearer token-1"


def test_a_proxy_in_the_environment_is_still_honoured_with_its_exceptions(no_proxy_environment):
    assert provider_session().trust_env is False
    no_proxy_environment.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    no_proxy_environment.setenv("NO_PROXY", "127.0.0.1")
    session = provider_session()
    assert session.trust_env is True
    assert session.merge_environment_settings("https://quickbooks.api.intuit.com/", {}, None, None, None)["proxies"]
    assert not session.merge_environment_settings("http://127.0.0.1:8000/", {}, None, None, None)["proxies"].get("http")


def test_a_ca_bundle_named_in_the_environment_applies(no_proxy_environment):
    no_proxy_environment.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    assert provider_session().verify == "/etc/ssl/certs/ca-certificates.crt"
