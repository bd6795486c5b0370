"""The bad-input table (issue 8): one test per row, each a clear error that changes nothing else."""

import datetime
import re
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.urls import reverse

from blueclerk.models import Organization
from catalog.models import Item
from catalog.services import item_create
from integrations.models import (
    Connection,
    ExternalLink,
    IncomeAccount,
    ItemAccountMapping,
    SyncEvent,
    SyncRun,
    WebhookDelivery,
)
from integrations.providers.base import TransientError
from integrations.services.sync import sync_now
from invoices import services as invoice_services
from invoices.models import Invoice, Payment
from tests.drills.sandbox import control, make_items, remote_count, run_to_end
from tests.factories import (
    ConnectionFactory,
    CustomerFactory,
    InvoiceFactory,
    ItemFactory,
    MembershipFactory,
    OrganizationFactory,
)
from tests.integrations.connecting import start_connect
from tests.integrations.providers.conftest import item, push
from tests.integrations.pull.test_webhooks import sign

S = ExternalLink.Status
sandbox_test = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# (provider, name, code, what the error says): names and codes the provider refuses, refused before sending.
NAME_ROWS = [
    ("quickbooks", "Q" * 101, "BAD1", "names can be at most 100 characters (this one has 101)"),
    ("quickbooks", "Labour: travel", "BAD1", "names cannot contain ':'"),
    ("quickbooks", "Labour\ttravel", "BAD1", "names cannot contain a tab"),
    ("quickbooks", "Labour\ntravel", "BAD1", "names cannot contain a line break"),
    ("xero", "X" * 51, "BAD1", "names can be at most 50 characters (this one has 51)"),
    ("xero", "Labour travel", "C" * 31, "item codes can be at most 30 characters (this one has 31)"),
]


@pytest.mark.parametrize("provider,name,code,says", NAME_ROWS)
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_name_the_provider_refuses_fails_that_item_alone_with_a_clear_reason(
    connect, enqueued, organization, provider, name, code, says
):
    connection = connect(provider)
    good = make_items(organization, 3)
    bad = item_create(organization=organization, name=name, code=code, unit_price=Decimal("5"))

    run = run_to_end(sync_now(connection=connection).pk)

    assert run.status == SyncRun.Status.PARTIAL
    link = ExternalLink.objects.get(connection=connection, kind="item", local_id=bad.pk)
    assert link.status == S.FAILED and not link.remote_id
    assert says in link.last_error and link.last_error.startswith(f"{connection.provider_name} rejected item")
    assert all(ExternalLink.objects.get(connection=connection, kind="item", local_id=i.pk).status == S.SYNCED for i in good)
    assert remote_count(connection, "item") == 3


@pytest.mark.parametrize("provider", ["freshbooks", "wave"])
def test_a_name_longer_than_any_provider_takes_is_refused_locally(db, organization, provider):
    # FreshBooks and Wave take 255 characters; our catalog stops at 200, so such a name never exists.
    with pytest.raises(ValidationError) as error:
        item_create(organization=organization, name="N" * 256, unit_price=Decimal("1"))
    assert "name" in error.value.message_dict
    assert not Item.objects.filter(organization=organization).exists()


def test_a_duplicate_item_name_is_refused_whatever_its_case(db, organization):
    item_create(organization=organization, name="Drain cleaning", unit_price=Decimal("90"))
    with pytest.raises(ValidationError) as error:
        item_create(organization=organization, name="drain CLEANING", unit_price=Decimal("95"))
    assert error.value.message_dict["name"] == ["An item named 'drain CLEANING' already exists."]
    assert Item.objects.filter(organization=organization).count() == 1


def test_a_duplicate_item_code_is_refused(db, organization):
    item_create(organization=organization, name="Drain cleaning", code="DRAIN", unit_price=Decimal("90"))
    with pytest.raises(ValidationError) as error:
        item_create(organization=organization, name="Drain snaking", code="DRAIN", unit_price=Decimal("95"))
    assert error.value.message_dict["code"] == ["An item with code 'DRAIN' already exists."]
    assert Item.objects.filter(organization=organization).count() == 1


