"""QuickBooks adapter: shapes sent, per-record faults, batch failures, throttling."""

import datetime
import json
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from integrations.providers.base import (
    BatchFailed,
    DuplicateName,
    MalformedResponse,
    NotFound,
    RateLimited,
    RecordRejected,
    StaleVersion,
    UncertainOutcome,
)
from integrations.providers.quickbooks import QuickBooksAdapter

from .conftest import COMPANY_IDS, customer, invoice, item, payment, push

BASE = f"https://quickbooks.api.intuit.com/v3/company/{COMPANY_IDS['quickbooks']}"
THROTTLED_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><IntuitResponse xmlns="http://schema.intuit.com/finance/v3" '
    'time="2025-03-01T10:00:00.000-08:00"><Fault type="SERVICE"><Error code="3001"><Message>message=ThrottleExceeded; '
    "errorCode=003001; statusCode=429</Message><Detail>The request limit was reached.</Detail></Error></Fault></IntuitResponse>"
)


def query_of(call):
    return {k: v[0] for k, v in parse_qs(urlparse(call.request.url).query).items()}


def sent(call):
    return json.loads(call.request.body)


def batch_answer(*entries):
    return {"BatchItemResponse": list(entries), "time": "2025-03-01T10:00:00.000-08:00"}


def test_it_sends_a_batch_with_bids_minorversion_and_a_hashed_requestid(mocked, make_adapter):
    adapter = make_adapter("quickbooks")
    mocked.post(
        f"{BASE}/batch",
        json=batch_answer(
            {"bId": "1", "Item": {"Id": "11", "SyncToken": "0", "Name": "Drain cleaning"}},
            {"bId": "2", "Item": {"Id": "12", "SyncToken": "4", "Name": "Pipe"}},
        ),
    )
    requests_ = [push("item", item(), 1), push("item", item("Pipe", code="PIPE"), 2, remote_id="12", version="3")]

    results = adapter.push_batch("item", requests_)

    call = mocked.calls[0]
    params = query_of(call)
    assert params["minorversion"] == "75"
    assert len(params["requestid"]) <= 36
    body = sent(call)["BatchItemRequest"]
    assert [(op["bId"], op["operation"]) for op in body] == [("1", "create"), ("2", "update")]
    assert all(len(op["bId"]) <= 10 for op in body)
    assert body[0]["Item"] == {
        "Name": "Drain cleaning",
        "Type": "Service",
        "Description": "Drain cleaning service",
        "UnitPrice": 125.0,
        "Active": True,
        "IncomeAccountRef": {"value": "79"},
        "Sku": "DRAIN",
    }
    assert body[1]["Item"]["Id"] == "12" and body[1]["Item"]["SyncToken"] == "3" and body[1]["Item"]["sparse"] is True
    assert [(r.ok, r.remote_id, r.remote_version) for r in results] == [(True, "11", "0"), (True, "12", "4")]
    assert adapter.stats.batches == 1 and adapter.throttle.slots == ["batch"]


def test_the_same_batch_gets_the_same_requestid(mocked, make_adapter):
    adapter = make_adapter("quickbooks")
    mocked.post(f"{BASE}/batch", json=batch_answer({"bId": "1", "Item": {"Id": "11", "SyncToken": "0"}}))
    adapter.push_batch("item", [push("item", item(), 1)])
    adapter.push_batch("item", [push("item", item(), 1)])
    adapter.push_batch("item", [push("item", item(), 2)])

    ids = [query_of(c)["requestid"] for c in mocked.calls]
    assert ids[0] == ids[1] != ids[2]


def test_it_maps_each_fault_in_a_batch_to_its_record(mocked, make_adapter):
    adapter = make_adapter("quickbooks")

    def fault(code, message, detail):
        return {"Error": [{"Message": message, "Detail": detail, "code": code}], "type": "ValidationFault"}

    mocked.post(
        f"{BASE}/batch",
        json=batch_answer(
            {"bId": "1", "Item": {"Id": "11", "SyncToken": "0"}},
            {
                "bId": "2",
                "Fault": fault("6240", "Duplicate Name Exists Error", "The name supplied already exists. : Another product"),
            },
            {
                "bId": "3",
                "Fault": fault(
                    "5010", "Stale Object Error", "Stale Object Error : You and root were working on this at the same time."
                ),
            },
            {"bId": "4", "Fault": fault("610", "Object Not Found", "Another user has deleted this transaction.")},
            {"bId": "5", "Fault": fault("2050", "Invalid value", "Amount is not valid")},
        ),
    )
    names = ["Ok", "Twice", "Stale", "Gone", "Odd"]
    requests_ = [
        push("item", item(n, code=n), i + 1, remote_id="9" if n in ("Stale", "Gone") else None) for i, n in enumerate(names)
    ]

    results = adapter.push_batch("item", requests_)

    assert results[0].ok
    assert [type(r.error) for r in results[1:]] == [DuplicateName, StaleVersion, NotFound, RecordRejected]
    assert (
        results[1].error.message == "QuickBooks rejected item 'Twice': the name is already used by another record in QuickBooks"
    )
    assert results[4].error.message == "QuickBooks rejected item 'Odd': Invalid value: Amount is not valid"
    assert results[2].error.permanent is False
    assert all(r.request is not None for r in results)


