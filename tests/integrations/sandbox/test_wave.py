"""The Wave sandbox over real HTTP: GraphQL against the copied public schema, rules, faults, control.

Every document sent here is first validated against integrations/contracts/wave/wave-public-schema.graphql,
the way the project's Wave adapter must validate its own (except the ones meant to be invalid).
"""

import pytest
import requests
from graphql import parse, validate

from integrations.sandbox.wave.schema import wave_schema

pytestmark = pytest.mark.django_db(transaction=True)

BUSINESSES = "query { businesses(page: 1, pageSize: 10) { edges { node { id name currency { code } } } pageInfo { currentPage totalPages totalCount } } }"
ACCOUNTS = """query($businessId: ID!, $subtypes: [AccountSubtypeValue!]) {
  business(id: $businessId) { accounts(subtypes: $subtypes) { edges { node { id name subtype { value } type { value } } } } }
}"""
CUSTOMER_CREATE = """mutation($input: CustomerCreateInput!) {
  customerCreate(input: $input) { didSucceed inputErrors { code message path } customer { id name email modifiedAt } }
}"""
CUSTOMER_PATCH = """mutation($input: CustomerPatchInput!) {
  customerPatch(input: $input) { didSucceed inputErrors { code message path } customer { id name email } }
}"""
CUSTOMERS = """query($businessId: ID!, $page: Int!, $pageSize: Int!, $after: DateTime) {
  business(id: $businessId) {
    customers(page: $page, pageSize: $pageSize, modifiedAtAfter: $after, sort: [NAME_ASC]) {
      pageInfo { currentPage totalPages totalCount }
      edges { node { id name email modifiedAt } }
    }
  }
}"""
PRODUCT_CREATE = """mutation($input: ProductCreateInput!) {
  productCreate(input: $input) { didSucceed inputErrors { code message path } product { id name unitPrice incomeAccount { id name } } }
}"""
PRODUCT_PATCH = """mutation($input: ProductPatchInput!) {
  productPatch(input: $input) { didSucceed inputErrors { code message path } product { id name unitPrice incomeAccount { id } } }
}"""
INVOICE_CREATE = """mutation($input: InvoiceCreateInput!) {
  invoiceCreate(input: $input) {
    didSucceed inputErrors { code message path }
    invoice { id invoiceNumber status total { value } amountDue { value } items { product { id } quantity unitPrice total { value } } }
  }
}"""
INVOICE_APPROVE = "mutation($input: InvoiceApproveInput!) { invoiceApprove(input: $input) { didSucceed inputErrors { code message path } invoice { id status } } }"
INVOICE_MARK_SENT = "mutation($input: InvoiceMarkSentInput!) { invoiceMarkSent(input: $input) { didSucceed inputErrors { code message path } invoice { id status lastSentVia } } }"
PAYMENT_CREATE = """mutation($input: InvoicePaymentCreateManualInput!) {
  invoicePaymentCreateManual(input: $input) {
    didSucceed inputErrors { code message path }
    invoicePayment { id amount paymentDate invoice { status amountDue { value } amountPaid { value } } }
  }
}"""
INVOICES = """query($businessId: ID!) {
  business(id: $businessId) {
    invoices(page: 1, pageSize: 20) {
      pageInfo { totalCount }
      edges { node { id invoiceNumber status amountPaid { value } amountDue { value } payments { id amount } } }
    }
  }
}"""


class Wave:
    """A bookkeeper's session against the sandbox's Wave, documents checked against the schema."""

    def __init__(self, base, token):
        self.base = base
        self.url = f"{base}/sandbox/wave/graphql/public"
        self.token = token

    def post(self, query, variables=None, *, check=True, token=None):
        if check:
            assert validate(wave_schema(), parse(query)) == [], query
        return requests.post(
            self.url,
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {token or self.token}"},
            timeout=30,
        )

    def data(self, query, variables=None):
        answer = self.post(query, variables)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert "errors" not in body, body
        return body["data"]