def test_the_same_name_in_another_organization_is_fine(db, organization):
    item_create(organization=organization, name="Drain cleaning", unit_price=Decimal("90"))
    item_create(organization=OrganizationFactory(), name="Drain cleaning", unit_price=Decimal("90"))
    assert Item.objects.filter(name="Drain cleaning").count() == 2


@pytest.fixture
def sent_invoice(db, organization):
    item = ItemFactory(organization=organization, unit_price=Decimal("100.00"))
    customer = CustomerFactory(organization=organization)
    invoice = invoice_services.invoice_create(
        organization=organization, customer=customer, lines=[{"item": item, "quantity": "1"}]
    )
    return invoice_services.invoice_mark_sent(invoice=invoice)


@pytest.mark.parametrize(
    "amount,says",
    [
        ("0", "A payment must be more than zero."),
        ("-5.00", "A payment must be more than zero."),
        ("100.01", "The payment of 100.01 is more than the balance of 100.00 on"),
        ("ten", "The amount must be a number."),
    ],
)
def test_a_payment_that_is_not_a_positive_amount_within_the_balance_is_refused(sent_invoice, amount, says):
    with pytest.raises(ValidationError) as error:
        invoice_services.payment_record(invoice=sent_invoice, amount=amount, date=datetime.date.today())
    assert error.value.message_dict["amount"][0].startswith(says)
    assert not Payment.objects.exists()
    sent_invoice.refresh_from_db()
    assert sent_invoice.status == "SENT"


@pytest.mark.parametrize("code", ["XYZ", "ABC", "U$D", "12"])
def test_an_unknown_currency_is_refused(db, code):
    organization = Organization(name="Harbor Plumbing", slug="harbor", currency=code)
    with pytest.raises(ValidationError) as error:
        organization.full_clean()
    assert "is not a known currency code" in error.value.message_dict["currency"][0]


def test_a_known_currency_in_lower_case_is_accepted_as_upper_case(db):
    organization = Organization(name="Harbor Plumbing", slug="harbor", currency="eur")
    organization.full_clean()
    assert organization.currency == "EUR"


def test_the_admin_refuses_an_unknown_currency_and_saves_nothing(admin_client):
    response = admin_client.post(
        reverse("admin:blueclerk_organization_add"),
        {
            "name": "Harbor Plumbing",
            "slug": "harbor",
            "currency": "XYZ",
            "next_invoice_number": 1,
            "invoice_number_prefix": "INV-",
        },
    )
    assert response.status_code == 200
    assert "is not a known currency code" in response.content.decode()
    assert not Organization.objects.filter(slug="harbor").exists()


