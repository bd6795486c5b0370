"""FreshBooks adapter: wrappers, envelopes, errors in 200 bodies, paging, the SDK fixtures."""

import datetime
import json
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from integrations.providers.base import MalformedResponse, NotFound, RecordRejected
from integrations.providers.freshbooks import FreshBooksAdapter, freshbooks_errors, parse_record, result_of

from .conftest import COMPANY_IDS, customer, invoice, item, payment, push

BASE = f"https://api.freshbooks.com/accounting/account/{COMPANY_IDS['freshbooks']}"
FIXTURES = Path(__file__).resolve().parents[3] / "integrations" / "contracts" / "freshbooks"


def fixture(name):
    return json.loads((FIXTURES / name).read_text())


def query_of(call):
    return {k: v[0] for k, v in parse_qs(urlparse(call.request.url).query).items()}


def sent(call):
    return json.loads(call.request.body)


def test_it_creates_a_client_wrapped_and_reads_the_envelope(mocked, make_adapter):
    adapter = make_adapter("freshbooks")
    mocked.post(f"{BASE}/users/clients", json=fixture("java-sdk-fixtures/get_client_response.json"))

    result = adapter.push_one("customer", push("customer", customer("Gordon Shumway", company="American Cyanamid"), 1))

    assert result.ok and result.remote_id == "12345"
    body = sent(mocked.calls[0])["client"]
    assert (body["organization"], body["fname"], body["lname"], body["email"]) == (
        "American Cyanamid",
        "Gordon",
        "Shumway",
        "ada@example.com",
    )
    assert adapter.stats.requests == 1 and adapter.stats.batches == 0


def test_an_error_in_a_200_body_rejects_the_record(mocked, make_adapter):
    adapter = make_adapter("freshbooks")
    mocked.post(
        f"{BASE}/items/items",
        json={
            "response": {
                "errors": [{"errno": 2001, "field": "name", "message": "Name must not be empty.", "object": "item", "value": ""}]
            }
        },
    )

    result = adapter.push_one("item", push("item", item("Pipe"), 1))

    assert isinstance(result.error, RecordRejected)
    assert result.error.message == "FreshBooks rejected item 'Pipe': Name must not be empty."


def test_a_404_in_the_new_error_shape_is_not_found(mocked, make_adapter):
    adapter = make_adapter("freshbooks")
    mocked.put(
        f"{BASE}/users/clients/12345", status=404, json=fixture("java-sdk-fixtures/get_client_response__not_found_new.json")
    )

    result = adapter.push_one("customer", push("customer", customer(), 1, remote_id="12345"))

    assert isinstance(result.error, NotFound)
    assert "Client not found." in result.error.message


def test_it_shapes_invoices_and_payments_with_money_objects(mocked, make_adapter):
    adapter = make_adapter("freshbooks")
    mocked.post(f"{BASE}/invoices/invoices", json=fixture("java-sdk-fixtures/get_invoice_response.json"))
    mocked.post(f"{BASE}/payments/payments", json=fixture("java-sdk-fixtures/get_payment_response.json"))

    invoice_result = adapter.push_one("invoice", push("invoice", invoice(customer_id="12345"), 3))
    payment_result = adapter.push_one("payment", push("payment", payment(invoice_id="987654"), 4))

    body = sent(mocked.calls[0])["invoice"]
    assert body["customerid"] == 12345 and body["create_date"] == "2025-03-01" and body["due_offset_days"] == 30
    assert body["lines"] == [
        {
            "type": 0,
            "name": "DRAIN",
            "description": "Drain cleaning",
            "qty": "2",
            "unit_cost": {"amount": "125.00", "code": "USD"},
        }
    ]
    assert body["action_mark_as_sent"] is True
    assert (invoice_result.remote_id, invoice_result.remote_number) == ("987654", "ACM0002")
    assert sent(mocked.calls[1]) == {
        "payment": {"invoiceid": 987654, "amount": {"amount": "100.00"}, "date": "2025-03-05", "type": "Other", "note": "CHK-7"}
    }
    assert payment_result.remote_id == "235435"


