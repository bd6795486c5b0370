"""get_access_token: refresh before expiry under the row lock, rotation saved, invalid_grant handling."""

import datetime
import json
import threading

import pytest
import responses
from django.core import mail
from django.db import connection as db
from django.utils import timezone

from integrations import crypto
from integrations.models import Connection, Credential, Notification
from integrations.providers.base import ReconnectRequired, TokenSet, TransientError
from integrations.providers.config import provider_config
from integrations.tokens import credential_store, get_access_token, keep_alive, token_provider_for
from tests.factories import ConnectionFactory, MembershipFactory
from tests.integrations import connecting

sandbox = connecting.sandbox
MESSAGE = "Your QuickBooks connection has expired. Go to Settings → Integrations → Reconnect QuickBooks."


@pytest.fixture
def quickbooks(db):
    connection = ConnectionFactory(provider="quickbooks")
    MembershipFactory(organization=connection.organization, role="owner", user__email="owner@example.com")
    MembershipFactory(organization=connection.organization, role="staff", user__email="staff@example.com")
    return connection


def store(connection, *, access="old-access", refresh="old-refresh", expires_in=3600):
    return credential_store(
        connection=connection, tokens=TokenSet(access_token=access, refresh_token=refresh, expires_in=expires_in)
    )


def token_url():
    return provider_config("quickbooks").token_url


def refreshed(access="new-access", refresh="new-refresh"):
    body = {"access_token": access, "refresh_token": refresh, "expires_in": 3600, "x_refresh_token_expires_in": 8726400}
    return responses.Response(responses.POST, token_url(), json=body)


@responses.activate
def test_it_returns_a_valid_token_without_asking_the_provider(quickbooks):
    store(quickbooks)

    assert get_access_token(quickbooks) == "old-access"
    assert len(responses.calls) == 0


@responses.activate
def test_it_refreshes_shortly_before_expiry_and_saves_the_rotated_refresh_token(quickbooks):
    store(quickbooks, expires_in=120)  # inside the five-minute margin
    responses.add(refreshed())

    assert get_access_token(quickbooks) == "new-access"

    credential = Credential.objects.get(connection=quickbooks)
    assert crypto.decrypt(credential.refresh_token_encrypted) == "new-refresh"
    assert credential.refresh_count == 1
    assert credential.access_token_expires_at > timezone.now() + datetime.timedelta(minutes=50)
    assert credential.refresh_token_expires_at > timezone.now() + datetime.timedelta(days=99)
    # QuickBooks: client credentials by HTTP Basic, the refresh token in a form body.
    request = responses.calls[0].request
    assert request.headers["Authorization"].startswith("Basic ")
    assert "refresh_token=old-refresh" in request.body and "grant_type=refresh_token" in request.body


@responses.activate
def test_invalid_grant_marks_the_connection_and_tells_the_admins_once(quickbooks, django_capture_on_commit_callbacks):
    store(quickbooks, expires_in=-10)
    responses.add(responses.POST, token_url(), json={"error": "invalid_grant"}, status=400)

    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(ReconnectRequired) as first:
            get_access_token(quickbooks)
        with pytest.raises(ReconnectRequired) as second:
            get_access_token(quickbooks)

    assert str(first.value) == str(second.value) == MESSAGE
    assert len(responses.calls) == 1  # the second call did not ask again
    quickbooks.refresh_from_db()
    assert quickbooks.status == Connection.Status.RECONNECT_REQUIRED
    assert quickbooks.reconnect_required_at is not None
    notification = Notification.objects.get(organization=quickbooks.organization)
    assert notification.message == MESSAGE and notification.dedupe_key
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["owner@example.com"]
    assert MESSAGE in mail.outbox[0].body and "invalid_grant" not in mail.outbox[0].body


@responses.activate
def test_invalid_grant_after_someone_else_rotated_the_token_uses_theirs(quickbooks):
    store(quickbooks, expires_in=-10)

    def rotated_elsewhere(request):
        # Another process (outside our lock) rotated the refresh token just before our request arrived.
        Credential.objects.filter(connection=quickbooks).update(
            refresh_token_encrypted=crypto.encrypt("their-refresh"),
            access_token_encrypted=crypto.encrypt("their-access"),
            access_token_expires_at=timezone.now() + datetime.timedelta(hours=1),
        )
        return 400, {}, json.dumps({"error": "invalid_grant"})

    responses.add_callback(responses.POST, token_url(), callback=rotated_elsewhere)

    assert get_access_token(quickbooks) == "their-access"
    quickbooks.refresh_from_db()
    assert quickbooks.status == Connection.Status.CONNECTED
    assert not Notification.objects.exists()