@pytest.mark.parametrize(
    "provider,body,headers",
    [
        ("quickbooks", b'{"eventNotifications": []}', {}),  # unsigned
        ("quickbooks", b"{not json", {"intuit-signature": "bm90IGEgc2lnbmF0dXJl"}),  # malformed, badly signed
        ("xero", b'{"events": []}', {}),
        ("xero", b"<html>", {"x-xero-signature": "bm90IGEgc2lnbmF0dXJl"}),
        ("freshbooks", b"name=invoice.create&object_id=1&account_id=abc", {}),
        ("wave", b"{}", {}),
    ],
)
def test_an_unsigned_or_malformed_webhook_is_refused_and_changes_nothing(client, db, provider, body, headers):
    response = client.post(f"/webhooks/{provider}/", data=body, content_type="application/json", headers=headers)
    assert response.status_code in (401, 404)
    assert response.content == b""
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize("provider,header", [("quickbooks", "intuit-signature"), ("xero", "x-xero-signature")])
@pytest.mark.parametrize("body", [b"{not json", b"<html><body>Hello</body></html>", b"null", b'"events"'])
def test_a_correctly_signed_webhook_that_is_not_readable_json_is_refused_and_changes_nothing(client, db, provider, header, body):
    response = client.post(f"/webhooks/{provider}/", data=body, content_type="application/json", headers={header: sign(body)})
    assert response.status_code == 401
    assert response.content == b""
    assert not WebhookDelivery.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_tampered_oauth_state_connects_nothing(client, organization, live_server, settings):
    settings.SITE_URL = live_server.url
    user = MembershipFactory(organization=organization, role="owner").user
    client.force_login(user)
    start_connect(client, "quickbooks")
    response = client.get(
        reverse("integrations:callback", args=["quickbooks"]), {"code": "abc", "state": "tampered", "realmId": "1"}, follow=True
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "could not be verified" in text and "Traceback" not in text
    assert not Connection.objects.exists()


@pytest.fixture
def other_org_records(db):
    other = OrganizationFactory()
    item = ItemFactory(organization=other)
    customer = CustomerFactory(organization=other)
    invoice = InvoiceFactory(organization=other, customer=customer)
    return item, customer, invoice


@pytest.mark.parametrize(
    "url_name,which",
    [
        ("item_detail", 0),
        ("item_edit", 0),
        ("customer_detail", 1),
        ("customer_edit", 1),
        ("invoice_detail", 2),
        ("invoice_edit", 2),
    ],
)
def test_another_organizations_id_in_a_url_is_not_found(staff_client, other_org_records, url_name, which):
    record = other_org_records[which]
    assert staff_client.get(reverse(url_name, args=[record.pk])).status_code == 404
    assert staff_client.post(reverse(url_name, args=[record.pk]), {"name": "Stolen", "display_name": "Stolen"}).status_code == 404
    record.refresh_from_db()
    assert "Stolen" not in (getattr(record, "name", ""), getattr(record, "display_name", ""))


def test_a_payment_on_another_organizations_invoice_is_not_found(staff_client, other_org_records):
    invoice = other_org_records[2]
    response = staff_client.post(reverse("payment_create", args=[invoice.pk]), {"amount": "1.00", "date": "2026-01-05"})
    assert response.status_code == 404
    assert not Payment.objects.exists()


@pytest.mark.parametrize("model", ["catalog/item", "invoices/customer", "invoices/invoice"])
def test_another_organizations_id_in_the_admin_is_not_found(client, organization, other_org_records, model):
    user = MembershipFactory(organization=organization, role="owner").user
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.all())  # only the organization scope stands in the way
    client.force_login(user)
    record = {
        "catalog/item": other_org_records[0],
        "invoices/customer": other_org_records[1],
        "invoices/invoice": other_org_records[2],
    }[model]
    response = client.get(f"/admin/{model}/{record.pk}/change/")
    assert response.status_code in (302, 404)
    if response.status_code == 302:  # the admin sends a missing object back to the list with a message
        assert response["Location"].rstrip("/").endswith(model)


@pytest.mark.parametrize("model", ["connection", "syncrun", "externallink", "incomeaccount"])
def test_another_organizations_integration_record_in_the_admin_is_not_found(client, organization, model):
    user = MembershipFactory(organization=organization, role="owner").user
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.all())  # only the organization scope stands in the way
    client.force_login(user)
    theirs = ConnectionFactory(organization=OrganizationFactory())
    record = {
        "connection": lambda: theirs,
        "syncrun": lambda: SyncRun.objects.create(connection=theirs),
        "externallink": lambda: ExternalLink.objects.create(connection=theirs, kind="item", local_id=1, status=S.FAILED),
        "incomeaccount": lambda: IncomeAccount.objects.create(connection=theirs, remote_id="4000", name="Their sales"),
    }[model]()

    response = client.get(f"/admin/integrations/{model}/{record.pk}/change/")

    assert response.status_code in (302, 404)
    if response.status_code == 302:  # the admin sends a missing object back to the list with a message
        assert response["Location"].rstrip("/").endswith(f"integrations/{model}")
    listing = client.get(f"/admin/integrations/{model}/")
    assert listing.status_code == 200
    assert f"/admin/integrations/{model}/{record.pk}/change/" not in listing.content.decode()


@pytest.mark.parametrize("provider", ["quickbooks", "xero"])
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_html_error_page_instead_of_json_is_a_readable_error_and_the_batch_falls_back(
    connect, enqueued, organization, live_server, provider
):
    connection = connect(provider)
    make_items(organization, 12)
    control(live_server.url, provider, method="post", fail_next_batches=1, fail_mode="html")

    run = run_to_end(sync_now(connection=connection).pk)

    assert control(live_server.url, provider)["faults_injected"] == 1
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.fallbacks == 1
    assert remote_count(connection, "item") == 12
    texts = [run.error or "", *SyncEvent.objects.filter(run=run).values_list("error", flat=True)]
    for text in texts:
        assert "Unexpected token" not in text and "<html" not in text.lower() and "Traceback" not in text