def test_it_refuses_a_name_with_a_colon_before_sending_and_sends_the_rest(mocked, make_adapter):
    adapter = make_adapter("quickbooks")
    mocked.post(f"{BASE}/batch", json=batch_answer({"bId": "1", "Item": {"Id": "12", "SyncToken": "0"}}))

    results = adapter.push_batch("item", [push("item", item("Drain: Main line"), 1), push("item", item("Pipe"), 2)])

    assert results[0].error.message == "QuickBooks rejected item 'Drain: Main line': names cannot contain ':'"
    assert results[0].error.permanent
    assert results[1].ok and results[1].remote_id == "12"
    assert [op["Item"]["Name"] for op in sent(mocked.calls[0])["BatchItemRequest"]] == ["Pipe"]


def test_it_sends_nothing_when_every_record_is_refused(mocked, make_adapter):
    adapter = make_adapter("quickbooks")
    results = adapter.push_batch("item", [push("item", item("x" * 101), 1), push("item", item("Tab\there"), 2)])

    assert "at most 100 characters" in results[0].error.message
    assert "cannot contain a tab" in results[1].error.message
    assert len(mocked.calls) == 0


@pytest.mark.parametrize(
    ("answer", "cause"),
    [
        ({"status": 500, "body": "Internal error"}, "TransientError"),
        ({"status": 200, "body": "<html><body>Bad gateway</body></html>", "content_type": "text/html"}, "MalformedResponse"),
        ({"body": requests.exceptions.ReadTimeout("timed out")}, "UncertainOutcome"),
        (
            {
                "status": 400,
                "json": {"Fault": {"Error": [{"Message": "Batch too large", "code": "1040"}], "type": "ValidationFault"}},
            },
            "RecordRejected",
        ),
        ({"status": 200, "json": {"time": "now"}}, "MalformedResponse"),
    ],
)
def test_a_failure_of_the_whole_batch_raises_batch_failed(mocked, make_adapter, answer, cause):
    adapter = make_adapter("quickbooks")
    mocked.post(f"{BASE}/batch", **answer)

    with pytest.raises(BatchFailed) as caught:
        adapter.push_batch("item", [push("item", item(), 1), push("item", item("Pipe"), 2)])

    assert type(caught.value.cause).__name__ == cause


def test_an_auth_error_that_survives_a_refresh_fails_the_batch(mocked, make_adapter):
    adapter = make_adapter("quickbooks")
    mocked.post(f"{BASE}/batch", status=401, json={"fault": {"error": [{"message": "AuthenticationFailed", "code": "3200"}]}})

    with pytest.raises(BatchFailed) as caught:
        adapter.push_batch("item", [push("item", item(), 1)])

    assert caught.value.cause.permanent is True
    assert adapter.tokens.refreshes == 1


def test_it_parses_the_xml_throttle_answer_and_waits_60_seconds(mocked, make_adapter):
    adapter = make_adapter("quickbooks")
    mocked.post(f"{BASE}/batch", status=429, body=THROTTLED_XML, content_type="application/xml")

    with pytest.raises(RateLimited) as caught:
        adapter.push_batch("item", [push("item", item(), 1)])

    assert caught.value.retry_after == 60.0
    assert adapter.throttle.penalties == [60.0]
    assert adapter.stats.throttled == 1


def test_it_honours_retry_after_on_a_json_429(mocked, make_adapter):
    adapter = make_adapter("quickbooks")
    mocked.post(
        f"{BASE}/item",
        status=429,
        json={"fault": {"error": [{"message": "ThrottleExceeded", "code": "3001"}]}},
        headers={"Retry-After": "7"},
    )

    with pytest.raises(RateLimited) as caught:
        adapter.push_one("item", push("item", item(), 1))

    assert caught.value.retry_after == 7.0


