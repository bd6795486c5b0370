# ruff: noqa: F811  (fixtures imported from the sync tests' conftest)
"""Settings → Integrations sync panel: counts, Sync Now with a progress bar that follows the run to the
end, recent runs, failed records with Retry (one or all), Wave's limits, the deposit account."""

import pytest
import responses as responses_lib
from django.urls import reverse

from integrations import tasks
from integrations.models import Connection, ExternalLink, SyncRun
from integrations.providers.base import TokenSet
from integrations.providers.config import provider_config
from integrations.tokens import credential_store
from tests.factories import ConnectionFactory, InvoiceFactory, ItemFactory, MembershipFactory
from tests.integrations.providers.test_xero import XERO_CHART
from tests.integrations.sync.conftest import _close_throttle_connections, book, connection, enqueued, fake  # noqa: F401

pytestmark = pytest.mark.django_db


def panel(client, provider="quickbooks"):
    return client.get(reverse("integrations:sync_panel", args=[provider])).content.decode()


def test_sync_now_shows_a_progress_bar_that_polls_until_the_run_ends(staff_client, connection, enqueued, book, fake):
    InvoiceFactory.create_batch(2, organization=connection.organization)

    response = staff_client.post(reverse("integrations:sync_now", args=["quickbooks"]), HTTP_HX_REQUEST="true")

    run = SyncRun.objects.get()
    assert enqueued == [run.pk]
    html = response.content.decode()
    progress_url = reverse("integrations:run_progress", args=["quickbooks", run.pk])
    assert f'hx-get="{progress_url}" hx-trigger="every 1s"' in html
    assert "Sync Now</button>" in html and "disabled" in html

    tasks.sync_run(run.pk)
    html = staff_client.get(progress_url).content.decode()
    assert "every 1s" not in html  # finished: the bar stops polling and reloads the panel once
    assert f'hx-get="{reverse("integrations:sync_panel", args=["quickbooks"])}" hx-trigger="load"' in html
    assert "6 of 6 records (100%)" in html
    assert "0 failures" in html and "batch" in html
    panel_html = panel(staff_client)
    assert "6 synced" in panel_html and "0 pending" in panel_html
    assert "Sync Now" in panel_html and "Succeeded" in panel_html
    assert "6 of 6 records (100%)" in panel_html  # the panel keeps the ended run's bar
    assert "every 1s" not in panel_html and 'hx-trigger="load"' not in panel_html


@pytest.mark.parametrize("ended_before", [False, True], ids=["new", "queued-again-after-ending"])
def test_a_queued_run_with_nothing_counted_shows_queued_not_a_percentage(staff_client, connection, ended_before):
    # SyncRun.percent says 100 for total 0 once finished_at is set; an active run must not show that.
    run = SyncRun.objects.create(connection=connection, status=SyncRun.Status.QUEUED, total=0)
    if ended_before:
        SyncRun.objects.filter(pk=run.pk).update(finished_at=run.created_at)
    progress_url = reverse("integrations:run_progress", args=["quickbooks", run.pk])

    for html in [staff_client.get(progress_url).content.decode(), panel(staff_client)]:
        assert '<progress max="100" aria-label="Sync progress">Queued…</progress>' in html  # no value: indeterminate
        assert "<strong>Queued…</strong>" in html
        assert "100%" not in html and "0 of 0 records" not in html
        assert f'hx-get="{progress_url}" hx-trigger="every 1s"' in html  # it keeps polling


def test_a_running_run_still_counting_shows_counting_then_its_percentage(staff_client, connection):
    run = SyncRun.objects.create(connection=connection, status=SyncRun.Status.RUNNING, total=0)
    progress_url = reverse("integrations:run_progress", args=["quickbooks", run.pk])

    html = staff_client.get(progress_url).content.decode()
    assert '<progress max="100" aria-label="Sync progress">Counting records…</progress>' in html
    assert "%" not in html

    SyncRun.objects.filter(pk=run.pk).update(total=8, done=2)
    html = staff_client.get(progress_url).content.decode()
    assert '<progress max="100" value="25"' in html and "2 of 8 records (25%)" in html


