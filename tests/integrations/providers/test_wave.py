"""Wave adapter: GraphQL mutations, didSucceed/inputErrors, approving sent invoices, payments."""

import datetime
import json

import pytest

from integrations.providers.base import NotFound, RecordRejected
from integrations.providers.wave import WaveAdapter

from .conftest import COMPANY_IDS, customer, invoice, item, payment, push

URL = "https://gql.waveapps.com/graphql/public"
BUSINESS = COMPANY_IDS["wave"]


def sent(call):
    return json.loads(call.request.body)


def operation(call):
    return sent(call)["query"].split("(")[0].split()[-1]


def ok(field, node, name):
    return {"data": {name: {"didSucceed": True, "inputErrors": [], field: node}}}


def test_it_creates_a_product_with_its_income_account(mocked, make_adapter):
    adapter = make_adapter("wave")
    mocked.post(
        URL, json=ok("product", {"id": "P1", "name": "Drain cleaning", "modifiedAt": "2025-03-01T10:00:00.000Z"}, "productCreate")
    )

    result = adapter.push_one("item", push("item", item(account="QWNjb3VudDox"), 1))

    assert result.ok and result.remote_id == "P1"
    body = sent(mocked.calls[0])
    assert operation(mocked.calls[0]) == "ProductCreate"
    assert body["variables"] == {
        "input": {
            "businessId": BUSINESS,
            "name": "Drain cleaning",
            "description": "Drain cleaning service",
            "unitPrice": "125.00",
            "incomeAccountId": "QWNjb3VudDox",
        }
    }


def test_input_errors_reject_the_record(mocked, make_adapter):
    adapter = make_adapter("wave")
    mocked.post(
        URL,
        json={
            "data": {
                "customerCreate": {
                    "didSucceed": False,
                    "inputErrors": [{"code": "INVALID", "message": "Enter a valid email address.", "path": ["input", "email"]}],
                    "customer": None,
                }
            }
        },
    )

    result = adapter.push_one("customer", push("customer", customer(email="nope"), 1))

    assert isinstance(result.error, RecordRejected)
    assert result.error.message == "Wave rejected customer 'Ada Plumbing': Enter a valid email address."


def test_a_sent_invoice_is_created_then_approved_and_marked_sent(mocked, make_adapter):
    adapter = make_adapter("wave")
    mocked.post(URL, json=ok("invoice", {"id": "I1", "invoiceNumber": "INV-1001", "status": "DRAFT"}, "invoiceCreate"))
    mocked.post(URL, json=ok("invoice", {"id": "I1", "status": "SAVED"}, "invoiceApprove"))
    mocked.post(URL, json=ok("invoice", {"id": "I1", "status": "SENT"}, "invoiceMarkSent"))

    result = adapter.push_one("invoice", push("invoice", invoice(customer_id="C1"), 3))

    assert result.ok and result.remote_id == "I1" and result.remote_number == "INV-1001"
    assert [operation(c) for c in mocked.calls] == ["InvoiceCreate", "InvoiceApprove", "InvoiceMarkSent"]
    create = sent(mocked.calls[0])["variables"]["input"]
    assert create["status"] == "DRAFT" and create["items"] == [
        {"productId": "11", "description": "Drain cleaning", "quantity": "2", "unitPrice": "125.00"}
    ]
    assert sent(mocked.calls[2])["variables"] == {"input": {"invoiceId": "I1", "sendMethod": "MARKED_SENT"}}


def test_a_failed_approval_keeps_the_created_invoice_id(mocked, make_adapter):
    adapter = make_adapter("wave")
    mocked.post(URL, json=ok("invoice", {"id": "I1", "invoiceNumber": "INV-1001", "status": "DRAFT"}, "invoiceCreate"))
    mocked.post(
        URL,
        json={"data": {"invoiceApprove": {"didSucceed": False, "inputErrors": [{"message": "Cannot approve"}], "invoice": None}}},
    )

    result = adapter.push_one("invoice", push("invoice", invoice(customer_id="C1"), 3))

    assert not result.ok and result.remote_id == "I1"
    assert "Cannot approve" in result.error.message


def test_payments_use_invoice_payment_create_manual(mocked, make_adapter):
    adapter = make_adapter("wave")
    mocked.post(
        URL,
        json=ok("invoicePayment", {"id": "PAY1", "amount": "100.00", "paymentDate": "2025-03-05"}, "invoicePaymentCreateManual"),
    )

    result = adapter.push_one("payment", push("payment", payment(invoice_id="I1", deposit="QWNjb3VudDoy"), 4))

    assert result.ok and result.remote_id == "PAY1"
    assert "moneyTransactionCreate" not in sent(mocked.calls[0])["query"]
    assert sent(mocked.calls[0])["variables"]["input"] == {
        "invoiceId": "I1",
        "paymentAccountId": "QWNjb3VudDoy",
        "amount": "100.00",
        "paymentDate": "2025-03-05",
        "paymentMethod": "OTHER",
        "exchangeRate": "1",
        "memo": "CHK-7",
    }


