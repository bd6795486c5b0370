# ruff: noqa: F811  (fixtures imported from the sync tests' conftest)
import pytest

from tests.factories import ConnectionFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


def test_connections_lists_only_the_users_organization(staff_client, organization):
    mine = ConnectionFactory(organization=organization)
    ConnectionFactory(organization=OrganizationFactory())
    response = staff_client.get("/api/connections/")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [mine.pk]


def test_the_api_refuses_anonymous_users(client):
    assert client.get("/api/connections/").status_code in (401, 403)


def test_the_schema_is_served(staff_client):
    response = staff_client.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/connections/" in response.content
    for path in ["/sync/", "/mappings/{item_id}/", "/mappings/bulk/", "/items/sync/", "/failures/retry/", "/api/runs/{id}/"]:
        assert path.encode() in response.content
    assert b"RunProgress" in response.content


def test_another_organizations_connection_answers_404(staff_client, organization):
    mine = ConnectionFactory(organization=organization)
    theirs = ConnectionFactory(organization=OrganizationFactory())
    assert staff_client.get(f"/api/connections/{mine.pk}/").json()["id"] == mine.pk
    assert staff_client.get(f"/api/connections/{theirs.pk}/").status_code == 404


# --- sync, runs, mappings, items, invoices, failures -------------------------------------------------

from django.db import connection as db  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from rest_framework.pagination import PageNumberPagination  # noqa: E402

from integrations.models import Connection, ExternalLink, IncomeAccount, ItemAccountMapping, SyncRun  # noqa: E402
from integrations.providers.base import reconnect_message  # noqa: E402
from invoices.models import Invoice  # noqa: E402
from tests.factories import InvoiceFactory, ItemFactory, MembershipFactory  # noqa: E402
from tests.integrations.sync.conftest import _close_throttle_connections, book, connection, enqueued, fake  # noqa: E402, F401


def other_connection():
    return ConnectionFactory(organization=OrganizationFactory())


@pytest.fixture
def staff_member_client(client, connection):
    member = MembershipFactory(organization=connection.organization, role="staff").user
    client.force_login(member)
    return client


def test_connections_carry_their_health(staff_client, connection):
    health = staff_client.get(f"/api/connections/{connection.pk}/").json()["health"]
    assert health["level"] == "green" and "QuickBooks is connected" in health["message"]
    assert health["counts"] == {}
    item = ItemFactory(organization=connection.organization)
    ExternalLink.objects.create(connection=connection, kind="item", local_id=item.pk, status="failed", last_error="No.")
    health = staff_client.get("/api/connections/").json()["results"][0]["health"]
    assert health["level"] == "amber" and health["counts"] == {"failed": 1}
    assert health["message"].startswith("1 item isn't synced yet to QuickBooks")


def test_sync_now_answers_202_with_the_run_and_its_progress(staff_client, connection, enqueued):
    response = staff_client.post(f"/api/connections/{connection.pk}/sync/")
    assert response.status_code == 202
    run = SyncRun.objects.get()
    assert response.json()["id"] == run.pk and enqueued == [run.pk]
    progress = staff_client.get(f"/api/runs/{run.pk}/").json()
    assert progress["id"] == run.pk and progress["active"] is True and progress["percent"] == run.percent


def test_sync_now_on_a_connection_needing_reconnection_answers_401(staff_client, connection, enqueued):
    connection.status = Connection.Status.RECONNECT_REQUIRED
    connection.save(update_fields=["status"])
    response = staff_client.post(f"/api/connections/{connection.pk}/sync/")
    assert response.status_code == 401
    assert response.json() == {"detail": reconnect_message("QuickBooks"), "code": "reconnect_required"}
    assert enqueued == []


def test_it_answers_401_for_every_sync_request_on_a_connection_needing_reconnection(staff_client, connection, enqueued):
    item = ItemFactory(organization=connection.organization)
    invoice = InvoiceFactory(organization=connection.organization, status=Invoice.Status.SENT)
    connection.status = Connection.Status.RECONNECT_REQUIRED
    connection.save()
    base = f"/api/connections/{connection.pk}"
    for url, body in [
        (f"{base}/items/sync/", {"items": [item.pk]}),
        (f"{base}/failures/retry/", {}),
        (f"/api/invoices/{invoice.pk}/sync/", {"provider": "quickbooks"}),
    ]:
        response = staff_client.post(url, body, content_type="application/json")
        assert response.status_code == 401, url
        assert response.json() == {"detail": reconnect_message("QuickBooks"), "code": "reconnect_required"}
    assert not SyncRun.objects.exists() and enqueued == []