def test_an_old_style_403_throttle_is_a_429_too(mocked, make_adapter):
    adapter = make_adapter("quickbooks")
    mocked.post(
        f"{BASE}/item", status=403, body=THROTTLED_XML.replace("statusCode=429", "statusCode=403"), content_type="text/xml"
    )

    with pytest.raises(RateLimited):
        adapter.push_one("item", push("item", item(), 1))


def test_push_one_sends_its_own_requestid_and_reads_a_fault_in_a_400(mocked, make_adapter):
    adapter = make_adapter("quickbooks")
    mocked.post(
        f"{BASE}/customer",
        status=400,
        json={
            "Fault": {
                "Error": [
                    {"Message": "Duplicate Name Exists Error", "Detail": "The name supplied already exists.", "code": "6240"}
                ],
                "type": "ValidationFault",
            }
        },
    )
    key = "k" * 70

    result = adapter.push_one("customer", push("customer", customer(), 5, key=key))

    params = query_of(mocked.calls[0])
    assert len(params["requestid"]) == 50 and params["minorversion"] == "75"
    assert isinstance(result.error, DuplicateName)
    assert result.error.message.startswith("QuickBooks rejected customer 'Ada Plumbing'")
    assert sent(mocked.calls[0]) == {
        "DisplayName": "Ada Plumbing",
        "Active": True,
        "CompanyName": "Ada Plumbing LLC",
        "PrimaryEmailAddr": {"Address": "ada@example.com"},
        "PrimaryPhone": {"FreeFormNumber": "555-0100"},
        "BillAddr": {
            "Line1": "1 Main St",
            "City": "Springfield",
            "CountrySubDivisionCode": "IL",
            "PostalCode": "62701",
            "Country": "US",
        },
    }


def test_it_shapes_invoices_and_payments(mocked, make_adapter):
    adapter = make_adapter("quickbooks")
    mocked.post(f"{BASE}/invoice", json={"Invoice": {"Id": "130", "SyncToken": "0", "DocNumber": "INV-1001"}})
    mocked.post(f"{BASE}/payment", json={"Payment": {"Id": "140", "SyncToken": "0"}})

    invoice_result = adapter.push_one("invoice", push("invoice", invoice(), 3))
    payment_result = adapter.push_one("payment", push("payment", payment(), 4))

    assert invoice_result.ok and invoice_result.remote_number == "INV-1001"
    assert sent(mocked.calls[0]) == {
        "CustomerRef": {"value": "58"},
        "DocNumber": "INV-1001",
        "TxnDate": "2025-03-01",
        "DueDate": "2025-03-31",
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": 250.0,
                "Description": "Drain cleaning",
                "SalesItemLineDetail": {"ItemRef": {"value": "11"}, "Qty": 2.0, "UnitPrice": 125.0},
            }
        ],
    }
    assert payment_result.ok and payment_result.remote_id == "140"
    assert sent(mocked.calls[1]) == {
        "CustomerRef": {"value": "58"},
        "TotalAmt": 100.0,
        "TxnDate": "2025-03-05",
        "Line": [{"Amount": 100.0, "LinkedTxn": [{"TxnId": "130", "TxnType": "Invoice"}]}],
        "PaymentRefNum": "CHK-7",
        "DepositToAccountRef": {"value": "090"},
    }


def test_a_timeout_on_a_single_write_is_uncertain(mocked, make_adapter):
    adapter = make_adapter("quickbooks")
    mocked.post(f"{BASE}/item", body=requests.exceptions.ReadTimeout())

    with pytest.raises(UncertainOutcome):
        adapter.push_one("item", push("item", item(), 1))


def test_a_missing_answer_for_one_record_fails_only_that_record(mocked, make_adapter):
    adapter = make_adapter("quickbooks")
    mocked.post(f"{BASE}/batch", json=batch_answer({"bId": "1", "Item": {"Id": "11", "SyncToken": "0"}}))

    results = adapter.push_batch("item", [push("item", item(), 1), push("item", item("Pipe"), 2)])

    assert results[0].ok
    assert isinstance(results[1].error, MalformedResponse)


def test_it_finds_by_name_with_quotes_escaped(mocked, make_adapter):
    adapter = make_adapter("quickbooks")
    mocked.get(
        f"{BASE}/query", json={"QueryResponse": {"Customer": [{"Id": "58", "SyncToken": "2", "DisplayName": "O'Brien Heating"}]}}
    )

    found = adapter.find("customer", customer("O'Brien Heating"))

    assert query_of(mocked.calls[0])["query"] == "select * from Customer where DisplayName = 'O\\'Brien Heating'"
    assert (found.remote_id, found.version, found.data.display_name) == ("58", "2", "O'Brien Heating")