def control(base, method="get", **body):
    answer = getattr(requests, method)(f"{base}/sandbox/wave/_control", json=body or None, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture
def wave(live_server, settings):
    settings.SITE_URL = live_server.url
    minted = control(live_server.url, "post", mint_token=True)
    return Wave(live_server.url, minted["access_token"])


@pytest.fixture
def business(wave):
    node = wave.data(BUSINESSES)["businesses"]["edges"][0]["node"]
    accounts = wave.data(ACCOUNTS, {"businessId": node["id"]})["business"]["accounts"]["edges"]
    by_subtype = {}
    for edge in accounts:
        by_subtype.setdefault(edge["node"]["subtype"]["value"], []).append(edge["node"])
    return {"id": node["id"], "income": by_subtype["INCOME"], "bank": by_subtype["CASH_AND_BANK"][0]}


def create_customer(wave, business, name="Ada Plumbing", **extra):
    body = wave.data(CUSTOMER_CREATE, {"input": {"businessId": business["id"], "name": name, **extra}})
    return body["customerCreate"]


def create_product(wave, business, name="Pipe fitting", price="12.50"):
    income = business["income"][0]["id"]
    body = wave.data(
        PRODUCT_CREATE, {"input": {"businessId": business["id"], "name": name, "unitPrice": price, "incomeAccountId": income}}
    )
    return body["productCreate"]["product"]


def sent_invoice(wave, business, quantity="2"):
    customer = create_customer(wave, business)["customer"]
    product = create_product(wave, business)
    invoice = wave.data(
        INVOICE_CREATE,
        {
            "input": {
                "businessId": business["id"],
                "customerId": customer["id"],
                "items": [{"productId": product["id"], "quantity": quantity}],
            }
        },
    )["invoiceCreate"]["invoice"]
    wave.data(INVOICE_APPROVE, {"input": {"invoiceId": invoice["id"]}})
    wave.data(INVOICE_MARK_SENT, {"input": {"invoiceId": invoice["id"], "sendMethod": "MARKED_SENT"}})
    return invoice


def test_it_lists_the_tokens_business_with_several_named_income_accounts(wave, business):
    page = wave.data(BUSINESSES)["businesses"]
    assert page["pageInfo"] == {"currentPage": 1, "totalPages": 1, "totalCount": 1}
    assert page["edges"][0]["node"]["currency"]["code"] == "USD"
    income = wave.data(ACCOUNTS, {"businessId": business["id"], "subtypes": ["INCOME"]})["business"]["accounts"]["edges"]
    names = {edge["node"]["name"] for edge in income}
    assert len(names) >= 3 and "Sales" in names
    assert {edge["node"]["type"]["value"] for edge in income} == {"INCOME"}


def test_it_creates_patches_and_pages_customers(wave, business):
    first = create_customer(wave, business, name="Zed Heating", email="zed@example.com")
    assert first["didSucceed"] is True and first["inputErrors"] == []
    for name in ("Ann Roofing", "Bob Electric"):
        create_customer(wave, business, name=name)
    patched = wave.data(CUSTOMER_PATCH, {"input": {"id": first["customer"]["id"], "email": "office@zed.example"}})[
        "customerPatch"
    ]
    assert patched["didSucceed"] and patched["customer"]["email"] == "office@zed.example"

    page_one = wave.data(CUSTOMERS, {"businessId": business["id"], "page": 1, "pageSize": 2})["business"]["customers"]
    assert page_one["pageInfo"] == {"currentPage": 1, "totalPages": 2, "totalCount": 3}
    assert [e["node"]["name"] for e in page_one["edges"]] == ["Ann Roofing", "Bob Electric"]
    page_two = wave.data(CUSTOMERS, {"businessId": business["id"], "page": 2, "pageSize": 2})["business"]["customers"]
    assert [e["node"]["name"] for e in page_two["edges"]] == ["Zed Heating"]

    changed = wave.data(
        CUSTOMERS, {"businessId": business["id"], "page": 1, "pageSize": 10, "after": first["customer"]["modifiedAt"]}
    )
    assert [e["node"]["name"] for e in changed["business"]["customers"]["edges"]] == [
        "Ann Roofing",
        "Bob Electric",
        "Zed Heating",
    ]
    latest = max(e["node"]["modifiedAt"] for e in page_one["edges"] + page_two["edges"])
    none_after = wave.data(CUSTOMERS, {"businessId": business["id"], "page": 1, "pageSize": 10, "after": latest})
    assert none_after["business"]["customers"]["pageInfo"]["totalCount"] == 0


def test_it_refuses_a_product_whose_income_account_is_not_income(wave, business):
    answer = wave.data(
        PRODUCT_CREATE,
        {"input": {"businessId": business["id"], "name": "Valve", "unitPrice": "3", "incomeAccountId": business["bank"]["id"]}},
    )["productCreate"]
    assert answer["didSucceed"] is False and answer["product"] is None
    assert answer["inputErrors"][0]["path"] == ["input", "incomeAccountId"]
    assert answer["inputErrors"][0]["message"]


def test_it_patches_a_products_price_and_income_account(wave, business):
    product = create_product(wave, business)
    other = business["income"][1]["id"]
    patched = wave.data(PRODUCT_PATCH, {"input": {"id": product["id"], "unitPrice": "15.00", "incomeAccountId": other}})[
        "productPatch"
    ]
    assert patched["didSucceed"]
    assert patched["product"]["unitPrice"] == "15.00" and patched["product"]["incomeAccount"]["id"] == other


def test_it_answers_graphql_errors_for_a_document_that_does_not_validate(wave, business):
    missing_product = (
        'mutation { invoiceCreate(input: {businessId: "x", customerId: "y", items: [{quantity: 1}]}) { didSucceed } }'
    )
    assert validate(wave_schema(), parse(missing_product)) != []
    answer = wave.post(missing_product, check=False)
    assert answer.status_code == 400
    assert "productId" in answer.json()["errors"][0]["message"]
    unknown_field = wave.post("query { business { nope } }", check=False)
    assert unknown_field.status_code == 400 and unknown_field.json()["errors"]


def test_it_refuses_an_invoice_line_whose_product_does_not_exist(wave, business):
    customer = create_customer(wave, business)["customer"]
    answer = wave.data(
        INVOICE_CREATE,
        {
            "input": {
                "businessId": business["id"],
                "customerId": customer["id"],
                "items": [{"productId": "bm9wZQ==", "quantity": "1"}],
            }
        },
    )["invoiceCreate"]
    assert answer["didSucceed"] is False
    assert answer["inputErrors"][0]["path"] == ["input", "items", "0", "productId"]


def test_it_runs_an_invoice_from_draft_to_paid(wave, business):
    invoice = sent_invoice(wave, business)
    assert invoice["status"] == "DRAFT" and invoice["total"]["value"] == "25.00"
    payment = {
        "invoiceId": invoice["id"],
        "paymentAccountId": business["bank"]["id"],
        "paymentDate": "2024-05-01",
        "paymentMethod": "CASH",
        "exchangeRate": "1",
    }

    too_much = wave.data(PAYMENT_CREATE, {"input": {**payment, "amount": "25.01"}})["invoicePaymentCreateManual"]
    assert too_much["didSucceed"] is False and too_much["inputErrors"][0]["path"] == ["input", "amount"]

    part = wave.data(PAYMENT_CREATE, {"input": {**payment, "amount": "10"}})["invoicePaymentCreateManual"]
    assert part["didSucceed"] and part["invoicePayment"]["amount"] == "10.00"
    assert part["invoicePayment"]["invoice"]["status"] == "PARTIAL"
    assert part["invoicePayment"]["invoice"]["amountDue"]["value"] == "15.00"

    rest = wave.data(PAYMENT_CREATE, {"input": {**payment, "amount": "15.00"}})["invoicePaymentCreateManual"]
    assert rest["invoicePayment"]["invoice"]["status"] == "PAID"
    listed = wave.data(INVOICES, {"businessId": business["id"]})["business"]["invoices"]["edges"][0]["node"]
    assert listed["amountPaid"]["value"] == "25.00" and len(listed["payments"]) == 2


def test_it_refuses_a_payment_on_a_draft_invoice_and_sending_a_draft(wave, business):
    customer = create_customer(wave, business)["customer"]
    product = create_product(wave, business)
    invoice = wave.data(
        INVOICE_CREATE,
        {"input": {"businessId": business["id"], "customerId": customer["id"], "items": [{"productId": product["id"]}]}},
    )["invoiceCreate"]["invoice"]
    sent = wave.data(INVOICE_MARK_SENT, {"input": {"invoiceId": invoice["id"], "sendMethod": "MARKED_SENT"}})["invoiceMarkSent"]
    assert sent["didSucceed"] is False
    paid = wave.data(
        PAYMENT_CREATE,
        {
            "input": {
                "invoiceId": invoice["id"],
                "paymentAccountId": business["bank"]["id"],
                "amount": "1",
                "paymentDate": "2024-05-01",
                "paymentMethod": "CASH",
                "exchangeRate": "1",
            }
        },
    )["invoicePaymentCreateManual"]
    assert paid["didSucceed"] is False


def test_it_refuses_a_duplicate_invoice_number(wave, business):
    customer = create_customer(wave, business)["customer"]
    product = create_product(wave, business)
    invoice = {
        "businessId": business["id"],
        "customerId": customer["id"],
        "invoiceNumber": "INV-7",
        "items": [{"productId": product["id"]}],
    }
    assert wave.data(INVOICE_CREATE, {"input": invoice})["invoiceCreate"]["didSucceed"]
    again = wave.data(INVOICE_CREATE, {"input": invoice})["invoiceCreate"]
    assert again["didSucceed"] is False and again["inputErrors"][0]["code"] == "DUPLICATE"


def test_it_answers_401_to_unknown_and_expired_tokens(wave, live_server):
    unknown = wave.post(BUSINESSES, token="not-a-token")
    assert unknown.status_code == 401 and unknown.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    control(live_server.url, "post", expire_access_tokens=True)
    expired = wave.post(BUSINESSES)
    assert expired.status_code == 401


def test_it_honours_the_reject_names_fault(wave, business, live_server):
    control(live_server.url, "post", reject_names="^Broken")
    refused = create_customer(wave, business, name="Broken Pipe Co")
    assert refused["didSucceed"] is False and refused["inputErrors"][0]["path"] == ["input", "name"]
    assert create_customer(wave, business, name="Fine Pipe Co")["didSucceed"]


def test_it_fails_the_next_write_when_told_and_reads_still_work(wave, business, live_server):
    control(live_server.url, "post", fail_next_batches=1, fail_mode="5xx")
    read = wave.post(BUSINESSES)
    assert read.status_code == 200
    failed = wave.post(CUSTOMER_CREATE, {"input": {"businessId": business["id"], "name": "Lost"}})
    assert failed.status_code == 500
    assert create_customer(wave, business, name="Kept")["didSucceed"]
    report = control(live_server.url)
    assert report["faults_injected"] == 1
    assert report["objects"]["customer"] == 1


def test_it_answers_503_while_unavailable(wave, live_server):
    control(live_server.url, "post", unavailable_seconds=30)
    answer = wave.post(BUSINESSES)
    assert answer.status_code == 503 and int(answer.headers["Retry-After"]) >= 1


def test_the_control_report_counts_objects_and_requests(wave, business, live_server):
    sent_invoice(wave, business)
    report = control(live_server.url)
    assert report["objects"]["customer"] == 1
    assert report["objects"]["product"] == 1
    assert report["objects"]["invoice"] == 1
    assert report["objects"]["account"] >= 5
    assert report["requests"]["customer"] == 1
    assert report["requests"]["product"] == 1
    assert report["requests"]["invoice"] == 3
    assert report["requests"]["businesses"] == 1
    assert report["requests"]["graphql"] >= 7