def test_it_lets_mappings_change_while_the_connection_needs_reconnecting_as_the_page_does(staff_client, connection):
    """Mapping is kept here, not in the provider: the grid allows it, and the API no longer refuses it."""
    special = IncomeAccount.objects.create(connection=connection, remote_id="80", name="Parts")
    item = ItemFactory(organization=connection.organization)
    connection.status = Connection.Status.RECONNECT_REQUIRED
    connection.save()
    url = f"/api/connections/{connection.pk}/mappings/{item.pk}/"
    assert staff_client.put(url, {"account": special.pk}, content_type="application/json").status_code == 200
    assert ItemAccountMapping.objects.get(connection=connection, item=item).income_account == special


def test_another_organizations_connection_and_run_answer_404(staff_client, enqueued):
    theirs = other_connection()
    run = SyncRun.objects.create(connection=theirs)
    for url in ["sync/", "items/sync/", "mappings/bulk/", "failures/retry/"]:
        assert staff_client.post(f"/api/connections/{theirs.pk}/{url}", {}, content_type="application/json").status_code == 404
    for url in ["mappings/", "failures/"]:
        assert staff_client.get(f"/api/connections/{theirs.pk}/{url}").status_code == 404
    assert staff_client.get(f"/api/runs/{run.pk}/").status_code == 404
    invoice = InvoiceFactory(organization=theirs.organization)
    response = staff_client.post(f"/api/invoices/{invoice.pk}/sync/", {"provider": "quickbooks"}, content_type="application/json")
    assert response.status_code == 404
    assert enqueued == []


def test_mappings_list_each_item_with_its_account(staff_client, connection):
    special = IncomeAccount.objects.create(connection=connection, remote_id="80", name="Parts")
    first, second = (
        ItemFactory(organization=connection.organization, name="A"),
        ItemFactory(organization=connection.organization, name="B"),
    )
    ItemAccountMapping.objects.create(connection=connection, item=second, income_account=special)
    rows = staff_client.get(f"/api/connections/{connection.pk}/mappings/").json()["results"]
    assert rows == [
        {"item": first.pk, "name": "A", "account": connection.default_income_account_id, "uses_default": True},
        {"item": second.pk, "name": "B", "account": special.pk, "uses_default": False},
    ]


def test_it_reads_only_the_mappings_of_the_page_it_returns(staff_client, connection, monkeypatch):
    monkeypatch.setattr(PageNumberPagination, "page_size", 2)
    special = IncomeAccount.objects.create(connection=connection, remote_id="80", name="Parts")
    for name in "EDCBA":
        item = ItemFactory(organization=connection.organization, name=name)
        if name != "C":
            ItemAccountMapping.objects.create(connection=connection, item=item, income_account=special)
    with CaptureQueriesContext(db) as queries:
        body = staff_client.get(f"/api/connections/{connection.pk}/mappings/?page=2").json()
    assert body["count"] == 5
    assert [(row["name"], row["account"], row["uses_default"]) for row in body["results"]] == [
        ("C", connection.default_income_account_id, True),
        ("D", special.pk, False),
    ]
    reads = [q["sql"] for q in queries.captured_queries if "integrations_itemaccountmapping" in q["sql"]]
    assert reads and all("LIMIT 2 OFFSET 2" in sql for sql in reads)


def test_an_owner_sets_one_items_account(staff_client, connection):
    special = IncomeAccount.objects.create(connection=connection, remote_id="80", name="Parts")
    item = ItemFactory(organization=connection.organization)
    url = f"/api/connections/{connection.pk}/mappings/{item.pk}/"
    response = staff_client.put(url, {"account": special.pk}, content_type="application/json")
    assert response.status_code == 200
    assert ItemAccountMapping.objects.get(connection=connection, item=item).income_account == special
    assert staff_client.patch(url, {"account": None}, content_type="application/json").status_code == 200
    assert not ItemAccountMapping.objects.filter(connection=connection, item=item).exists()