def test_find_answers_none_when_nothing_matches(mocked, make_adapter):
    adapter = make_adapter("quickbooks")
    mocked.get(f"{BASE}/query", json={"QueryResponse": {}})

    assert adapter.find("invoice", invoice()) is None


def test_changed_reads_change_data_capture_with_deletions(mocked, make_adapter):
    adapter = make_adapter("quickbooks")
    mocked.get(
        f"{BASE}/cdc",
        json={
            "CDCResponse": [
                {
                    "QueryResponse": [
                        {
                            "Invoice": [
                                {
                                    "Id": "130",
                                    "SyncToken": "3",
                                    "DocNumber": "INV-1001",
                                    "TxnDate": "2025-03-01",
                                    "DueDate": "2025-03-31",
                                    "CustomerRef": {"value": "58"},
                                    "TotalAmt": 250,
                                    "Balance": 0,
                                    "Line": [
                                        {
                                            "DetailType": "SalesItemLineDetail",
                                            "Amount": 250,
                                            "SalesItemLineDetail": {"ItemRef": {"value": "11"}, "Qty": 2, "UnitPrice": 125},
                                        },
                                        {"DetailType": "SubTotalLineDetail", "Amount": 250},
                                    ],
                                    "MetaData": {"LastUpdatedTime": "2025-03-06T10:00:00-08:00"},
                                },
                                {"Id": "131", "status": "Deleted", "MetaData": {"LastUpdatedTime": "2025-03-06T11:00:00-08:00"}},
                            ]
                        }
                    ]
                }
            ]
        },
    )
    since = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)

    records = list(adapter.changed("invoice", since))

    params = query_of(mocked.calls[0])
    assert params["entities"] == "Invoice" and params["changedSince"].endswith("Z")
    assert (
        records[0].data.status == "PAID" and records[0].data.lines[0].item_remote_id == "11" and len(records[0].data.lines) == 1
    )
    assert records[0].updated_at == datetime.datetime(2025, 3, 6, 18, 0, tzinfo=datetime.UTC)
    assert records[1].deleted and records[1].remote_id == "131"


def test_changed_without_a_cursor_pages_through_a_query(mocked, make_adapter):
    adapter = make_adapter("quickbooks")
    first = [{"Id": str(i), "Name": f"Item {i}", "Type": "Service"} for i in range(1000)]
    mocked.get(f"{BASE}/query", json={"QueryResponse": {"Item": first}})
    mocked.get(f"{BASE}/query", json={"QueryResponse": {"Item": [{"Id": "1000", "Name": "Last", "Type": "NonInventory"}]}})

    records = list(adapter.changed("item", None))

    assert len(records) == 1001 and records[-1].data.kind == "product"
    assert "startposition 1001" in query_of(mocked.calls[1])["query"]


def test_income_accounts_come_from_an_account_query(mocked, make_adapter):
    adapter = make_adapter("quickbooks")
    mocked.get(
        f"{BASE}/query",
        json={
            "QueryResponse": {
                "Account": [
                    {
                        "Id": "79",
                        "Name": "Services",
                        "FullyQualifiedName": "Income:Services",
                        "AccountType": "Income",
                        "Active": True,
                    }
                ]
            }
        },
    )

    accounts = adapter.income_accounts()

    assert "AccountType = 'Income'" in query_of(mocked.calls[0])["query"]
    assert [(a.remote_id, a.name) for a in accounts] == [("79", "Income:Services")]


def test_it_verifies_the_intuit_signature():
    body = b'{"eventNotifications": []}'
    import base64
    import hashlib
    import hmac

    good = base64.b64encode(hmac.new(b"verifier", body, hashlib.sha256).digest()).decode()
    assert QuickBooksAdapter.verify_webhook(body=body, headers={"intuit-signature": good}, secret="verifier")
    assert QuickBooksAdapter.verify_webhook(body=body, headers={"Intuit-Signature": good}, secret="verifier")
    assert not QuickBooksAdapter.verify_webhook(body=body + b" ", headers={"intuit-signature": good}, secret="verifier")
    assert not QuickBooksAdapter.verify_webhook(body=body, headers={}, secret="verifier")


def test_it_declares_the_published_limits():
    assert QuickBooksAdapter.batch_sizes["item"] == 30
    assert QuickBooksAdapter.max_in_flight == 10
    assert {(limit.kind, limit.count, limit.seconds) for limit in QuickBooksAdapter.limits} == {
        ("batch", 40, 60),
        ("any", 500, 60),
        ("any", 10, 1),
    }
