# ruff: noqa: F811  (fixtures imported from the sync tests' conftest)
import pytest
import responses
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.urls import reverse

from integrations import admin as admin_module
from integrations.models import Connection, Credential, ExternalLink, SyncRun
from integrations.providers.base import TokenSet
from integrations.providers.config import provider_config
from integrations.tokens import credential_store
from invoices.models import Invoice
from tests.factories import ConnectionFactory, InvoiceFactory, ItemFactory, MembershipFactory, OrganizationFactory
from tests.integrations.sync.conftest import _close_throttle_connections, connection, enqueued  # noqa: F401

RECONNECT = "Your QuickBooks connection has expired. Go to Settings → Integrations → Reconnect QuickBooks."

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return client


@pytest.mark.parametrize("model", ["connection", "externallink", "syncrun", "syncevent", "incomeaccount", "notification"])
def test_each_integrations_changelist_opens(superuser_client, model):
    ConnectionFactory(organization=OrganizationFactory())
    response = superuser_client.get(reverse(f"admin:integrations_{model}_changelist"))
    assert response.status_code == 200


def test_a_connection_shows_no_tokens(superuser_client):
    connection = ConnectionFactory(organization=OrganizationFactory())
    response = superuser_client.get(reverse("admin:integrations_connection_change", args=[connection.pk]))
    assert response.status_code == 200
    assert b"access_token" not in response.content


# ---- actions ---------------------------------------------------------------------------------------


@pytest.fixture
def staff_admin_client(client, organization):
    """A staff (not superuser) member of `organization` holding every model permission of the apps."""
    user = MembershipFactory(organization=organization, role="admin").user
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label__in=["catalog", "invoices", "integrations"]))
    client.force_login(user)
    return client


def act(client, model, action, pks):
    """POST an admin action on the change list; returns the followed page's messages."""
    response = client.post(
        reverse(f"admin:{model}_changelist"), {"action": action, ACTION_CHECKBOX_NAME: [str(pk) for pk in pks]}, follow=True
    )
    assert response.status_code == 200
    return [str(m) for m in response.context["messages"]]


def other_connection():
    return Connection.objects.create(organization=OrganizationFactory(), provider="quickbooks", company_id="realm-2")


def test_sync_now_queues_a_run_and_says_so(superuser_client, connection, enqueued):
    shown = act(superuser_client, "integrations_connection", "sync_now", [connection.pk])

    run = SyncRun.objects.get()
    assert enqueued == [run.pk] and run.trigger == "manual" and run.connection == connection
    assert any(f"sync queued (run {run.pk})" in m for m in shown)


def test_a_connection_needing_reconnect_is_a_message_not_a_traceback(superuser_client, connection, enqueued):
    connection.status = Connection.Status.RECONNECT_REQUIRED
    connection.save()

    shown = act(superuser_client, "integrations_connection", "sync_now", [connection.pk])

    assert any(RECONNECT in m for m in shown)
    assert not SyncRun.objects.exists() and enqueued == []


@responses.activate
def test_refresh_token_refreshes_and_never_shows_the_token(superuser_client, connection):
    credential_store(
        connection=connection, tokens=TokenSet(access_token="old-access", refresh_token="old-refresh", expires_in=3600)
    )
    body = {"access_token": "new-access-secret", "refresh_token": "new-refresh", "expires_in": 3600}
    responses.add(responses.POST, provider_config("quickbooks").token_url, json=body)

    response = superuser_client.post(
        reverse("admin:integrations_connection_changelist"),
        {"action": "refresh_token", ACTION_CHECKBOX_NAME: [str(connection.pk)]},
        follow=True,
    )

    assert "token refreshed" in response.content.decode()
    assert b"new-access-secret" not in response.content and b"new-refresh" not in response.content
    assert Credential.objects.get(connection=connection).refresh_count == 1


@responses.activate
def test_refresh_token_with_a_lost_grant_shows_the_reconnect_message(superuser_client, connection):
    credential_store(connection=connection, tokens=TokenSet(access_token="a", refresh_token="r", expires_in=3600))
    responses.add(responses.POST, provider_config("quickbooks").token_url, json={"error": "invalid_grant"}, status=400)

    shown = act(superuser_client, "integrations_connection", "refresh_token", [connection.pk])

    assert any(RECONNECT in m for m in shown)
    connection.refresh_from_db()
    assert connection.status == Connection.Status.RECONNECT_REQUIRED


def test_disconnect_marks_the_connection_disconnected(staff_admin_client, connection):
    shown = act(staff_admin_client, "integrations_connection", "disconnect", [connection.pk])

    connection.refresh_from_db()
    assert connection.status == Connection.Status.DISCONNECTED
    assert any("disconnected" in m for m in shown)