def test_an_unknown_account_answers_400_with_the_services_message(staff_client, connection):
    item = ItemFactory(organization=connection.organization)
    theirs = IncomeAccount.objects.create(connection=other_connection(), remote_id="1", name="Other")
    response = staff_client.put(
        f"/api/connections/{connection.pk}/mappings/{item.pk}/", {"account": theirs.pk}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["detail"] == ["Choose one of the income accounts fetched from QuickBooks."]
    response = staff_client.put(
        f"/api/connections/{connection.pk}/mappings/{item.pk}/", {"account": "sales"}, content_type="application/json"
    )
    assert response.status_code == 400 and "account" in response.json()
    theirs_item = ItemFactory(organization=theirs.connection.organization)
    response = staff_client.put(
        f"/api/connections/{connection.pk}/mappings/{theirs_item.pk}/", {"account": None}, content_type="application/json"
    )
    assert response.status_code == 404
    response = staff_client.put(
        f"/api/connections/{theirs.connection.pk}/mappings/{theirs_item.pk}/", {"account": None}, content_type="application/json"
    )
    assert response.status_code == 404


def test_staff_cannot_change_mappings(staff_member_client, connection):
    item = ItemFactory(organization=connection.organization)
    base = f"/api/connections/{connection.pk}/mappings/"
    body = {"account": connection.default_income_account_id, "items": [item.pk]}
    assert staff_member_client.put(f"{base}{item.pk}/", body, content_type="application/json").status_code == 403
    assert staff_member_client.post(f"{base}bulk/", body, content_type="application/json").status_code == 403
    assert staff_member_client.get(base).status_code == 200
    assert not ItemAccountMapping.objects.exists()


def test_it_checks_the_role_in_the_connections_organization_not_the_sessions(client, connection):
    """A user who owns another organization (the one their session acts for) is still staff here."""
    user = MembershipFactory(organization=OrganizationFactory(), role="owner").user
    MembershipFactory(user=user, organization=connection.organization, role="staff")
    client.force_login(user)
    item = ItemFactory(organization=connection.organization)
    url = f"/api/connections/{connection.pk}/mappings/{item.pk}/"
    response = client.put(url, {"account": connection.default_income_account_id}, content_type="application/json")
    assert response.status_code == 403
    assert response.json() == {"detail": "Only owners and admins can change integrations."}
    assert not ItemAccountMapping.objects.exists()


def test_it_lets_an_owner_with_a_token_change_mappings(client, connection):
    from rest_framework.authtoken.models import Token

    owner = MembershipFactory(organization=connection.organization, role="owner").user
    item = ItemFactory(organization=connection.organization)
    response = client.put(
        f"/api/connections/{connection.pk}/mappings/{item.pk}/",
        {"account": connection.default_income_account_id},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=owner).key}",
    )
    assert response.status_code == 200
    assert ItemAccountMapping.objects.filter(connection=connection, item=item).exists()


def test_bulk_maps_listed_items_or_all_unmapped(staff_client, connection):
    special = IncomeAccount.objects.create(connection=connection, remote_id="80", name="Parts")
    other = IncomeAccount.objects.create(connection=connection, remote_id="81", name="Labor")
    items = ItemFactory.create_batch(3, organization=connection.organization)
    url = f"/api/connections/{connection.pk}/mappings/bulk/"
    response = staff_client.post(url, {"account": special.pk, "items": [items[0].pk]}, content_type="application/json")
    assert response.status_code == 200 and response.json()["mapped"] == 1
    response = staff_client.post(url, {"account": other.pk, "unmapped": True}, content_type="application/json")
    assert response.json()["mapped"] == 2
    mapped = dict(ItemAccountMapping.objects.values_list("item_id", "income_account_id"))
    assert mapped == {items[0].pk: special.pk, items[1].pk: other.pk, items[2].pk: other.pk}
    assert staff_client.post(url, {"items": [items[0].pk]}, content_type="application/json").status_code == 400


def test_it_leaves_inactive_items_alone_when_mapping_all_unmapped(staff_client, connection):
    """The API maps what the grid's Map All Unmapped maps: active items only."""
    special = IncomeAccount.objects.create(connection=connection, remote_id="80", name="Parts")
    active = ItemFactory(organization=connection.organization)
    ItemFactory(organization=connection.organization, active=False)
    url = f"/api/connections/{connection.pk}/mappings/bulk/"
    response = staff_client.post(url, {"account": special.pk, "unmapped": True}, content_type="application/json")
    assert response.status_code == 200 and response.json()["mapped"] == 1
    assert dict(ItemAccountMapping.objects.values_list("item_id", "income_account_id")) == {active.pk: special.pk}


