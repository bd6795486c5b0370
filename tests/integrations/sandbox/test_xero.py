"""The Xero sandbox over real HTTP: shapes (checked against Xero's OpenAPI spec), limits, faults, tokens."""

import base64
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.conf import settings as django_settings

pytestmark = pytest.mark.django_db(transaction=True)

SPEC = Path(django_settings.BASE_DIR) / "integrations" / "contracts" / "xero" / "xero_accounting.yaml"


@pytest.fixture(scope="module")
def xero_spec():
    from openapi_core import Config, OpenAPI

    return OpenAPI.from_file_path(str(SPEC), config=Config(spec_validator_cls=None))


class Xero:
    def __init__(self, base, token, tenant, spec=None):
        self.base, self.token, self.tenant, self.spec = base, token, tenant, spec
        self.api = f"{base}/sandbox/xero/api.xro/2.0"

    def headers(self, **extra):
        return {"Authorization": f"Bearer {self.token}", "xero-tenant-id": self.tenant, "Accept": "application/json", **extra}

    def call(self, method, path, body=None, params=None, headers=None):
        answer = requests.request(
            method, f"{self.api}/{path}", json=body, params=params, headers=self.headers(**(headers or {})), timeout=10
        )
        if (
            self.spec is not None
            and answer.status_code in (200, 400)
            and answer.headers.get("Content-Type", "").startswith("application/json")
        ):
            self.check(method, path, body, params, answer)
        return answer

    def check(self, method, path, body, params, answer):
        """The sandbox's request and answer, as if sent to api.xero.com, validate against the spec."""
        from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

        request = requests.Request(
            method,
            f"https://api.xero.com/api.xro/2.0/{path}",
            params=params,
            json=body,
            headers={"xero-tenant-id": self.tenant, "Content-Type": "application/json", "Accept": "application/json"},
        )
        if body is not None:
            try:
                self.spec.validate_request(RequestsOpenAPIRequest(request))
            except Exception:
                return  # a deliberately invalid element is echoed back as sent, which the spec cannot describe
        self.spec.validate_response(RequestsOpenAPIRequest(request), RequestsOpenAPIResponse(answer))

    def control(self, method="get", **body):
        answer = getattr(requests, method)(f"{self.base}/sandbox/xero/_control", json=body or None, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()


@pytest.fixture
def xero(live_server, settings, xero_spec):
    settings.SITE_URL = live_server.url
    minted = requests.post(f"{live_server.url}/sandbox/xero/_control", json={"mint_token": True}, timeout=10).json()
    return Xero(live_server.url, minted["access_token"], minted["company"], xero_spec)


def item(code, name=None, price=10):
    return {"Code": code, "Name": name or code, "SalesDetails": {"UnitPrice": price, "AccountCode": "200"}}


def test_items_create_update_and_answer_per_element_errors(xero):
    answer = xero.call("PUT", "Items", {"Items": [item("PIPE-1", "Copper pipe"), item("X" * 31)]}, {"summarizeErrors": "false"})
    assert answer.status_code == 200, answer.text
    first, second = answer.json()["Items"]
    assert first["StatusAttributeString"] == "OK" and first["ItemID"] and first["UpdatedDateUTC"].startswith("/Date(")
    assert second["StatusAttributeString"] == "ERROR"
    assert "30 characters" in second["ValidationErrors"][0]["Message"]
    again = xero.call("PUT", "Items", {"Items": [item("pipe-1")]}, {"summarizeErrors": "false"}).json()["Items"][0]
    assert again["ValidationErrors"][0]["Message"] == "Item code 'pipe-1' already exists"
    summarized = xero.call("PUT", "Items", {"Items": [item("OK-1"), item("Y" * 31)]})
    assert summarized.status_code == 400
    assert summarized.json()["Type"] == "ValidationException" and len(summarized.json()["Elements"]) == 1
    updated = xero.call("POST", "Items", {"Items": [{"ItemID": first["ItemID"], "Code": "PIPE-1", "Name": "Copper pipe 15mm"}]})
    assert updated.json()["Items"][0]["Name"] == "Copper pipe 15mm"
    read = xero.call("GET", f"Items/{first['ItemID']}").json()["Items"][0]
    assert read["Name"] == "Copper pipe 15mm" and read["SalesDetails"]["UnitPrice"] == 10
    assert xero.call("GET", "Items", params={"where": 'Code=="OK-1"'}).json()["Items"][0]["Code"] == "OK-1"
    assert xero.call("GET", "Items/00000000-0000-0000-0000-000000000000").status_code == 404


def test_contacts_are_unique_among_active_ones(xero):
    created = xero.call("PUT", "Contacts", {"Contacts": [{"Name": "Ada Lovelace", "ContactNumber": "C-1"}]}).json()["Contacts"][0]
    duplicate = xero.call("PUT", "Contacts", {"Contacts": [{"Name": "ada lovelace"}]}, {"summarizeErrors": "false"}).json()[
        "Contacts"
    ][0]
    assert "must be unique across all active contacts" in duplicate["ValidationErrors"][0]["Message"]
    xero.call("POST", "Contacts", {"Contacts": [{"ContactID": created["ContactID"], "ContactStatus": "ARCHIVED"}]})
    assert xero.call("PUT", "Contacts", {"Contacts": [{"Name": "Ada Lovelace"}]}).status_code == 200
    found = xero.call("GET", "Contacts", params={"where": 'ContactNumber=="C-1"', "includeArchived": "true"}).json()["Contacts"]
    assert [c["ContactStatus"] for c in found] == ["ARCHIVED"]


def test_invoices_total_and_payments_settle_them(xero):
    xero.call("PUT", "Items", {"Items": [item("SVC", "Service call", 85)]})
    contact = xero.call("PUT", "Contacts", {"Contacts": [{"Name": "Grace Hopper"}]}).json()["Contacts"][0]
    invoice_body = {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact["ContactID"]},
        "LineItems": [{"ItemCode": "SVC", "Quantity": 2, "UnitAmount": 85, "AccountCode": "200", "Description": "Visit"}],
        "Date": "2026-11-01",
        "DueDate": "2026-12-01",
        "InvoiceNumber": "INV-100",
        "Status": "AUTHORISED",
    }
    invoice = xero.call("PUT", "Invoices", {"Invoices": [invoice_body]}).json()["Invoices"][0]
    assert invoice["Total"] == 170 and invoice["AmountDue"] == 170 and invoice["Date"].startswith("/Date(")
    duplicate = xero.call("PUT", "Invoices", {"Invoices": [invoice_body]}, {"summarizeErrors": "false"}).json()["Invoices"][0]
    assert duplicate["StatusAttributeString"] == "ERROR"
    too_much = xero.call(
        "PUT",
        "Payments",
        {
            "Payments": [
                {"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Account": {"Code": "090"}, "Date": "2026-11-02", "Amount": 200}
            ]
        },
    )
    assert too_much.status_code == 400
    assert "exceeds the amount outstanding" in str(too_much.json())
    paid = xero.call(
        "PUT",
        "Payments",
        {
            "Payments": [
                {"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Account": {"Code": "090"}, "Date": "2026-11-02", "Amount": 70}
            ]
        },
    )
    assert paid.status_code == 200, paid.text
    after = xero.call("GET", f"Invoices/{invoice['InvoiceID']}").json()["Invoices"][0]
    assert after["AmountPaid"] == 70 and after["AmountDue"] == 100 and after["Status"] == "AUTHORISED"
    xero.call(
        "PUT",
        "Payments",
        {
            "Payments": [
                {"Invoice": {"InvoiceNumber": "INV-100"}, "Account": {"Code": "090"}, "Date": "2026-11-03", "Amount": 100}
            ]
        },
    )
    assert xero.call("GET", "Invoices/INV-100").json()["Invoices"][0]["Status"] == "PAID"
    assert len(xero.call("GET", "Payments").json()["Payments"]) == 2
    assert "LineItems" not in xero.call("GET", "Invoices").json()["Invoices"][0]
    assert xero.call("GET", "Invoices", params={"page": 1}).json()["Invoices"][0]["LineItems"][0]["ItemCode"] == "SVC"
    accounts = xero.call("GET", "Accounts").json()["Accounts"]
    assert len([a for a in accounts if a["Class"] == "REVENUE"]) >= 3 and any(a["Type"] == "BANK" for a in accounts)


