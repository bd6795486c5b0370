"""The FreshBooks sandbox over real HTTP: the official SDK unchanged but for its base URL, the SDK
fixtures' shapes, paging, filters, soft deletes, errors, faults and the control report."""

import datetime
import json
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from django.conf import settings as django_settings
from freshbooks import Client as FreshBooksClient
from freshbooks import FilterBuilder, PaginateBuilder
from freshbooks.errors import FreshBooksError

pytestmark = pytest.mark.django_db(transaction=True)

FIXTURES = Path(django_settings.BASE_DIR) / "integrations" / "contracts" / "freshbooks"


def fixture(name):
    for folder in ("python-sdk-fixtures", "java-sdk-fixtures"):
        path = FIXTURES / folder / name
        if path.exists():
            return json.loads(path.read_text())
    raise FileNotFoundError(name)


def json_type(value):
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float, Decimal)):
        return "number"
    return type(value).__name__


def assert_parses_like(ours, theirs, path="", skip=()):
    """Every key of the fixture is in our answer, with the same JSON type where both are set;
    objects and the first element of lists are compared the same way, all the way down."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict), f"{path}: {ours!r} is not an object"
        missing = set(theirs) - set(ours) - set(skip)
        assert not missing, f"{path}: missing {sorted(missing)}"
        for key, value in theirs.items():
            if key in skip:
                continue
            assert_parses_like(ours[key], value, f"{path}.{key}", skip)
    elif isinstance(theirs, list):
        assert isinstance(ours, list), f"{path}: {ours!r} is not a list"
        if theirs and ours and theirs[0] is not None and ours[0] is not None:
            assert_parses_like(ours[0], theirs[0], f"{path}[0]", skip)
    elif theirs is not None and ours is not None:
        assert json_type(ours) == json_type(theirs), f"{path}: {ours!r} is not like {theirs!r}"


class Books:
    """A FreshBooks session: the official SDK and raw requests, against the live sandbox."""

    def __init__(self, base, token, account_id):
        self.base = f"{base}/sandbox/freshbooks"
        self.token = token
        self.account_id = account_id

    def url(self, path):
        return f"{self.base}/accounting/account/{self.account_id}/{path}"

    def call(self, method, path, body=None, token=None, **params):
        return requests.request(
            method,
            self.url(path),
            json=body,
            params=params,
            headers={"Authorization": f"Bearer {token or self.token}"},
            timeout=30,
        )


def control(base, method="get", **body):
    answer = getattr(requests, method)(f"{base}/sandbox/freshbooks/_control", json=body or None, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture
def books(live_server, settings):
    settings.SITE_URL = live_server.url
    minted = control(live_server.url, "post", mint_token=True)
    return Books(live_server.url, minted["access_token"], minted["company"])


@pytest.fixture
def sdk(books, monkeypatch):
    """The official client, unchanged: FRESHBOOKS_API_URL is its own switch for the base URL."""
    monkeypatch.setenv("FRESHBOOKS_API_URL", books.base)
    return FreshBooksClient(client_id="sandbox-client", access_token=books.token, auto_retry=False)


def sent_invoice(sdk, account_id, amount="25.00"):
    client = sdk.clients.create(account_id, {"organization": "Ada Plumbing", "email": "ada@example.com"})
    invoice = sdk.invoices.create(
        account_id,
        {
            "customerid": client.id,
            "create_date": "2024-05-01",
            "lines": [{"type": 0, "name": "Callout", "qty": 1, "unit_cost": {"amount": amount, "code": "USD"}}],
        },
    )
    return sdk.invoices.update(account_id, invoice.id, {"action_mark_as_sent": True})


def test_the_sdk_reads_the_identity_with_account_id_and_business_uuid(sdk, books):
    identity = sdk.current_user()
    business = identity.business_memberships[0].business
    assert business.account_id == books.account_id
    assert business.data["business_uuid"]
    raw = requests.get(f"{books.base}/auth/api/v1/users/me", headers={"Authorization": f"Bearer {books.token}"}, timeout=30)
    # permissions and subscription_statuses are keyed by account id: the fixture's ids are not ours.
    assert_parses_like(raw.json(), fixture("auth_me_response.json"), skip=("permissions", "subscription_statuses"))
    assert raw.json()["response"]["subscription_statuses"] == {books.account_id: "active"}


def test_the_sdk_creates_reads_and_updates_items(sdk, books):
    item = sdk.items.create(books.account_id, {"name": "Pipe fitting", "unit_cost": {"amount": "12.50", "code": "USD"}})
    assert item.itemid == item.id and item.data["unit_cost"] == {"amount": "12.50", "code": "USD"}
    updated = sdk.items.update(
        books.account_id, item.id, {"unit_cost": {"amount": "13.00", "code": "USD"}, "description": "Brass"}
    )
    assert updated.data["unit_cost"]["amount"] == "13.00"
    assert sdk.items.get(books.account_id, item.id).description == "Brass"
    assert [i.name for i in sdk.items.list(books.account_id)] == ["Pipe fitting"]


def test_the_sdk_creates_reads_and_updates_clients(sdk, books):
    client = sdk.clients.create(books.account_id, {"fname": "Ada", "lname": "Lovelace", "email": "ada@example.com"})
    assert client.userid == client.id and client.vis_state == 0
    sdk.clients.update(books.account_id, client.id, {"organization": "Ada Plumbing"})
    assert sdk.clients.get(books.account_id, client.id).organization == "Ada Plumbing"
    listed = sdk.clients.list(books.account_id)
    assert listed.pages.total == 1 and listed[0].email == "ada@example.com"


def test_the_sdk_creates_invoices_and_payments_that_reduce_the_outstanding_amount(sdk, books):
    invoice = sent_invoice(sdk, books.account_id)
    assert invoice.data["amount"] == {"amount": "25.00", "code": "USD"}
    assert invoice.data["outstanding"]["amount"] == "25.00" and invoice.v3_status == "sent"
    payment = sdk.payments.create(
        books.account_id, {"invoiceid": invoice.id, "amount": {"amount": "10.00"}, "date": "2024-05-02", "type": "Check"}
    )
    assert payment.logid == payment.id and payment.clientid == invoice.customerid
    partial = sdk.invoices.get(books.account_id, invoice.id)
    assert partial.data["outstanding"]["amount"] == "15.00" and partial.payment_status == "partial"
    sdk.payments.update(books.account_id, payment.id, {"amount": {"amount": "25.00"}})
    paid = sdk.invoices.get(books.account_id, invoice.id)
    assert paid.data["outstanding"]["amount"] == "0.00" and paid.payment_status == "paid"
    assert paid.date_paid == datetime.date(2024, 5, 2)
    assert sdk.payments.get(books.account_id, payment.id).data["amount"]["amount"] == "25.00"
    assert len(sdk.payments.list(books.account_id)) == 1


def test_it_refuses_a_payment_above_the_outstanding_amount_in_an_http_200_body(sdk, books):
    invoice = sent_invoice(sdk, books.account_id)
    answer = books.call("POST", "payments/payments", {"payment": {"invoiceid": invoice.id, "amount": {"amount": "25.01"}}})
    assert answer.status_code == 200
    error = answer.json()["response"]["errors"][0]
    assert error["errno"] == 1004 and error["field"] == "amount" and error["object"] == "payment"
    assert_parses_like(answer.json(), fixture("get_client_response__not_found.json"))
    assert sdk.invoices.get(books.account_id, invoice.id).data["outstanding"]["amount"] == "25.00"


def test_its_answers_parse_like_the_sdk_fixtures(sdk, books):
    invoice = sent_invoice(sdk, books.account_id)
    item = sdk.items.create(books.account_id, {"name": "Pipe", "unit_cost": {"amount": "1.00"}, "qty": 3})
    payment = sdk.payments.create(
        books.account_id, {"invoiceid": invoice.id, "amount": {"amount": "5.00"}, "date": "2024-05-02", "type": "Check"}
    )
    created = books.call("POST", "users/clients", {"client": {"organization": "Bob Electric"}})
    assert_parses_like(created.json(), fixture("create_client_response.json"))
    client_id = created.json()["response"]["result"]["client"]["id"]
    # test_amount is an SDK test's own field, not an API one.
    assert_parses_like(
        books.call("GET", f"users/clients/{client_id}").json(), fixture("get_client_response.json"), skip=("test_amount",)
    )
    assert_parses_like(books.call("GET", "users/clients").json(), fixture("list_clients_response.json"))
    assert_parses_like(books.call("GET", f"items/items/{item.id}").json(), fixture("get_item_response.json"))
    assert_parses_like(books.call("GET", "items/items").json(), fixture("list_items_response.json"))
    assert_parses_like(books.call("GET", f"invoices/invoices/{invoice.id}").json(), fixture("get_invoice_response.json"))
    assert_parses_like(books.call("GET", "invoices/invoices").json(), fixture("list_invoices_response.json"))
    assert_parses_like(books.call("GET", f"payments/payments/{payment.id}").json(), fixture("get_payment_response.json"))
    assert_parses_like(books.call("GET", "payments/payments").json(), fixture("list_payments_response.json"))


def test_it_pages_with_per_page_capped_at_100(sdk, books):
    for n in range(3):
        sdk.items.create(books.account_id, {"name": f"Item {n}"})
    first = sdk.items.list(books.account_id, builders=[PaginateBuilder(1, 2)])
    assert tuple(first.pages) == (1, 2, 2, 3) and [i.name for i in first] == ["Item 0", "Item 1"]
    second = sdk.items.list(books.account_id, builders=[PaginateBuilder(2, 2)])
    assert [i.name for i in second] == ["Item 2"]
    capped = books.call("GET", "items/items", per_page=500).json()["response"]["result"]
    assert capped["per_page"] == 100 and capped["pages"] == 1 and capped["total"] == 3
    bad = books.call("GET", "items/items", page=0)
    assert bad.status_code >= 400 and bad.json()["response"]["errors"][0]["errno"] == 1014


def test_it_filters_by_updated_min_in_days(sdk, books):
    sdk.items.create(books.account_id, {"name": "Pipe"})
    today = datetime.datetime.now(datetime.UTC).date()
    since_yesterday = FilterBuilder().equals("updated_min", (today - datetime.timedelta(days=1)).isoformat())
    assert len(sdk.items.list(books.account_id, builders=[since_yesterday])) == 1
    since_later = FilterBuilder().equals("updated_min", (today + datetime.timedelta(days=2)).isoformat())
    assert len(sdk.items.list(books.account_id, builders=[since_later])) == 0


def test_it_deletes_by_vis_state_and_invoices_by_delete(sdk, books):
    item = sdk.items.create(books.account_id, {"name": "Pipe"})
    sdk.items.delete(books.account_id, item.id)
    assert len(sdk.items.list(books.account_id)) == 0
    assert sdk.items.get(books.account_id, item.id).vis_state == 1
    invoice = sent_invoice(sdk, books.account_id)
    assert books.call("PUT", f"invoices/invoices/{invoice.id}", {"invoice": {"vis_state": 1}}).status_code == 200
    assert books.call("DELETE", f"items/items/{item.id}").status_code == 405
    again = sent_invoice(sdk, books.account_id)
    sdk.invoices.delete(books.account_id, again.id)
    assert len(sdk.invoices.list(books.account_id)) == 0
    assert control(books.base.rsplit("/sandbox", 1)[0])["objects"]["invoice"] == 0


def test_it_answers_not_found_and_validation_errors_in_the_error_envelope(sdk, books):
    missing = books.call("GET", "users/clients/999999")
    assert missing.status_code == 404
    assert_parses_like(missing.json(), fixture("get_client_response__not_found.json"))
    with pytest.raises(FreshBooksError) as raised:
        sdk.items.create(books.account_id, {"description": "no name"})
    assert raised.value.status_code == 422 and raised.value.error_code == 1001
    wrapper = books.call("POST", "items/items", {"name": "unwrapped"})
    assert wrapper.status_code == 400 and wrapper.json()["response"]["errors"][0]["errno"] == 1005


def test_it_answers_401_shaped_like_the_sdk_fixtures(books):
    me = requests.get(f"{books.base}/auth/api/v1/users/me", headers={"Authorization": "Bearer nope"}, timeout=30)
    assert me.status_code == 401 and me.json() == fixture("auth_me_response__no_auth.json")
    accounting = books.call("GET", "users/clients", token="nope")
    assert accounting.status_code == 401
    assert_parses_like(accounting.json(), fixture("get_client_response__no_auth.json"))
    assert accounting.json()["details"][0]["reason"] == "1003"


def test_it_answers_401_once_access_tokens_expire(sdk, books):
    sdk.items.list(books.account_id)
    control(books.base.rsplit("/sandbox", 1)[0], "post", expire_access_tokens=True)
    with pytest.raises(FreshBooksError) as raised:
        sdk.items.list(books.account_id)
    assert raised.value.status_code == 401


def test_it_refuses_an_account_the_token_does_not_reach(books):
    other = books.call("GET", "users/clients").url.replace(books.account_id, "NOPE12")
    answer = requests.get(other, headers={"Authorization": f"Bearer {books.token}"}, timeout=30)
    assert answer.status_code == 403


def test_it_honours_reject_names_and_failing_the_next_writes(sdk, books):
    base = books.base.rsplit("/sandbox", 1)[0]
    control(base, "post", reject_names="^Broken")
    refused = books.call("POST", "items/items", {"item": {"name": "Broken valve"}})
    assert refused.status_code == 422 and refused.json()["response"]["errors"][0]["field"] == "name"
    control(base, "post", fail_next_batches=1, fail_mode="5xx")
    assert books.call("GET", "items/items").status_code == 200
    failed = books.call("POST", "items/items", {"item": {"name": "Lost valve"}})
    assert failed.status_code == 500 and failed.json()["response"]["errors"]
    assert books.call("POST", "items/items", {"item": {"name": "Kept valve"}}).status_code == 200
    report = control(base)
    assert report["objects"]["item"] == 1 and report["faults_injected"] == 1


def test_the_control_report_counts_objects_and_requests(sdk, books):
    invoice = sent_invoice(sdk, books.account_id)
    sdk.payments.create(books.account_id, {"invoiceid": invoice.id, "amount": {"amount": "1.00"}})
    sdk.current_user()
    report = control(books.base.rsplit("/sandbox", 1)[0])
    assert report["objects"] == {
        "item": 0,
        "client": 1,
        "invoice": 1,
        "payment": 1,
        **{k: v for k, v in report["objects"].items() if k not in ("item", "client", "invoice", "payment")},
    }
    assert report["requests"]["client"] == 1
    assert report["requests"]["invoice"] == 2
    assert report["requests"]["payment"] == 1
    assert report["requests"]["users_me"] == 1
