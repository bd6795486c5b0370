"""FreshBooks instant updates: callbacks registered when FreshBooks is connected (in a task), reused on
reconnect, a failure that never blocks the connection, deleted on disconnect, and the card's line."""

import pytest
from django.urls import reverse

from integrations import tasks, webhooks
from integrations.models import Connection
from integrations.providers.base import Company, RecordRejected, TokenSet, TransientError
from integrations.providers.freshbooks import WebhookCallback
from integrations.services import connections, freshbooks_webhooks
from integrations.services.connections import connection_disconnect, connection_save
from tests.factories import ConnectionFactory, MembershipFactory

pytestmark = pytest.mark.django_db

URI = "http://testserver/webhooks/freshbooks/"


class FakeCallbacks:
    """A FreshBooks account's callbacks, behind the adapter methods the service uses."""

    def __init__(self, *existing, refuse_nouns=False, fail_with=None):
        self.callbacks = {c.callback_id: c for c in existing}
        self.refuse_nouns = refuse_nouns
        self.fail_with = fail_with
        self.created, self.deleted, self.resent = [], [], []
        self.next_id = 500

    def webhook_callbacks(self):
        if self.fail_with:
            raise self.fail_with
        return list(self.callbacks.values())

    def register_webhook(self, uri, event):
        if self.refuse_nouns and "." not in event:
            raise RecordRejected("FreshBooks refused the request: event: Value error, Unrecognized event.", provider="freshbooks")
        self.next_id += 1
        self.callbacks[str(self.next_id)] = WebhookCallback(str(self.next_id), event, uri, False)
        self.created.append(event)
        return str(self.next_id)

    def delete_webhook(self, callback_id):
        self.deleted.append(callback_id)
        self.callbacks.pop(callback_id, None)

    def resend_webhook_verification(self, callback_id):
        self.resent.append(callback_id)


@pytest.fixture
def freshbooks(organization):
    return ConnectionFactory(organization=organization, provider="freshbooks", company_id="acct-1")


def test_connecting_freshbooks_enqueues_the_registration_after_the_commit(
    organization, monkeypatch, django_capture_on_commit_callbacks
):
    enqueued = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda *args, **kw: enqueued.append(args))

    with django_capture_on_commit_callbacks(execute=True):
        connection = connection_save(
            organization=organization,
            provider="freshbooks",
            tokens=TokenSet(access_token="a", refresh_token="r", expires_in=3600),
            company=Company(id="acct-1", name="Books"),
        )

    assert enqueued == [("integrations.tasks.freshbooks_webhooks_register", connection.pk)]


def test_connecting_registers_nothing_when_the_setting_is_off(
    organization, monkeypatch, settings, django_capture_on_commit_callbacks
):
    settings.FRESHBOOKS_WEBHOOKS = False
    enqueued = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda *args, **kw: enqueued.append(args))

    with django_capture_on_commit_callbacks(execute=True):
        connection_save(
            organization=organization,
            provider="freshbooks",
            tokens=TokenSet(access_token="a", refresh_token="r", expires_in=3600),
            company=Company(id="acct-1", name="Books"),
        )

    assert enqueued == []


def test_the_task_registers_one_callback_per_kind_and_records_their_ids(freshbooks, monkeypatch):
    account = FakeCallbacks()
    monkeypatch.setattr(connections, "adapter_for", lambda connection: account)

    assert tasks.freshbooks_webhooks_register(freshbooks.pk) == "registered"

    freshbooks.refresh_from_db()
    assert account.created == ["client", "item", "invoice", "payment"]
    assert list(freshbooks.details["webhook_callbacks"]) == ["501", "502", "503", "504"]
    assert {c.uri for c in account.callbacks.values()} == {URI}
    assert freshbooks_webhooks.webhook_state(freshbooks)["state"] == "registered"


def test_a_verification_for_a_registered_callback_is_accepted(client, freshbooks, monkeypatch):
    monkeypatch.setattr(connections, "adapter_for", lambda connection: FakeCallbacks())
    monkeypatch.setattr(webhooks, "enqueue_verification", lambda **kw: None)
    freshbooks_webhooks.callbacks_register(connection=freshbooks)
    body = "name=callback.verify&object_id=503&account_id=acct-1&verifier=v503"

    answer = client.post("/webhooks/freshbooks/", body, content_type="application/x-www-form-urlencoded")

    freshbooks.refresh_from_db()
    assert answer.status_code == 200
    assert freshbooks.details["webhook_pending_verifiers"] == {"503": "v503"}


def test_it_falls_back_to_each_event_when_freshbooks_refuses_a_noun(freshbooks):
    account = FakeCallbacks(refuse_nouns=True)

    assert freshbooks_webhooks.callbacks_register(connection=freshbooks, adapter=account)

    assert account.created[:3] == ["client.create", "client.update", "client.delete"]
    assert len(account.created) == 12
    freshbooks.refresh_from_db()
    assert len(freshbooks.details["webhook_callbacks"]) == 12