def test_changed_asks_from_a_day_earlier_and_pages_at_100(mocked, make_adapter):
    adapter = make_adapter("freshbooks")
    page = fixture("java-sdk-fixtures/list_items_response.json")
    page["response"]["result"].update({"page": 1, "pages": 2})
    second = json.loads(json.dumps(page))
    second["response"]["result"]["page"] = 2
    mocked.get(f"{BASE}/items/items", json=page)
    mocked.get(f"{BASE}/items/items", json=second)

    records = list(adapter.changed("item", datetime.datetime(2025, 3, 2, 3, 0, tzinfo=datetime.UTC)))

    first_params = query_of(mocked.calls[0])
    # 03:00 UTC on 2 March is 1 March in US/Eastern; a day earlier is 28 February.
    assert first_params["search[updated_min]"] == "2025-02-28"
    assert first_params["per_page"] == "100"
    assert [query_of(c)["page"] for c in mocked.calls] == ["1", "2"]
    assert records[0].data.name == "A Cheap Item" and records[0].data.unit_price == Decimal("1.00")
    assert records[0].updated_at == datetime.datetime(2021, 6, 13, 14, 45, 20, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("name", "kind", "wrapper"),
    [
        ("java-sdk-fixtures/get_client_response.json", "customer", "client"),
        ("python-sdk-fixtures/get_client_response.json", "customer", "client"),
        ("java-sdk-fixtures/get_item_response.json", "item", "item"),
        ("java-sdk-fixtures/get_invoice_response.json", "invoice", "invoice"),
        ("java-sdk-fixtures/get_payment_response.json", "payment", "payment"),
    ],
)
def test_it_parses_the_sdk_fixtures(name, kind, wrapper):
    row = result_of(fixture(name))[wrapper]
    record = parse_record(kind, row)
    assert record.remote_id and record.data is not None
    assert record.updated_at is None or record.updated_at.tzinfo is not None


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("java-sdk-fixtures/list_clients_response.json", "clients"),
        ("python-sdk-fixtures/list_clients_response.json", "clients"),
        ("java-sdk-fixtures/list_items_response.json", "items"),
        ("java-sdk-fixtures/list_invoices_response.json", "invoices"),
        ("java-sdk-fixtures/list_payments_response.json", "payments"),
    ],
)
def test_it_parses_the_sdk_list_fixtures(name, kind):
    result = result_of(fixture(name))
    singular = {"clients": "customer", "items": "item", "invoices": "invoice", "payments": "payment"}[kind]
    records = [parse_record(singular, row) for row in result[kind]]
    assert records and all(r.remote_id for r in records)
    assert {"page", "pages", "per_page", "total"} <= set(result)


@pytest.mark.parametrize(
    "name",
    [
        "java-sdk-fixtures/get_client_response__not_found_old.json",
        "java-sdk-fixtures/get_client_response__not_found_new.json",
        "java-sdk-fixtures/get_client_response__no_auth.json",
        "python-sdk-fixtures/create_ledger_account_response__validation_errors.json",
        "python-sdk-fixtures/create_callback_response__validation_error.json",
        "python-sdk-fixtures/get_client_response__not_found.json",
    ],
)
def test_it_reads_every_sdk_error_shape(name):
    errors = freshbooks_errors(fixture(name))
    assert errors and all(e["message"] for e in errors)


def test_an_answer_without_a_result_is_malformed():
    with pytest.raises(MalformedResponse):
        result_of({"response": {}})


def test_the_sdk_identity_fixture_lists_businesses():
    businesses = FreshBooksAdapter.businesses(fixture("python-sdk-fixtures/auth_me_response.json"))
    assert businesses and all(b.id for b in businesses)


def test_it_needs_no_income_account_and_verifies_its_signature():
    import base64
    import hashlib
    import hmac

    assert FreshBooksAdapter.requires_income_account is False
    body = b"name=invoice.create&object_id=1&account_id=ACM123"
    good = base64.b64encode(hmac.new(b"verifier", body, hashlib.sha256).digest()).decode()
    assert FreshBooksAdapter.verify_webhook(body=body, headers={"X-FreshBooks-Hmac-SHA256": good}, secret="verifier")
    assert not FreshBooksAdapter.verify_webhook(body=body, headers={"X-FreshBooks-Hmac-SHA256": good}, secret="other")


CALLBACK = f"https://api.freshbooks.com/events/account/{COMPANY_IDS['freshbooks']}/events/callbacks/2001"


def test_confirming_a_webhook_sends_the_verifier_back_to_its_callback(mocked, make_adapter):
    adapter = make_adapter("freshbooks")
    mocked.put(
        CALLBACK,
        json={"response": {"result": {"callback": {"callbackid": 2001, "event": "invoice.create", "verified": True}}}},
    )

    adapter.confirm_webhook(callback_id="2001", verifier="scADVVi5QuKuj5qTjVkbJNYQe7V7USpGd")

    [call] = mocked.calls
    assert call.request.method == "PUT"
    assert sent(call) == {"callback": {"verifier": "scADVVi5QuKuj5qTjVkbJNYQe7V7USpGd"}}
    assert call.request.headers["Authorization"].startswith("Bearer ")


def test_a_refused_verifier_is_a_rejection(mocked, make_adapter):
    adapter = make_adapter("freshbooks")
    mocked.put(CALLBACK, json={"response": {"errors": [{"errno": 2001, "field": "verifier", "message": "Invalid verifier."}]}})

    with pytest.raises(RecordRejected, match="Invalid verifier"):
        adapter.confirm_webhook(callback_id="2001", verifier="wrong")


def test_a_callback_left_unverified_is_a_rejection(mocked, make_adapter):
    adapter = make_adapter("freshbooks")
    mocked.put(CALLBACK, json={"response": {"result": {"callback": {"callbackid": 2001, "verified": False}}}})

    with pytest.raises(RecordRejected, match="did not accept"):
        adapter.confirm_webhook(callback_id="2001", verifier="stale")


def test_a_callback_that_is_gone_is_not_found(mocked, make_adapter):
    adapter = make_adapter("freshbooks")
    mocked.put(CALLBACK, status=404, json={"response": {"errors": [{"errno": 1012, "message": "Callback not found."}]}})

    with pytest.raises(NotFound):
        adapter.confirm_webhook(callback_id="2001", verifier="x")