def test_a_payment_without_a_deposit_account_is_refused_before_sending(mocked, make_adapter):
    adapter = make_adapter("wave")

    result = adapter.push_one("payment", push("payment", payment(deposit=""), 4))

    assert "deposited" in result.error.message and len(mocked.calls) == 0


def test_graphql_not_found_is_not_found(mocked, make_adapter):
    adapter = make_adapter("wave")
    mocked.post(
        URL,
        json={
            "errors": [{"message": "Customer not found", "extensions": {"code": "NOT_FOUND"}}],
            "data": {"customerPatch": None},
        },
    )

    result = adapter.push_one("customer", push("customer", customer(), 1, remote_id="C9"))

    assert isinstance(result.error, NotFound)


def test_an_unauthenticated_graphql_answer_refreshes_the_token_once(mocked, make_adapter):
    adapter = make_adapter("wave")
    mocked.post(URL, json={"errors": [{"message": "Unauthorized", "extensions": {"code": "UNAUTHENTICATED"}}]})
    mocked.post(URL, json={"data": {"business": {"id": BUSINESS, "name": "Ada Plumbing", "currency": {"code": "USD"}}}})

    assert adapter.company().name == "Ada Plumbing"
    assert adapter.tokens.refreshes == 1


def test_changed_filters_by_modified_at_and_pages(mocked, make_adapter):
    adapter = make_adapter("wave")

    def page(number, total):
        node = {
            "id": f"C{number}",
            "name": f"Customer {number}",
            "modifiedAt": "2025-03-02T10:00:00.000Z",
            "isArchived": False,
            "address": None,
        }
        return {
            "data": {
                "business": {"customers": {"pageInfo": {"currentPage": number, "totalPages": total}, "edges": [{"node": node}]}}
            }
        }

    mocked.post(URL, json=page(1, 2))
    mocked.post(URL, json=page(2, 2))

    records = list(adapter.changed("customer", datetime.datetime(2025, 3, 1, tzinfo=datetime.UTC)))

    variables = [sent(c)["variables"] for c in mocked.calls]
    assert [v["page"] for v in variables] == [1, 2]
    assert variables[0]["modifiedAtAfter"] == "2025-03-01T00:00:00.000Z"
    assert [r.data.display_name for r in records] == ["Customer 1", "Customer 2"]
    assert records[0].updated_at == datetime.datetime(2025, 3, 2, 10, tzinfo=datetime.UTC)


def account_page(number, total, *nodes):
    connection = {"pageInfo": {"currentPage": number, "totalPages": total}, "edges": [{"node": node} for node in nodes]}
    return {"data": {"business": {"accounts": connection}}}


def account(id, name, display_id, *, archived=False):
    return {"id": id, "name": name, "displayId": display_id, "isArchived": archived, "subtype": {"value": "CASH_AND_BANK"}}


def test_bank_accounts_ask_for_cash_and_bank_accounts_page_by_page(mocked, make_adapter):
    adapter = make_adapter("wave")
    mocked.post(URL, json=account_page(1, 2, account("QWNjb3VudDo1", "Cash on Hand", None)))
    mocked.post(URL, json=account_page(2, 2, account("QWNjb3VudDo2", "Business Checking", "1010")))

    accounts = adapter.bank_accounts()

    assert [(a.remote_id, a.name, a.code) for a in accounts] == [
        ("QWNjb3VudDo1", "Cash on Hand", ""),
        ("QWNjb3VudDo2", "Business Checking", "1010"),
    ]
    assert [operation(c) for c in mocked.calls] == ["BankAccounts", "BankAccounts"]
    assert "subtypes: [CASH_AND_BANK]" in sent(mocked.calls[0])["query"]
    assert [sent(c)["variables"] for c in mocked.calls] == [{"businessId": BUSINESS, "page": p} for p in (1, 2)]


def test_an_archived_bank_account_is_not_offered(mocked, make_adapter):
    adapter = make_adapter("wave")
    mocked.post(
        URL,
        json=account_page(
            1, 1, account("QWNjb3VudDo3", "Closed Account", "1020", archived=True), account("QWNjb3VudDo1", "Cash on Hand", None)
        ),
    )

    assert [a.name for a in adapter.bank_accounts()] == ["Cash on Hand"]


def test_wave_has_no_webhooks_to_verify():
    assert WaveAdapter.verify_webhook(body=b"{}", headers={}, secret="x") is False


@pytest.mark.parametrize("kind", ["customer", "item", "invoice", "payment"])
def test_wave_pushes_one_record_per_request(kind):
    assert WaveAdapter.batch_sizes.get(kind, 1) == 1