def test_reconnecting_reuses_our_callbacks(freshbooks):
    account = FakeCallbacks()
    freshbooks_webhooks.callbacks_register(connection=freshbooks, adapter=account)
    verifiers = {}
    for callback_id, callback in list(account.callbacks.items()):
        account.callbacks[callback_id] = WebhookCallback(callback_id, callback.event, URI, True)
        verifiers[callback_id] = f"v{callback_id}"
    freshbooks.refresh_from_db()
    Connection.objects.filter(pk=freshbooks.pk).update(details={**freshbooks.details, "webhook_verifiers": verifiers})
    freshbooks.refresh_from_db()
    account.created.clear()

    assert freshbooks_webhooks.callbacks_register(connection=freshbooks, adapter=account)

    freshbooks.refresh_from_db()
    assert account.created == [] and account.deleted == [] and account.resent == []
    assert list(freshbooks.details["webhook_callbacks"]) == ["501", "502", "503", "504"]
    assert freshbooks_webhooks.webhook_state(freshbooks)["state"] == "verified"


def test_reconnecting_replaces_a_verified_callback_whose_verifier_we_lost_and_asks_again_for_unverified_ones(freshbooks):
    other = WebhookCallback("90", "invoice", "https://someone-else.example/hook", True)
    account = FakeCallbacks(
        WebhookCallback("10", "client", URI, True),  # verified, but we hold no verifier: it could never sign for us
        WebhookCallback("11", "item", URI, False),  # waiting: FreshBooks can post its verifier again
        other,
    )

    assert freshbooks_webhooks.callbacks_register(connection=freshbooks, adapter=account)

    freshbooks.refresh_from_db()
    assert account.deleted == ["10"] and account.resent == ["11"]
    assert account.created == ["client", "invoice", "payment"]
    assert set(freshbooks.details["webhook_callbacks"]) == {"11", "501", "502", "503"}
    assert account.callbacks["90"] == other


def test_a_failure_is_kept_for_the_card_and_does_not_block_the_connection(client, organization, freshbooks):
    account = FakeCallbacks(fail_with=TransientError("Could not reach FreshBooks.", provider="freshbooks"))

    assert not freshbooks_webhooks.callbacks_register(connection=freshbooks, adapter=account)

    freshbooks.refresh_from_db()
    assert freshbooks.status == Connection.Status.CONNECTED
    state = freshbooks_webhooks.webhook_state(freshbooks)
    assert state == {
        "state": "off",
        "message": "Instant updates off: Could not reach FreshBooks; changes still arrive every 15 minutes.",
    }
    client.force_login(MembershipFactory(organization=organization, role="owner").user)
    page = client.get(reverse("integrations:index")).content.decode()
    assert "Instant updates off: Could not reach FreshBooks; changes still arrive every 15 minutes." in page


def test_a_later_success_clears_the_failure(freshbooks):
    freshbooks_webhooks.callbacks_register(
        connection=freshbooks, adapter=FakeCallbacks(fail_with=TransientError("down", provider="freshbooks"))
    )

    assert freshbooks_webhooks.callbacks_register(connection=freshbooks, adapter=FakeCallbacks())

    freshbooks.refresh_from_db()
    assert "webhook_error" not in freshbooks.details


def test_the_card_says_when_the_setting_turns_instant_updates_off(freshbooks, settings):
    settings.FRESHBOOKS_WEBHOOKS = False

    assert freshbooks_webhooks.webhook_state(freshbooks)["message"].startswith(
        "Instant updates off: turned off on this server (FRESHBOOKS_WEBHOOKS=false)"
    )
    assert not freshbooks_webhooks.callbacks_register(connection=freshbooks, adapter=FakeCallbacks())


def test_disconnecting_deletes_the_callbacks(freshbooks, monkeypatch):
    account = FakeCallbacks()
    freshbooks_webhooks.callbacks_register(connection=freshbooks, adapter=account)
    freshbooks.refresh_from_db()
    monkeypatch.setattr(connections, "adapter_for", lambda connection: account)

    connection = connection_disconnect(connection=freshbooks)

    assert sorted(account.deleted) == ["501", "502", "503", "504"] and account.callbacks == {}
    assert connection.status == Connection.Status.DISCONNECTED
    assert not any(key.startswith("webhook_") for key in connection.details)


def test_disconnecting_when_freshbooks_cannot_be_asked_still_disconnects_and_keeps_the_ids(freshbooks, monkeypatch):
    freshbooks_webhooks.callbacks_register(connection=freshbooks, adapter=FakeCallbacks())
    freshbooks.refresh_from_db()
    broken = FakeCallbacks()

    def refuse(callback_id):
        raise TransientError("FreshBooks is having trouble.", provider="freshbooks")

    broken.delete_webhook = refuse
    monkeypatch.setattr(connections, "adapter_for", lambda connection: broken)

    connection = connection_disconnect(connection=freshbooks)

    assert connection.status == Connection.Status.DISCONNECTED
    assert list(connection.details["webhook_callbacks"]) == ["501", "502", "503", "504"]