def test_an_ended_run_with_nothing_to_send_shows_100_percent(staff_client, connection):
    run = SyncRun.objects.create(connection=connection, status=SyncRun.Status.SUCCEEDED, total=0)
    SyncRun.objects.filter(pk=run.pk).update(finished_at=run.created_at)

    html = staff_client.get(reverse("integrations:run_progress", args=["quickbooks", run.pk])).content.decode()
    assert '<progress max="100" value="100"' in html and "0 of 0 records (100%)" in html
    assert "Queued…" not in html


def test_the_index_card_loads_the_sync_panel(staff_client, connection):
    html = staff_client.get(reverse("integrations:index")).content.decode()
    assert f'hx-get="{reverse("integrations:sync_panel", args=["quickbooks"])}"' in html


def test_failed_records_show_their_readable_error_and_retry_one_sends_only_it(staff_client, connection, enqueued):
    items = ItemFactory.create_batch(2, organization=connection.organization)
    bad = ExternalLink.objects.create(
        connection=connection, kind="item", local_id=items[0].pk, status="failed", last_error="Names cannot contain ':'."
    )
    other = ExternalLink.objects.create(connection=connection, kind="item", local_id=items[1].pk, status="needs_mapping")

    html = panel(staff_client)
    assert f"Item: {items[0].name}" in html and "Names cannot contain &#x27;:&#x27;." in html
    assert "Waiting for an income account" in html
    assert "1 failed" in html and "1 needs mapping" in html

    staff_client.post(reverse("integrations:retry", args=["quickbooks"]), {"link": bad.pk})

    bad.refresh_from_db()
    other.refresh_from_db()
    assert bad.status == "pending" and other.status == "needs_mapping"
    run = SyncRun.objects.get()
    assert run.trigger == "retry" and run.scope["ids"] == {"item": [items[0].pk]}


def test_retry_of_a_record_that_is_not_waiting_says_so_and_starts_no_run(staff_client, connection, enqueued):
    item = ItemFactory(organization=connection.organization)
    pending = ExternalLink.objects.create(connection=connection, kind="item", local_id=item.pk, status="pending")

    response = staff_client.post(reverse("integrations:retry", args=["quickbooks"]), {"link": pending.pk}, follow=True)

    assert "This record is pending: only failed, blocked and unmapped records are retried." in response.content.decode()
    assert not SyncRun.objects.exists() and enqueued == []


def test_retry_all_sends_every_failed_record_again(staff_client, connection, enqueued):
    for n, status in enumerate(["failed", "blocked", "needs_mapping", "synced"]):
        ExternalLink.objects.create(connection=connection, kind="item", local_id=n + 1, status=status)

    response = staff_client.post(reverse("integrations:retry", args=["quickbooks"]))

    assert response.status_code == 302
    statuses = sorted(ExternalLink.objects.values_list("status", flat=True))
    assert statuses == ["pending", "pending", "pending", "synced"]


def test_sync_now_on_a_connection_that_needs_reconnecting_says_so(staff_client, connection, enqueued):
    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.RECONNECT_REQUIRED)

    response = staff_client.post(reverse("integrations:sync_now", args=["quickbooks"]), follow=True)

    assert "Your QuickBooks connection has expired." in response.content.decode()
    assert not SyncRun.objects.exists()


def test_another_organizations_connection_is_not_found(staff_client, enqueued):
    ConnectionFactory(provider="xero")

    assert staff_client.get(reverse("integrations:sync_panel", args=["xero"])).status_code == 404
    assert staff_client.post(reverse("integrations:sync_now", args=["xero"])).status_code == 404
    assert staff_client.post(reverse("integrations:retry", args=["xero"])).status_code == 404
    assert not SyncRun.objects.exists()


def test_a_run_of_another_organization_is_not_found(staff_client, connection):
    foreign = SyncRun.objects.create(connection=ConnectionFactory(provider="quickbooks"))

    assert staff_client.get(reverse("integrations:run_progress", args=["quickbooks", foreign.pk])).status_code == 404


def test_wave_says_plainly_what_it_cannot_do(staff_client, organization):
    ConnectionFactory(organization=organization, provider="wave")

    html = panel(staff_client, "wave")

    assert "Wave sends no webhooks" in html
    assert "Items are not pulled from Wave" in html
    assert "Payments are read invoice by invoice" in html
    assert "Two-way sync is limited" in html