def test_items_sync_starts_a_run_and_refuses_more_than_100(staff_client, connection, enqueued):
    items = ItemFactory.create_batch(2, organization=connection.organization)
    url = f"/api/connections/{connection.pk}/items/sync/"
    response = staff_client.post(url, {"items": [i.pk for i in items]}, content_type="application/json")
    assert response.status_code == 202 and enqueued == [response.json()["id"]]
    response = staff_client.post(url, {"items": list(range(1, 102))}, content_type="application/json")
    assert response.status_code == 400
    assert "at most 100 items" in response.json()["detail"][0]
    assert staff_client.post(url, {"items": "all"}, content_type="application/json").status_code == 400


def test_invoice_sync_starts_a_run_and_refuses_drafts(staff_client, connection, enqueued):
    invoice = InvoiceFactory(organization=connection.organization)
    url = f"/api/invoices/{invoice.pk}/sync/"
    response = staff_client.post(url, {"provider": "quickbooks"}, content_type="application/json")
    assert response.status_code == 202 and enqueued == [response.json()["id"]]
    draft = InvoiceFactory(organization=connection.organization, status=Invoice.Status.DRAFT)
    response = staff_client.post(f"/api/invoices/{draft.pk}/sync/", {"provider": "quickbooks"}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"] == [f"Invoice {draft.number} is a draft: mark it sent before syncing it."]
    assert staff_client.post(url, {"provider": "xero"}, content_type="application/json").status_code == 404


def test_failures_list_readable_errors_and_retry_one_or_all(staff_client, connection, enqueued):
    items = ItemFactory.create_batch(3, organization=connection.organization)
    bad = ExternalLink.objects.create(
        connection=connection, kind="item", local_id=items[0].pk, status="failed", last_error="Names cannot contain ':'."
    )
    ExternalLink.objects.create(connection=connection, kind="item", local_id=items[1].pk, status="needs_mapping")
    ExternalLink.objects.create(connection=connection, kind="item", local_id=items[2].pk, status="synced")
    rows = staff_client.get(f"/api/connections/{connection.pk}/failures/").json()["results"]
    assert (rows[0]["id"], rows[0]["status"], rows[0]["error"]) == (bad.pk, "failed", "Names cannot contain ':'.")
    assert len(rows) == 2
    url = f"/api/connections/{connection.pk}/failures/retry/"
    response = staff_client.post(url, {"link": bad.pk}, content_type="application/json")
    assert response.status_code == 202
    bad.refresh_from_db()
    assert bad.status == "pending"
    assert ExternalLink.objects.filter(status="needs_mapping").count() == 1
    assert staff_client.post(url, {"link": "first"}, content_type="application/json").status_code == 400
    assert staff_client.post(url, {"link": 10**9}, content_type="application/json").status_code == 404
    assert staff_client.post(url, {}, content_type="application/json").status_code == 202
    assert not ExternalLink.objects.filter(status="needs_mapping").exists()


def test_a_run_followed_through_the_api_reaches_100_percent(staff_client, connection, enqueued, book, fake):
    from integrations import tasks

    InvoiceFactory.create_batch(2, organization=connection.organization)
    run_id = staff_client.post(f"/api/connections/{connection.pk}/sync/").json()["id"]
    tasks.sync_run(run_id)
    progress = staff_client.get(f"/api/runs/{run_id}/").json()
    assert progress["active"] is False and progress["status"] == "succeeded"
    assert progress["done"] == progress["total"] == 6 and progress["percent"] == 100
    assert book.count("invoice") == 2


def test_retrying_a_record_that_is_not_waiting_is_refused_and_starts_no_run(staff_client, connection, enqueued):
    item = ItemFactory(organization=connection.organization)
    synced = ExternalLink.objects.create(connection=connection, kind="item", local_id=item.pk, status="synced")
    url = f"/api/connections/{connection.pk}/failures/retry/"

    response = staff_client.post(url, {"link": synced.pk}, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"link": ["This record is synced: only failed, blocked and unmapped records are retried."]}
    assert not SyncRun.objects.exists() and enqueued == []
    synced.refresh_from_db()
    assert synced.status == "synced"