def test_a_staff_user_cannot_act_on_another_organizations_connection(staff_admin_client, connection, enqueued):
    theirs = other_connection()

    act(staff_admin_client, "integrations_connection", "disconnect", [theirs.pk])
    act(staff_admin_client, "integrations_connection", "sync_now", [theirs.pk])

    theirs.refresh_from_db()
    assert theirs.status == Connection.Status.CONNECTED
    assert not SyncRun.objects.exists()


def test_retry_sends_only_the_selected_links_grouped_per_connection(staff_admin_client, connection, enqueued):
    items = ItemFactory.create_batch(2, organization=connection.organization)
    bad = ExternalLink.objects.create(connection=connection, kind="item", local_id=items[0].pk, status="failed")
    other = ExternalLink.objects.create(connection=connection, kind="item", local_id=items[1].pk, status="failed")
    theirs = ExternalLink.objects.create(connection=other_connection(), kind="item", local_id=1, status="failed")

    shown = act(staff_admin_client, "integrations_externallink", "retry", [bad.pk, theirs.pk])

    run = SyncRun.objects.get()
    assert run.trigger == "retry" and run.connection == connection and run.scope["ids"] == {"item": [items[0].pk]}
    assert [link.status for link in ExternalLink.objects.filter(pk__in=[bad.pk, other.pk, theirs.pk]).order_by("pk")] == [
        "pending",
        "failed",
        "failed",
    ]
    assert any("1 record(s) queued for retry" in m for m in shown)


def test_items_offer_sync_to_each_connected_provider_only(staff_admin_client, connection):
    response = staff_admin_client.get(reverse("admin:catalog_item_changelist"))
    html = response.content.decode()
    assert "Sync selected to QuickBooks" in html and "Sync selected to Xero" not in html


def test_sync_selected_items_queues_exactly_those_items(staff_admin_client, connection, enqueued):
    mine = ItemFactory.create_batch(3, organization=connection.organization)
    theirs = ItemFactory(organization=other_connection().organization)

    shown = act(staff_admin_client, "catalog_item", "sync_to_quickbooks", [mine[0].pk, mine[1].pk, theirs.pk])

    run = SyncRun.objects.get()
    assert run.trigger == "selected" and run.connection == connection
    assert sorted(run.scope["ids"]["item"]) == sorted([mine[0].pk, mine[1].pk])
    assert any("2 item(s) queued to sync to QuickBooks" in m for m in shown)


def test_more_than_100_items_are_refused_with_a_message(superuser_client, connection, enqueued):
    items = ItemFactory.create_batch(101, organization=connection.organization)

    shown = act(superuser_client, "catalog_item", "sync_to_quickbooks", [i.pk for i in items])

    assert any("at most 100 items" in m and "you chose 101" in m for m in shown)
    assert not SyncRun.objects.exists() and enqueued == []


def test_sync_selected_invoices_queues_each_and_reports_refusals(staff_admin_client, connection, enqueued):
    sent = InvoiceFactory(organization=connection.organization)
    draft = InvoiceFactory(organization=connection.organization, status=Invoice.Status.DRAFT)
    theirs = InvoiceFactory(organization=other_connection().organization)

    shown = act(staff_admin_client, "invoices_invoice", "sync_to_quickbooks", [sent.pk, draft.pk, theirs.pk])

    run = SyncRun.objects.get()
    assert run.connection == connection and sent.pk in run.scope["ids"]["invoice"]
    assert draft.pk not in run.scope["ids"]["invoice"] and theirs.pk not in run.scope["ids"]["invoice"]
    assert any("1 invoice(s) queued to sync to QuickBooks" in m for m in shown)
    assert any(f"Invoice {draft.number} is a draft" in m for m in shown)


def test_more_than_100_invoices_are_refused_with_a_message(superuser_client, connection, enqueued, monkeypatch):
    monkeypatch.setattr(admin_module, "MAX_SELECTED_INVOICES", 2)
    invoices = InvoiceFactory.create_batch(3, organization=connection.organization)

    shown = act(superuser_client, "invoices_invoice", "sync_to_quickbooks", [i.pk for i in invoices])

    assert any("at most 2 invoices" in m and "you chose 3" in m for m in shown)
    assert not SyncRun.objects.exists()


def test_invoice_sync_with_reconnect_required_is_a_message(superuser_client, connection, enqueued):
    invoice = InvoiceFactory(organization=connection.organization)
    connection.status = Connection.Status.RECONNECT_REQUIRED
    connection.save()

    shown = act(superuser_client, "invoices_invoice", "sync_to_quickbooks", [invoice.pk])

    assert any(RECONNECT in m for m in shown)
    assert not SyncRun.objects.exists()