def test_quickbooks_has_no_limitations_and_no_deposit_account_choice(staff_client, connection):
    html = panel(staff_client)
    assert "cannot do" not in html and "Deposit account" not in html


XERO_ACCOUNTS = f"{provider_config('xero').api_url}/api.xro/2.0/Accounts"
SAVINGS, CARD = "ebd06280-af70-4bed-97c6-7451a454ad85", "5040915e-8ce7-4177-8d08-fde416232f18"


@pytest.fixture
def mocked():
    with responses_lib.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def xero(organization):
    connection = ConnectionFactory(organization=organization, provider="xero")
    credential_store(connection=connection, tokens=TokenSet(access_token="access", refresh_token="refresh", expires_in=3600))
    return connection


def deposit_post(client, provider="xero", **data):
    return client.post(reverse("integrations:deposit_account", args=[provider]), data)


def test_refresh_list_offers_xeros_bank_accounts_and_chooses_the_first(staff_client, xero, mocked):
    html = panel(staff_client, "xero")
    assert "Xero's bank accounts have not been fetched yet." in html and ">Refresh list</button>" in html
    assert "Payments are not sent to Xero until a deposit account is chosen." in html
    mocked.get(XERO_ACCOUNTS, json=XERO_CHART)

    deposit_post(staff_client, action="refresh")

    html = panel(staff_client, "xero")
    assert "3 bank accounts fetched from Xero." in html
    assert '<select name="deposit_account_id"' in html and "disabled" not in html
    assert f'<option value="{SAVINGS}" selected>Business Savings Account (091)</option>' in html
    assert f'<option value="{CARD}">Card Clearing</option>' in html
    assert "Sales" not in html and "Choose a bank account…" not in html
    assert "Chosen for you: the first bank account in Xero." in html
    xero.refresh_from_db()
    assert xero.details["deposit_account_id"] == SAVINGS


def test_a_manager_chooses_another_bank_account_from_the_list(staff_client, xero, mocked):
    mocked.get(XERO_ACCOUNTS, json=XERO_CHART)
    deposit_post(staff_client, action="refresh")

    deposit_post(staff_client, deposit_account_id=CARD)

    xero.refresh_from_db()
    assert xero.details["deposit_account_id"] == CARD
    html = panel(staff_client, "xero")
    assert "Deposit account for Xero payments saved." in html
    assert f'<option value="{CARD}" selected>Card Clearing</option>' in html
    assert f'<option value="{SAVINGS}">' in html and "Chosen for you" not in html


@pytest.mark.parametrize("tampered", ["090", "7d05a53d-613d-4eb2-a2fc-dcb6adb80b80", ""])
def test_a_tampered_deposit_account_is_refused_and_nothing_changes(staff_client, xero, mocked, tampered):
    mocked.get(XERO_ACCOUNTS, json=XERO_CHART)
    deposit_post(staff_client, action="refresh")
    xero.refresh_from_db()
    before = dict(xero.details)

    deposit_post(staff_client, deposit_account_id=tampered)

    xero.refresh_from_db()
    assert xero.details == before
    html = panel(staff_client, "xero")
    assert "saved" not in html
    assert "That is not one of Xero&#x27;s bank accounts" in html or "Choose the bank account Xero payments" in html


def test_refresh_list_says_when_xero_has_no_bank_account(staff_client, xero, mocked):
    mocked.get(XERO_ACCOUNTS, json={"Accounts": [XERO_CHART["Accounts"][0]]})

    deposit_post(staff_client, action="refresh")

    html = panel(staff_client, "xero")
    message = "Xero has no bank account to deposit payments to. Add one in Xero&#x27;s chart of accounts, then Refresh list."
    assert html.count(message) == 2  # the message of the refresh, and the panel's own line
    assert "<select" not in html
    assert "Payments are not sent to Xero until a deposit account is chosen." in html


def test_refresh_list_says_when_xero_cannot_be_reached(staff_client, xero, mocked):
    mocked.get(XERO_ACCOUNTS, status=503, body="Service Unavailable")

    deposit_post(staff_client, action="refresh")

    html = panel(staff_client, "xero")
    assert "Xero could not be reached to list its bank accounts" in html and "Try Refresh list again later." in html
    xero.refresh_from_db()
    assert "bank_accounts" not in xero.details