# --- Another organization's ids in the JSON API: 404 for ids in the URL, 400 with a readable message for
# ids inside the JSON body; nothing is written (no run, no mapping, no link or connection changed).


@pytest.fixture
def api_records(connection):
    """Our connection (with an item and a failed link) and another organization's connection with its item,
    income account, sent invoice, failed link and sync run."""
    ours = SimpleNamespace(connection=connection, item=ItemFactory(organization=connection.organization))
    ours.link = ExternalLink.objects.create(connection=connection, kind="item", local_id=ours.item.pk, status=S.FAILED)
    other = ConnectionFactory(organization=OrganizationFactory(), provider="quickbooks")
    theirs = SimpleNamespace(connection=other, item=ItemFactory(organization=other.organization))
    theirs.account = IncomeAccount.objects.create(connection=other, remote_id="4000", name="Their sales")
    theirs.invoice = InvoiceFactory(organization=other.organization, status=Invoice.Status.SENT)
    theirs.link = ExternalLink.objects.create(connection=other, kind="item", local_id=theirs.item.pk, status=S.FAILED)
    theirs.run = SyncRun.objects.create(connection=other)
    return SimpleNamespace(ours=ours, theirs=theirs)


def integration_state():
    """Everything an API call could write, to compare before and after."""
    return {
        "runs": sorted(SyncRun.objects.values_list("pk", "status", "scope")),
        "mappings": sorted(ItemAccountMapping.objects.values_list("connection_id", "item_id", "income_account_id")),
        "links": sorted(ExternalLink.objects.values_list("pk", "status", "attempted_hash")),
        "connections": sorted(Connection.objects.values_list("pk", "status", "default_income_account_id")),
        "accounts": IncomeAccount.objects.count(),
    }


# (name, method, url, JSON body, status, what the answer says): `o` is ours, `t` theirs.
API_ROWS = [
    ("connection", "get", lambda o, t: f"connections/{t.connection.pk}/", None, 404, None),
    ("sync now", "post", lambda o, t: f"connections/{t.connection.pk}/sync/", {}, 404, None),
    ("poll a run", "get", lambda o, t: f"runs/{t.run.pk}/", None, 404, None),
    ("mappings list", "get", lambda o, t: f"connections/{t.connection.pk}/mappings/", None, 404, None),
    (
        "set one mapping on their connection",
        "put",
        lambda o, t: f"connections/{t.connection.pk}/mappings/{t.item.pk}/",
        lambda o, t: {"account": t.account.pk},
        404,
        None,
    ),
    (
        "set one mapping of their item",
        "patch",
        lambda o, t: f"connections/{o.connection.pk}/mappings/{t.item.pk}/",
        lambda o, t: {"account": o.connection.default_income_account_id},
        404,
        None,
    ),
    (
        "set one mapping to their account",
        "put",
        lambda o, t: f"connections/{o.connection.pk}/mappings/{o.item.pk}/",
        lambda o, t: {"account": t.account.pk},
        400,
        ("detail", "Choose one of the income accounts fetched from QuickBooks."),
    ),
    (
        "bulk mapping on their connection",
        "post",
        lambda o, t: f"connections/{t.connection.pk}/mappings/bulk/",
        lambda o, t: {"account": t.account.pk, "items": [t.item.pk]},
        404,
        None,
    ),
    (
        "bulk mapping of their item",
        "post",
        lambda o, t: f"connections/{o.connection.pk}/mappings/bulk/",
        lambda o, t: {"account": o.connection.default_income_account_id, "items": [o.item.pk, t.item.pk]},
        400,
        ("detail", "Some of these items are not in your catalog."),
    ),
    (
        "bulk mapping to their account",
        "post",
        lambda o, t: f"connections/{o.connection.pk}/mappings/bulk/",
        lambda o, t: {"account": t.account.pk, "items": [o.item.pk]},
        400,
        ("account", "Choose one of the income accounts fetched from QuickBooks."),
    ),
    (
        "bulk mapping of the unmapped to their account",
        "post",
        lambda o, t: f"connections/{o.connection.pk}/mappings/bulk/",
        lambda o, t: {"account": t.account.pk, "unmapped": True},
        400,
        ("account", "Choose one of the income accounts fetched from QuickBooks."),
    ),
    (
        "items sync on their connection",
        "post",
        lambda o, t: f"connections/{t.connection.pk}/items/sync/",
        lambda o, t: {"items": [t.item.pk]},
        404,
        None,
    ),
    (
        "items sync with their item",
        "post",
        lambda o, t: f"connections/{o.connection.pk}/items/sync/",
        lambda o, t: {"items": [o.item.pk, t.item.pk]},
        400,
        ("detail", "Some of the chosen items are not in your catalog."),
    ),
    (
        "invoice sync of their invoice",
        "post",
        lambda o, t: f"invoices/{t.invoice.pk}/sync/",
        {"provider": "quickbooks"},
        404,
        None,
    ),
    ("failures list", "get", lambda o, t: f"connections/{t.connection.pk}/failures/", None, 404, None),
    ("retry all on their connection", "post", lambda o, t: f"connections/{t.connection.pk}/failures/retry/", {}, 404, None),
    (
        "retry their link",
        "post",
        lambda o, t: f"connections/{o.connection.pk}/failures/retry/",
        lambda o, t: {"link": t.link.pk},
        404,
        None,
    ),
]


