"""Xero adapter: arrays with summarizeErrors=false, Idempotency-Key, per-element errors, dates."""

import datetime
import json
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pytest

from integrations.providers.base import BatchFailed, DuplicateName, RateLimited, RecordRejected
from integrations.providers.xero import XeroAdapter, parse_xero_date, parse_xero_datetime

from .conftest import COMPANY_IDS, customer, invoice, item, payment, push

BASE = "https://api.xero.com/api.xro/2.0"


def query_of(call):
    return {k: v[0] for k, v in parse_qs(urlparse(call.request.url).query).items()}


def sent(call):
    return json.loads(call.request.body)


def test_it_writes_items_as_one_array_with_summarize_errors_off_and_an_idempotency_key(mocked, make_adapter):
    adapter = make_adapter("xero")
    mocked.post(
        f"{BASE}/Items",
        json={
            "Items": [
                {"ItemID": "a1", "Code": "DRAIN", "StatusAttributeString": "OK", "UpdatedDateUTC": "/Date(1741255200000+0000)/"},
                {"ItemID": "a2", "Code": "PIPE", "StatusAttributeString": "OK"},
            ]
        },
    )

    results = adapter.push_batch(
        "item", [push("item", item(account="200"), 1), push("item", item("Pipe", code="PIPE", account="200"), 2, remote_id="a2")]
    )

    call = mocked.calls[0]
    assert call.request.method == "POST"
    assert query_of(call) == {"summarizeErrors": "false"}
    assert call.request.headers["xero-tenant-id"] == COMPANY_IDS["xero"]
    assert call.request.headers["Accept"] == "application/json"
    assert 0 < len(call.request.headers["Idempotency-Key"]) <= 128
    body = sent(call)["Items"]
    assert body[0] == {
        "Code": "DRAIN",
        "Name": "Drain cleaning",
        "Description": "Drain cleaning service",
        "IsSold": True,
        "SalesDetails": {"UnitPrice": 125.0, "AccountCode": "200"},
    }
    assert body[1]["ItemID"] == "a2"
    assert [(r.ok, r.remote_id, r.remote_number) for r in results] == [(True, "a1", "DRAIN"), (True, "a2", "PIPE")]


def test_it_maps_each_elements_validation_errors_to_its_record(mocked, make_adapter):
    adapter = make_adapter("xero")
    mocked.post(
        f"{BASE}/Contacts",
        json={
            "Contacts": [
                {"ContactID": "c1", "Name": "Ada Plumbing", "StatusAttributeString": "OK"},
                {
                    "Name": "Bob",
                    "StatusAttributeString": "ERROR",
                    "ValidationErrors": [
                        {
                            "Message": "The contact name Bob is already assigned to another contact. The contact name must be unique across all active contacts."
                        }
                    ],
                },
                {
                    "Name": "Cy",
                    "StatusAttributeString": "ERROR",
                    "ValidationErrors": [{"Message": "Email address must be valid."}],
                },
            ]
        },
    )

    results = adapter.push_batch(
        "customer",
        [push("customer", customer(), 1), push("customer", customer("Bob"), 2), push("customer", customer("Cy", email="bad"), 3)],
    )

    assert results[0].ok and results[0].remote_id == "c1"
    assert isinstance(results[1].error, DuplicateName)
    assert type(results[2].error) is RecordRejected
    assert results[2].error.message == "Xero rejected customer 'Cy': Email address must be valid."
    body = sent(mocked.calls[0])["Contacts"][0]
    assert body["ContactNumber"] == "BC-1"
    assert body["Phones"] == [{"PhoneType": "DEFAULT", "PhoneNumber": "555-0100"}]
    assert body["Addresses"][0]["AddressType"] == "POBOX" and body["Addresses"][0]["City"] == "Springfield"


def test_a_400_that_lists_the_elements_is_read_per_element(mocked, make_adapter):
    adapter = make_adapter("xero")
    mocked.post(
        f"{BASE}/Invoices",
        status=400,
        json={
            "ErrorNumber": 10,
            "Type": "ValidationException",
            "Message": "A validation exception occurred",
            "Elements": [{"InvoiceNumber": "INV-1001", "ValidationErrors": [{"Message": "Invoice # must be unique."}]}],
        },
    )

    result = adapter.push_one("invoice", push("invoice", invoice(), 3))

    assert isinstance(result.error, DuplicateName)
    assert result.error.message == "Xero rejected invoice 'INV-1001': Invoice # must be unique."


def test_it_shapes_invoices_as_authorised_receivables(mocked, make_adapter):
    adapter = make_adapter("xero")
    mocked.post(
        f"{BASE}/Invoices", json={"Invoices": [{"InvoiceID": "i1", "InvoiceNumber": "INV-1001", "StatusAttributeString": "OK"}]}
    )

    adapter.push_one("invoice", push("invoice", invoice(customer_id="c1"), 3))

    assert sent(mocked.calls[0])["Invoices"][0] == {
        "Type": "ACCREC",
        "Contact": {"ContactID": "c1"},
        "InvoiceNumber": "INV-1001",
        "Date": "2025-03-01",
        "DueDate": "2025-03-31",
        "LineAmountTypes": "Exclusive",
        "LineItems": [
            {"Description": "Drain cleaning", "Quantity": 2.0, "UnitAmount": 125.0, "ItemCode": "DRAIN", "AccountCode": "200"}
        ],
        "Status": "AUTHORISED",
        "CurrencyCode": "USD",
    }