def test_refresh_list_shows_the_reconnect_message_when_the_grant_is_gone(staff_client, xero, mocked):
    credential_store(connection=xero, tokens=TokenSet(access_token="old", refresh_token="dead", expires_in=0))
    mocked.post(provider_config("xero").token_url, status=400, json={"error": "invalid_grant"})

    deposit_post(staff_client, action="refresh")

    xero.refresh_from_db()
    assert xero.status == Connection.Status.RECONNECT_REQUIRED
    html = panel(staff_client, "xero")
    assert "Your Xero connection has expired. Go to Settings → Integrations → Reconnect Xero." in html
    assert ">Refresh list</button>" not in html  # nothing to refresh until reconnected


def test_an_account_code_typed_before_shows_as_its_account(staff_client, xero, mocked):
    xero.details = {"deposit_account_id": "091"}
    xero.save()
    assert "Payments are not sent" not in panel(staff_client, "xero")
    mocked.get(XERO_ACCOUNTS, json=XERO_CHART)

    deposit_post(staff_client, action="refresh")

    html = panel(staff_client, "xero")
    assert f'<option value="{SAVINGS}" selected>Business Savings Account (091)</option>' in html
    xero.refresh_from_db()
    assert xero.details["deposit_account_id"] == "091"


def test_a_choice_gone_from_the_provider_asks_for_another(staff_client, xero, mocked):
    xero.details = {"deposit_account_id": "13918178-849a-4823-9a31-57b7eac713d7"}  # archived in Xero since
    xero.save()
    mocked.get(XERO_ACCOUNTS, json=XERO_CHART)

    deposit_post(staff_client, action="refresh")

    html = panel(staff_client, "xero")
    assert '<option value="" selected>Choose a bank account…</option>' in html
    assert "is not among Xero's bank accounts: choose one from the list." in html
    xero.refresh_from_db()
    assert xero.details["deposit_account_id"] == "13918178-849a-4823-9a31-57b7eac713d7"  # never overwritten


def test_staff_cannot_change_the_deposit_account(client, organization):
    xero = ConnectionFactory(organization=organization, provider="xero")
    client.force_login(MembershipFactory(organization=organization, role="staff").user)

    response = client.post(reverse("integrations:deposit_account", args=["xero"]), {"deposit_account_id": "090"})
    refresh = client.post(reverse("integrations:deposit_account", args=["xero"]), {"action": "refresh"})

    assert response.status_code == refresh.status_code == 403
    xero.refresh_from_db()
    assert "deposit_account_id" not in xero.details and "bank_accounts" not in xero.details
    html = panel(client, "xero")
    assert "<select" not in html and "Refresh list" not in html


def test_quickbooks_refuses_a_deposit_account_choice(staff_client, connection):
    response = staff_client.post(
        reverse("integrations:deposit_account", args=["quickbooks"]), {"deposit_account_id": "1"}, follow=True
    )

    assert "QuickBooks does not need a deposit account." in response.content.decode()
    connection.refresh_from_db()
    assert "deposit_account_id" not in connection.details


def test_the_amber_banner_on_staff_pages_offers_sync_now(staff_client, connection, enqueued):
    for n in range(2):
        ExternalLink.objects.create(connection=connection, kind="item", local_id=n + 1, status="failed")

    html = staff_client.get(reverse("invoice_list")).content.decode()

    assert "2 items aren&#x27;t synced yet to QuickBooks (2 failed)." in html
    sync_url = reverse("integrations:sync_now", args=["quickbooks"])
    assert f'<form method="post" action="{sync_url}" class="inline">' in html
    response = staff_client.post(sync_url)
    assert response["Location"] == reverse("integrations:index") + "#quickbooks"
    assert SyncRun.objects.get().trigger == "manual"


def test_the_green_banner_shows_the_last_sync_time(staff_client, connection):
    Connection.objects.filter(pk=connection.pk).update(last_sync_at="2026-03-04T10:30:00Z")

    html = staff_client.get(reverse("item_list")).content.decode()

    assert 'class="banner banner-green"' in html
    assert "QuickBooks is connected and in sync. Last sync: Mar 4, 2026" in html