def test_gets_honour_if_modified_since_and_pages(xero):
    xero.call("PUT", "Contacts", {"Contacts": [{"Name": f"Customer {n}"} for n in range(3)]})
    assert len(xero.call("GET", "Contacts", params={"page": 1, "pageSize": 2}).json()["Contacts"]) == 2
    assert len(xero.call("GET", "Contacts", params={"page": 2, "pageSize": 2}).json()["Contacts"]) == 1
    future = xero.call("GET", "Contacts", headers={"If-Modified-Since": "2999-01-01T00:00:00"}).json()["Contacts"]
    assert future == []


def test_it_needs_the_tenant_header(xero):
    answer = requests.get(f"{xero.api}/Items", headers={"Authorization": f"Bearer {xero.token}"}, timeout=10)
    assert answer.status_code == 403


def test_every_answer_carries_the_remaining_limits_and_429s_say_why(xero):
    xero.control("post", limits={"per_minute": 3})
    answers = [xero.call("GET", "Items") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[0].headers["X-MinLimit-Remaining"] == "2"
    assert answers[0].headers["X-DayLimit-Remaining"] == "4999"
    assert "X-AppMinLimit-Remaining" in answers[0].headers
    assert answers[3].headers["X-Rate-Limit-Problem"] == "minute"
    assert 1 <= int(answers[3].headers["Retry-After"]) <= 60
    assert answers[3].headers["X-MinLimit-Remaining"] == "0"
    assert xero.control()["throttled"] == 1


def test_five_calls_in_flight_at_most(xero):
    xero.control("post", latency_ms=400)
    codes = []

    def call():
        codes.append(xero.call("GET", "Items").status_code)

    threads = [threading.Thread(target=call) for _ in range(7)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes.count(429) >= 1 and codes.count(200) >= 5
    assert xero.control()["max_in_flight"] == 5


def test_an_idempotency_key_replays_the_first_answer(xero):
    first = xero.call("PUT", "Items", {"Items": [item("IDEM")]}, headers={"Idempotency-Key": "k-1"})
    again = xero.call("PUT", "Items", {"Items": [item("IDEM")]}, headers={"Idempotency-Key": "k-1"})
    assert again.status_code == first.status_code == 200
    assert again.json() == first.json()
    assert xero.control()["objects"]["item"] == 1
    too_long = xero.call("PUT", "Items", {"Items": [item("IDEM2")]}, headers={"Idempotency-Key": "k" * 129})
    assert too_long.status_code == 400


def test_reject_names_and_batch_faults(xero):
    xero.control("post", reject_names="^Bad", fail_next_batches=1, fail_mode="5xx")
    assert xero.call("PUT", "Contacts", {"Contacts": [{"Name": "Fine"}]}).status_code == 500
    rejected = xero.call("PUT", "Contacts", {"Contacts": [{"Name": "Bad name"}]}, {"summarizeErrors": "false"}).json()
    assert rejected["Contacts"][0]["StatusAttributeString"] == "ERROR"
    assert xero.control()["objects"]["contact"] == 0


def test_an_expired_token_gets_xeros_401(xero):
    xero.control("post", expire_access_tokens=True)
    answer = xero.call("GET", "Items")
    assert answer.status_code == 401 and answer.json()["Detail"].startswith("TokenExpired")


def basic():
    return {"Authorization": "Basic " + base64.b64encode(b"sandbox-client:sandbox-secret").decode()}


def test_connections_refresh_grace_and_revocation(live_server, settings):
    settings.SITE_URL = live_server.url
    base = f"{live_server.url}/sandbox/xero"
    tenants = [c["id"] for c in requests.get(f"{base}/_control", timeout=10).json()["companies"]]
    params = {
        "client_id": "sandbox-client",
        "redirect_uri": "http://localhost/cb",
        "response_type": "code",
        "scope": "openid offline_access",
        "state": "s1",
    }
    approved = requests.post(
        f"{base}/identity/connect/authorize",
        data={**params, "action": "approve", "company": tenants},
        allow_redirects=False,
        timeout=10,
    )
    code = parse_qs(urlsplit(approved.headers["Location"]).query)["code"][0]
    tokens = requests.post(
        f"{base}/connect/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": "http://localhost/cb"},
        headers=basic(),
        timeout=10,
    ).json()
    assert tokens["expires_in"] == 1800
    listed = requests.get(f"{base}/connections", headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=10).json()
    assert sorted(c["tenantId"] for c in listed) == sorted(tenants) and listed[0]["tenantType"] == "ORGANISATION"
    first = requests.post(
        f"{base}/connect/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        headers=basic(),
        timeout=10,
    )
    grace = requests.post(
        f"{base}/connect/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        headers=basic(),
        timeout=10,
    )
    assert first.status_code == grace.status_code == 200
    revoked = requests.post(
        f"{base}/connect/revocation", data={"token": first.json()["refresh_token"]}, headers=basic(), timeout=10
    )
    assert revoked.status_code == 200
    dead = requests.post(
        f"{base}/connect/token",
        data={"grant_type": "refresh_token", "refresh_token": grace.json()["refresh_token"]},
        headers=basic(),
        timeout=10,
    )
    assert dead.status_code == 400 and dead.json()["error"] == "invalid_grant"


def test_the_grace_ends_after_thirty_minutes(live_server, settings):
    from datetime import timedelta

    from integrations.sandbox.models import SandboxToken

    settings.SITE_URL = live_server.url
    base = f"{live_server.url}/sandbox/xero"
    refresh = requests.post(f"{base}/_control", json={"mint_token": True}, timeout=10).json()["refresh_token"]
    assert (
        requests.post(
            f"{base}/connect/token", data={"grant_type": "refresh_token", "refresh_token": refresh}, headers=basic(), timeout=10
        ).status_code
        == 200
    )
    token = SandboxToken.objects.get(token=refresh)
    token.used_at -= timedelta(minutes=31)
    token.save()
    late = requests.post(
        f"{base}/connect/token", data={"grant_type": "refresh_token", "refresh_token": refresh}, headers=basic(), timeout=10
    )
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"


def test_revoke_refresh_token_fault(live_server, settings):
    settings.SITE_URL = live_server.url
    base = f"{live_server.url}/sandbox/xero"
    refresh = requests.post(f"{base}/_control", json={"mint_token": True}, timeout=10).json()["refresh_token"]
    requests.post(f"{base}/_control", json={"revoke_refresh_token": True}, timeout=10)
    answer = requests.post(
        f"{base}/connect/token", data={"grant_type": "refresh_token", "refresh_token": refresh}, headers=basic(), timeout=10
    )
    assert answer.status_code == 400 and answer.json() == {
        "error": "invalid_grant",
        "error_description": "Refresh token was revoked.",
    }
    assert requests.get(f"{base}/_control", timeout=10).json()["invalid_grants"] == 1


@pytest.mark.postgres
def test_two_simultaneous_contacts_of_one_name_make_one(xero):
    barrier = threading.Barrier(3)
    answers = []

    def create():
        barrier.wait()
        answers.append(
            requests.put(
                f"{xero.api}/Contacts",
                json={"Contacts": [{"Name": "Contended"}]},
                params={"summarizeErrors": "false"},
                headers=xero.headers(),
                timeout=10,
            )
        )

    threads = [threading.Thread(target=create) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(a.json()["Contacts"][0]["StatusAttributeString"] for a in answers)
    assert statuses == ["ERROR", "ERROR", "OK"]
    assert xero.control()["objects"]["contact"] == 1