def test_payments_are_put_with_the_invoice_and_deposit_account(mocked, make_adapter):
    adapter = make_adapter("xero")
    mocked.put(f"{BASE}/Payments", json={"Payments": [{"PaymentID": "p1", "StatusAttributeString": "OK"}]})

    result = adapter.push_one("payment", push("payment", payment(invoice_id="i1"), 4))

    assert result.ok and result.remote_id == "p1"
    assert mocked.calls[0].request.headers["Idempotency-Key"] == push("payment", payment(), 4).idempotency_key
    assert sent(mocked.calls[0]) == {
        "Payments": [
            {
                "Invoice": {"InvoiceID": "i1"},
                "Account": {"Code": "090"},
                "Date": "2025-03-05",
                "Amount": 100.0,
                "Reference": "CHK-7",
            }
        ]
    }


def test_it_refuses_what_xero_would_refuse_before_sending(mocked, make_adapter):
    adapter = make_adapter("xero")
    results = adapter.push_batch(
        "item",
        [
            push("item", item("x" * 51, code="LONG"), 1),
            push("item", item("Ok", code="C" * 31), 2),
            push("item", item("No account", account=""), 3),
        ],
    )

    assert results[0].error.message.startswith("Xero rejected item 'xxx") and "at most 50 characters" in results[0].error.message
    assert "item codes can be at most 30 characters" in results[1].error.message
    assert "needs an income account" in results[2].error.message
    assert len(mocked.calls) == 0


def test_a_failed_request_fails_the_batch(mocked, make_adapter):
    adapter = make_adapter("xero")
    mocked.post(f"{BASE}/Items", status=502, body="Bad gateway")

    with pytest.raises(BatchFailed):
        adapter.push_batch("item", [push("item", item(), 1)])


def test_a_day_limit_429_is_passed_on(mocked, make_adapter):
    adapter = make_adapter("xero")
    mocked.post(f"{BASE}/Items", status=429, headers={"Retry-After": "3600", "X-Rate-Limit-Problem": "day"})

    with pytest.raises(RateLimited) as caught:
        adapter.push_batch("item", [push("item", item(), 1)])

    assert (caught.value.retry_after, caught.value.problem) == (3600.0, "day")


def test_it_reads_xero_dates():
    assert parse_xero_datetime("/Date(1573755038314+0000)/") == datetime.datetime(
        2019, 11, 14, 18, 10, 38, 314000, tzinfo=datetime.UTC
    )
    assert parse_xero_date("/Date(1741219200000+0000)/") == datetime.date(2025, 3, 6)
    assert parse_xero_date("2025-03-06T00:00:00") == datetime.date(2025, 3, 6)
    assert parse_xero_datetime(None) is None


def test_income_accounts_are_the_revenue_accounts(mocked, make_adapter):
    adapter = make_adapter("xero")
    mocked.get(
        f"{BASE}/Accounts",
        json={
            "Accounts": [
                {"AccountID": "g1", "Code": "200", "Name": "Sales", "Class": "REVENUE", "Type": "REVENUE", "Status": "ACTIVE"},
                {"AccountID": "g2", "Code": "090", "Name": "Bank", "Class": "ASSET", "Type": "BANK", "Status": "ACTIVE"},
            ]
        },
    )

    assert [(a.remote_id, a.name) for a in adapter.income_accounts()] == [("200", "Sales")]


# GET /Accounts as xero_accounting.yaml shows it (its example's bank account), with what the bank
# account filter must tell apart: an archived bank account, a current asset with payments enabled
# (Xero accepts payments into it), one without, and a bank account without a Code.
XERO_CHART = {
    "Accounts": [
        {"AccountID": "7d05a53d-613d-4eb2-a2fc-dcb6adb80b80", "Code": "200", "Name": "Sales", "Type": "REVENUE",
         "Status": "ACTIVE", "Class": "REVENUE", "TaxType": "OUTPUT2", "EnablePaymentsToAccount": False},
        {"AccountID": "ceef66a5-a545-413b-9312-78a53caadbc4", "Code": "610", "Name": "Petty Cash Float", "Type": "CURRENT",
         "Status": "ACTIVE", "Class": "ASSET", "TaxType": "NONE", "EnablePaymentsToAccount": True},
        {"AccountID": "ebd06280-af70-4bed-97c6-7451a454ad85", "Code": "091", "Name": "Business Savings Account",
         "Type": "BANK", "Status": "ACTIVE", "Class": "ASSET", "TaxType": "NONE", "EnablePaymentsToAccount": False,
         "BankAccountNumber": "0209087654321050", "BankAccountType": "BANK", "CurrencyCode": "NZD"},
        {"AccountID": "13918178-849a-4823-9a31-57b7eac713d7", "Code": "092", "Name": "Old Checking", "Type": "BANK",
         "Status": "ARCHIVED", "Class": "ASSET", "TaxType": "NONE", "EnablePaymentsToAccount": False,
         "BankAccountNumber": "0209087654321051", "BankAccountType": "BANK", "CurrencyCode": "NZD"},
        {"AccountID": "5040915e-8ce7-4177-8d08-fde416232f18", "Name": "Card Clearing", "Type": "BANK",
         "Status": "ACTIVE", "Class": "ASSET", "TaxType": "NONE", "EnablePaymentsToAccount": False,
         "BankAccountNumber": "4111", "BankAccountType": "CREDITCARD", "CurrencyCode": "NZD"},
        {"AccountID": "3d09fd49-434d-4c18-a57b-831663ab70d2", "Code": "620", "Name": "Prepayments", "Type": "CURRENT",
         "Status": "ACTIVE", "Class": "ASSET", "TaxType": "NONE", "EnablePaymentsToAccount": False},
    ]
}  # fmt: skip