@pytest.mark.parametrize("name,method,url,body,status,says", API_ROWS, ids=[row[0] for row in API_ROWS])
def test_another_organizations_id_in_the_api_is_refused_and_writes_nothing(
    staff_client, api_records, enqueued, name, method, url, body, status, says
):
    ours, theirs = api_records.ours, api_records.theirs
    if callable(body):
        body = body(ours, theirs)
    before = integration_state()

    call = getattr(staff_client, method)
    path = "/api/" + url(ours, theirs)
    response = call(path) if body is None else call(path, body, content_type="application/json")

    assert response.status_code == status, response.content
    answer = response.json()
    if says is None:
        assert set(answer) == {"detail"} and answer["detail"]  # DRF's "No ... matches the given query."
        assert str(theirs.connection.organization.name) not in response.content.decode()
    else:
        field, message = says
        assert answer[field] == [message]
    assert integration_state() == before
    assert enqueued == []


def test_bulk_mapping_with_nothing_unmapped_still_refuses_another_organizations_account(staff_client, api_records):
    # With every item already mapped the service has no item to check the account against: the API does.
    ours, theirs = api_records.ours, api_records.theirs
    ItemAccountMapping.objects.create(
        connection=ours.connection, item=ours.item, income_account=ours.connection.default_income_account
    )
    before = integration_state()

    response = staff_client.post(
        f"/api/connections/{ours.connection.pk}/mappings/bulk/",
        {"account": theirs.account.pk, "unmapped": True},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json() == {"account": ["Choose one of the income accounts fetched from QuickBooks."]}
    assert integration_state() == before


@pytest.mark.parametrize(
    "status,says",
    [
        (200, "{name} sent an answer we could not read (an HTML page instead of JSON, HTTP 200)."),
        (502, "{name} is having trouble (HTTP 502); we will try again."),
    ],
)
@pytest.mark.parametrize("provider", ["quickbooks", "xero", "freshbooks", "wave"])
def test_an_html_page_instead_of_json_from_any_provider_is_a_readable_transient_error(
    mocked, make_adapter, provider, status, says
):
    # The sandbox injects HTML only into QuickBooks and Xero batches (the row above); FreshBooks and Wave
    # send one record a request, so every provider's single-record answer is checked here over `responses`.
    page = "<!DOCTYPE html><html><body><h1>Service Unavailable</h1></body></html>"
    for method in ("GET", "POST", "PUT"):
        mocked.add(method, re.compile(r"https://.*"), body=page, status=status, content_type="text/html")
    adapter = make_adapter(provider)

    with pytest.raises(TransientError) as caught:  # tried again later, never marked failed for good
        adapter.push_one("item", push("item", item()))

    assert caught.value.message == says.format(name=adapter.display_name)
    assert len(mocked.calls) == 1


# --- Webhooks signed correctly whose body is not in the shape the provider documents ---------------
# Imports of this section (the table is appended to; the file's head is left as it was).
import json  # noqa: E402
import logging  # noqa: E402

from django_q.models import OrmQ  # noqa: E402

from tests.integrations.pull.test_webhooks import form  # noqa: E402


def qbo_entity(**fields):
    return {"name": "Customer", "id": "1", "operation": "Update", "lastUpdated": "2026-03-02T10:00:00.000Z"} | fields


def qbo_notification(entities=None, **fields):
    return {"realmId": "realm-1", "dataChangeEvent": {"entities": entities or [qbo_entity()]}} | fields


def cloud_event(**fields):
    event = {"specversion": "1.0", "id": "evt-1", "type": "qbo.customer.updated.v1", "intuitentityid": "1"}
    return event | {"intuitaccountid": "realm-1"} | fields


def xero_event(**fields):
    event = {"resourceId": "abc", "eventDateUtc": "2026-03-02T10:00:00.000", "eventType": "UPDATE", "eventCategory": "CONTACT"}
    return event | {"tenantId": "tenant-1", "tenantType": "ORGANISATION"} | fields


def without(mapping, key):
    return {k: v for k, v in mapping.items() if k != key}


ENTITY = "eventNotifications[0].dataChangeEvent.entities[0]"

# (provider, body, what the answer says after "... documents: "). A body is JSON-encoded unless bytes.
MALFORMED_WEBHOOK_ROWS = [
    ("quickbooks", [1], "event 0 is a number, not an object"),
    ("quickbooks", [cloud_event(), "x"], "event 1 is text, not an object"),
    ("quickbooks", [cloud_event(type=5)], "type in event 0 is a number, not text"),
    ("quickbooks", [without(cloud_event(), "intuitentityid")], "event 0 has no intuitentityid"),
    ("quickbooks", [without(cloud_event(), "intuitaccountid")], "event 0 has no intuitaccountid"),
    ("quickbooks", [cloud_event(id="e" * 300)], "id in event 0 is longer than 100 characters"),
    ("quickbooks", {}, "the body has no eventNotifications"),
    ("quickbooks", {"eventNotifications": "x"}, "eventNotifications in the body is text, not a list"),
    ("quickbooks", {"eventNotifications": None}, "eventNotifications in the body is null, not a list"),
    ("quickbooks", {"eventNotifications": [1]}, "eventNotifications[0] is a number, not an object"),
    ("quickbooks", {"eventNotifications": [without(qbo_notification(), "realmId")]}, "eventNotifications[0] has no realmId"),
    (
        "quickbooks",
        {"eventNotifications": [qbo_notification(realmId={"id": "realm-1"})]},
        "realmId in eventNotifications[0] is an object, not an id",
    ),
    (
        "quickbooks",
        {"eventNotifications": [{"realmId": "realm-1", "dataChangeEvent": "x"}]},
        "eventNotifications[0].dataChangeEvent is text, not an object",
    ),
    ("quickbooks", {"eventNotifications": [{"realmId": "realm-1"}]}, "eventNotifications[0] has no dataChangeEvent"),
    (
        "quickbooks",
        {"eventNotifications": [{"realmId": "realm-1", "dataChangeEvent": {"entities": "x"}}]},
        "entities in eventNotifications[0].dataChangeEvent is text, not a list",
    ),
    (
        "quickbooks",
        {"eventNotifications": [{"realmId": "realm-1", "dataChangeEvent": {}}]},
        "eventNotifications[0].dataChangeEvent has no entities",
    ),
    ("quickbooks", {"eventNotifications": [qbo_notification([1])]}, f"{ENTITY} is a number, not an object"),
    ("quickbooks", {"eventNotifications": [qbo_notification([without(qbo_entity(), "id")])]}, f"{ENTITY} has no id"),
    ("quickbooks", {"eventNotifications": [qbo_notification([without(qbo_entity(), "name")])]}, f"{ENTITY} has no name"),
    ("quickbooks", {"eventNotifications": [qbo_notification([qbo_entity(id=True)])]}, f"id in {ENTITY} is true or false, not an id"),
    ("quickbooks", {"eventNotifications": [qbo_notification([qbo_entity(id=[1])])]}, f"id in {ENTITY} is a list, not an id"),
    (
        "quickbooks",
        {"eventNotifications": [qbo_notification([qbo_entity(id="1\x00")])]},
        f"id in {ENTITY} contains characters no id has",
    ),
    (
        "quickbooks",
        {"eventNotifications": [qbo_notification([qbo_entity(id="\ud800")])]},
        f"id in {ENTITY} contains characters no id has",
    ),
    ("quickbooks", {"eventNotifications": [qbo_notification([qbo_entity(id="9" * 101)])]}, f"id in {ENTITY} is longer than 100 characters"),
    (
        "quickbooks",
        {"eventNotifications": [qbo_notification(realmId="realm-1\x00")]},
        "realmId in eventNotifications[0] contains characters no id has",
    ),
    (  # a good entity before the bad one is not recorded either
        "quickbooks",
        {"eventNotifications": [qbo_notification([qbo_entity(id="7"), qbo_entity(id=None)])]},
        "eventNotifications[0].dataChangeEvent.entities[1] has no id",
    ),
    ("quickbooks", b'{"eventNotifications": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "it is nested too deeply"),
    ("xero", {}, "the body has no events"),
    ("xero", {"events": "x"}, "events in the body is text, not a list"),
    ("xero", {"events": None}, "events in the body is null, not a list"),
    ("xero", {"events": [1]}, "events[0] is a number, not an object"),
    ("xero", {"events": [without(xero_event(), "resourceId")]}, "events[0] has no resourceId"),
    ("xero", {"events": [without(xero_event(), "eventCategory")]}, "events[0] has no eventCategory"),
    ("xero", {"events": [without(xero_event(), "tenantId")]}, "events[0] has no tenantId"),
    ("xero", {"events": [xero_event(eventCategory=["CONTACT"])]}, "eventCategory in events[0] is a list, not text"),
    ("xero", {"events": [xero_event(resourceId=1.5)]}, "resourceId in events[0] is a number, not an id"),
    ("xero", {"events": [xero_event(), xero_event(resourceId="a\x00b")]}, "resourceId in events[1] contains characters no id has"),
    ("freshbooks", {"name": "client.update", "account_id": "acct-1"}, "the event has no object_id"),
    ("freshbooks", {"object_id": "55", "account_id": "acct-1"}, "the event has no name"),
    ("freshbooks", {"name": "client.update", "object_id": "5\x005", "account_id": "acct-1"}, "object_id in the event contains characters no id has"),
    ("freshbooks", {"name": "client.update", "object_id": "5" * 101, "account_id": "acct-1"}, "object_id in the event is longer than 100 characters"),
]  # fmt: skip

PROVIDER_NAMES = {"quickbooks": "QuickBooks", "xero": "Xero", "freshbooks": "FreshBooks"}


@pytest.fixture
def webhook_connections(connection):
    """The QuickBooks `connection` (realm-1), a Xero one (tenant-1) and a FreshBooks one (acct-1, whose
    deliveries its confirmed verifier signs), one record of each linked."""
    xero = ConnectionFactory(organization=connection.organization, provider="xero", company_id="tenant-1")
    freshbooks = ConnectionFactory(
        organization=connection.organization,
        provider="freshbooks",
        company_id="acct-1",
        details={"webhook_verifiers": {"2001": "v3rif1er"}, "webhook_callbacks": {"2001": "invoice"}},
    )
    for each in (connection, xero, freshbooks):
        customer = CustomerFactory(organization=connection.organization)
        ExternalLink.objects.create(connection=each, kind="customer", local_id=customer.pk, remote_id="1", status=S.SYNCED)
    return {"quickbooks": connection, "xero": xero, "freshbooks": freshbooks}


def webhook_state():
    """Everything a webhook could write: deliveries, queued tasks, links, connections' details."""
    return {
        "deliveries": WebhookDelivery.objects.count(),
        "tasks": OrmQ.objects.count(),
        "links": sorted(ExternalLink.objects.values_list("pk", "status", "remote_id", "pulled_hash")),
        "connections": sorted((c.pk, json.dumps(c.details, sort_keys=True)) for c in Connection.objects.all()),
    }


def signed_post(client, provider, body):
    """POST `body` to the provider's webhook, signed as that provider signs it."""
    if provider == "freshbooks":
        raw = form(**body)
        headers = {"X-FreshBooks-Hmac-SHA256": sign(raw, "v3rif1er")}
        return client.post("/webhooks/freshbooks/", data=raw, content_type="application/x-www-form-urlencoded", headers=headers)
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    header = {"quickbooks": "intuit-signature", "xero": "x-xero-signature"}[provider]
    return client.post(f"/webhooks/{provider}/", data=raw, content_type="application/json", headers={header: sign(raw)})


@pytest.mark.parametrize("provider,body,says", MALFORMED_WEBHOOK_ROWS)
def test_a_signed_webhook_not_in_the_documented_shape_is_answered_400_and_changes_nothing(
    client, webhook_connections, caplog, provider, body, says
):
    before = webhook_state()

    with caplog.at_level(logging.WARNING, logger="integrations.webhook_views"):
        response = signed_post(client, provider, body)

    name = PROVIDER_NAMES[provider]
    detail = f"The {name} webhook body is not in the shape {name} documents: {says}."
    assert (response.status_code, response.json()) == (400, {"detail": detail})
    assert [r.getMessage() for r in caplog.records if r.name == "integrations.webhook_views"] == [f"webhook refused: {detail}"]
    assert webhook_state() == before


def test_a_freshbooks_verification_whose_verifier_no_connection_can_keep_is_answered_400(client, webhook_connections):
    before = webhook_state()
    body = form(name="callback.verify", object_id="2001", account_id="acct-1", verifier="v3r\x00if1er")

    response = client.post("/webhooks/freshbooks/", data=body, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 400
    assert response.json()["detail"] == (
        "The FreshBooks webhook body is not in the shape FreshBooks documents: "
        "verifier in the verification contains characters no id has."
    )
    assert webhook_state() == before


@pytest.mark.parametrize(
    "provider,body,headers",
    [
        ("freshbooks", form(name="client.update", object_id="55", account_id="acct\x00-1"), {}),
        ("freshbooks", form(name="callback.verify", object_id="2001", account_id="\x00", verifier="v"), {}),
        ("quickbooks", json.dumps({"eventNotifications": "x"}).encode(), {"intuit-signature": "sïgnature"}),
        ("xero", json.dumps({"events": "x"}).encode(), {"x-xero-signature": "é" * 44}),
    ],
)
def test_an_unsigned_webhook_whatever_its_shape_is_still_answered_401(client, webhook_connections, provider, body, headers):
    before = webhook_state()

    response = client.post(f"/webhooks/{provider}/", data=body, content_type="application/x-www-form-urlencoded", headers=headers)

    assert (response.status_code, response.content) == (401, b"")
    assert webhook_state() == before


@pytest.mark.parametrize(
    "provider,body",
    [
        ("quickbooks", {"eventNotifications": [qbo_notification()]}),
        ("quickbooks", [cloud_event()]),
        ("xero", {"events": [xero_event()]}),
        ("freshbooks", {"name": "client.update", "object_id": "1", "account_id": "acct-1"}),
    ],
)
def test_the_documented_shape_signed_the_same_way_is_recorded_and_its_pull_queued(client, webhook_connections, provider, body):
    # The rows above change nothing because of their shape, not because of how they are signed or sent.
    response = signed_post(client, provider, body)

    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert (delivery.connection, delivery.changes[0]["remote_id"]) == (webhook_connections[provider], body_remote_id(body))
    assert OrmQ.objects.count() == 1


def body_remote_id(body):
    if isinstance(body, list):
        return body[0]["intuitentityid"]
    if "eventNotifications" in body:
        return body["eventNotifications"][0]["dataChangeEvent"]["entities"][0]["id"]
    if "events" in body:
        return body["events"][0]["resourceId"]
    return body["object_id"]