@responses.activate
def test_a_provider_outage_is_not_a_lost_grant(quickbooks):
    store(quickbooks, expires_in=-10)
    responses.add(responses.POST, token_url(), body="<html>Bad gateway</html>", status=502)

    with pytest.raises(TransientError):
        get_access_token(quickbooks)

    quickbooks.refresh_from_db()
    assert quickbooks.status == Connection.Status.CONNECTED
    assert crypto.decrypt(Credential.objects.get(connection=quickbooks).refresh_token_encrypted) == "old-refresh"


@responses.activate
def test_a_forced_refresh_is_skipped_when_another_process_already_replaced_the_token(quickbooks):
    store(quickbooks)
    provider = token_provider_for(quickbooks)
    assert provider() == "old-access"
    store(quickbooks, access="replaced-access", refresh="replaced-refresh")  # someone refreshed meanwhile

    assert provider(force_refresh=True) == "replaced-access"
    assert len(responses.calls) == 0

    responses.add(refreshed())
    assert provider(force_refresh=True) == "new-access"  # the provider rejected the current one: refresh
    assert len(responses.calls) == 1


def test_the_token_provider_never_shows_a_token(quickbooks):
    store(quickbooks)
    provider = token_provider_for(quickbooks)
    provider()
    assert "old-access" not in repr(provider)


@responses.activate
def test_a_disconnected_connection_gives_no_token(quickbooks):
    store(quickbooks)
    Connection.objects.filter(pk=quickbooks.pk).update(status=Connection.Status.DISCONNECTED)

    with pytest.raises(ReconnectRequired, match="QuickBooks is not connected"):
        get_access_token(quickbooks)


@responses.activate
@pytest.mark.parametrize(
    ("provider", "auth", "body_has"),
    [
        ("xero", "basic", "refresh_token=old-refresh"),
        ("wave", None, "client_secret=sandbox-secret"),
        ("freshbooks", None, '"redirect_uri": "http://testserver/settings/integrations/freshbooks/callback/"'),
    ],
)
def test_each_provider_gets_its_own_client_authentication(db, provider, auth, body_has):
    connection = ConnectionFactory(provider=provider)
    store(connection, expires_in=-10)
    responses.add(
        responses.POST,
        provider_config(provider).token_url,
        json={"access_token": "a", "refresh_token": "r", "expires_in": 1800, "token_type": "Bearer"},
    )

    assert get_access_token(connection) == "a"

    request = responses.calls[0].request
    body = request.body.decode() if isinstance(request.body, bytes) else request.body
    assert body_has in body
    assert ("Authorization" in request.headers) == (auth == "basic")
    if provider == "freshbooks":
        assert request.headers["Content-Type"] == "application/json"
        assert json.loads(body)["client_id"] == "sandbox-client"


@responses.activate
def test_keep_alive_refreshes_idle_connections_and_marks_lost_grants(db):
    idle = ConnectionFactory(provider="quickbooks")
    store(idle)
    Credential.objects.filter(connection=idle).update(refreshed_at=timezone.now() - datetime.timedelta(days=30))
    lost = ConnectionFactory(provider="xero")
    store(lost)
    Credential.objects.filter(connection=lost).update(refreshed_at=timezone.now() - datetime.timedelta(days=30))
    recent = ConnectionFactory(provider="wave")
    store(recent)
    responses.add(refreshed())
    responses.add(responses.POST, provider_config("xero").token_url, json={"error": "invalid_grant"}, status=400)

    counts = keep_alive()

    assert counts == {"refreshed": 1, "reconnect_required": 1, "failed": 0}
    assert crypto.decrypt(Credential.objects.get(connection=idle).refresh_token_encrypted) == "new-refresh"
    assert Connection.objects.get(pk=lost.pk).status == Connection.Status.RECONNECT_REQUIRED
    assert len(responses.calls) == 2  # the recently refreshed one was left alone


@pytest.mark.postgres
@pytest.mark.e2e
def test_eight_threads_with_an_expired_token_cause_exactly_one_refresh(transactional_db, sandbox):
    minted = connecting.control(sandbox, "quickbooks", method="post", mint_token=True)
    connection = ConnectionFactory(provider="quickbooks", company_id=minted["company"])
    store(connection, access=minted["access_token"], refresh=minted["refresh_token"], expires_in=-60)
    connecting.control(sandbox, "quickbooks", method="post", expire_access_tokens=True)
    before = connecting.control(sandbox, "quickbooks")
    start = threading.Barrier(8)
    tokens, errors = [], []

    def ask():
        try:
            start.wait(timeout=10)
            tokens.append(get_access_token(Connection.objects.get(pk=connection.pk)))
        except Exception as exc:
            errors.append(repr(exc))
        finally:
            db.close()

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    report = connecting.control(sandbox, "quickbooks")
    assert errors == []
    assert len(tokens) == 8 and len(set(tokens)) == 1
    assert report["refreshes"] - before["refreshes"] == 1
    assert report["invalid_grants"] - before["invalid_grants"] == 0
    assert Credential.objects.get(connection=connection).refresh_count == 1