def test_bank_accounts_are_the_active_bank_accounts_then_those_that_take_payments(mocked, make_adapter):
    adapter = make_adapter("xero")
    mocked.get(f"{BASE}/Accounts", json=XERO_CHART)

    accounts = adapter.bank_accounts()

    assert [(a.remote_id, a.name, a.code) for a in accounts] == [
        ("ebd06280-af70-4bed-97c6-7451a454ad85", "Business Savings Account", "091"),
        ("5040915e-8ce7-4177-8d08-fde416232f18", "Card Clearing", ""),
        ("ceef66a5-a545-413b-9312-78a53caadbc4", "Petty Cash Float", "610"),
    ]
    call = mocked.calls[0]
    assert call.request.method == "GET" and call.request.headers["xero-tenant-id"] == COMPANY_IDS["xero"]


def test_a_bank_account_chosen_from_the_list_is_sent_by_account_id(mocked, make_adapter):
    adapter = make_adapter("xero")
    mocked.get(f"{BASE}/Accounts", json=XERO_CHART)
    mocked.put(f"{BASE}/Payments", json={"Payments": [{"PaymentID": "p1", "StatusAttributeString": "OK"}]})

    chosen = adapter.bank_accounts()[0].remote_id
    adapter.push_one("payment", push("payment", payment(invoice_id="130", deposit=chosen), 9))

    assert sent(mocked.calls[1])["Payments"][0]["Account"] == {"AccountID": "ebd06280-af70-4bed-97c6-7451a454ad85"}


def test_an_organisation_without_a_bank_account_has_none_to_offer(mocked, make_adapter):
    adapter = make_adapter("xero")
    mocked.get(f"{BASE}/Accounts", json={"Accounts": [XERO_CHART["Accounts"][0], XERO_CHART["Accounts"][-1]]})

    assert adapter.bank_accounts() == []


def test_changed_sends_if_modified_since_and_pages(mocked, make_adapter):
    adapter = make_adapter("xero")
    full = [{"ContactID": f"c{i}", "Name": f"C{i}", "UpdatedDateUTC": "/Date(1741255200000+0000)/"} for i in range(100)]
    mocked.get(f"{BASE}/Contacts", json={"Contacts": full})
    mocked.get(f"{BASE}/Contacts", json={"Contacts": [{"ContactID": "last", "Name": "Last", "ContactStatus": "ARCHIVED"}]})

    records = list(adapter.changed("customer", datetime.datetime(2025, 3, 1, 8, 30, tzinfo=datetime.UTC)))

    assert mocked.calls[0].request.headers["If-Modified-Since"] == "Sat, 01 Mar 2025 08:30:00 GMT"
    assert [query_of(c)["page"] for c in mocked.calls] == ["1", "2"]
    assert len(records) == 101 and records[-1].deleted


def test_find_looks_items_up_by_code(mocked, make_adapter):
    adapter = make_adapter("xero")
    mocked.get(
        f"{BASE}/Items",
        json={
            "Items": [
                {
                    "ItemID": "a1",
                    "Code": "DRAIN",
                    "Name": "Drain cleaning",
                    "SalesDetails": {"UnitPrice": 125, "AccountCode": "200"},
                }
            ]
        },
    )

    found = adapter.find("item", item())

    assert query_of(mocked.calls[0])["where"] == 'Code=="DRAIN"'
    assert found.remote_id == "a1" and found.data.unit_price == Decimal("125")


def test_it_verifies_the_xero_signature():
    import base64
    import hashlib
    import hmac

    body = b'{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":"X"}'
    good = base64.b64encode(hmac.new(b"key", body, hashlib.sha256).digest()).decode()
    assert XeroAdapter.verify_webhook(body=body, headers={"x-xero-signature": good}, secret="key")
    assert not XeroAdapter.verify_webhook(body=body, headers={"x-xero-signature": "nope"}, secret="key")


def test_it_declares_the_published_limits():
    assert XeroAdapter.batch_sizes["invoice"] == 50 and XeroAdapter.max_in_flight == 5
    assert {(limit.kind, limit.count, limit.seconds) for limit in XeroAdapter.limits} == {("any", 60, 60), ("any", 5000, 86400)}
