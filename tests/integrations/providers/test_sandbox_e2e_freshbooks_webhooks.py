"""FreshBooks instant updates end to end over the sandbox (live_server): connect FreshBooks, the
registration task registers the callbacks, the sandbox posts each verification to our webhook
endpoint, the confirm task sends the verifiers back, and a delivery signed with one is accepted."""

import time
from urllib.parse import urlencode

import pytest
import requests
from django.urls import reverse

from integrations import tasks, webhooks
from integrations.models import Connection
from integrations.sandbox.freshbooks.callbacks import sign
from integrations.services import freshbooks_webhooks
from tests.integrations.connecting import connect_in_browser, owner_client, sandbox  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for(check, *, attempts=200, pause=0.05):
    """Poll `check` a bounded number of times (the sandbox posts from a background thread)."""
    for _ in range(attempts):
        value = check()
        if value:
            return value
        time.sleep(pause)
    return check()


def test_connecting_freshbooks_registers_verifies_and_then_accepts_signed_deliveries(
    owner_client,  # noqa: F811
    sandbox,  # noqa: F811
    monkeypatch,
):
    # The sandbox's default delay: like FreshBooks, the verification comes a moment after the create's
    # answer, once the callback id is saved.
    requests.post(f"{sandbox}/sandbox/freshbooks/_webhooks", json={"deliver": True}, timeout=30)
    confirmations, pulls = [], []
    monkeypatch.setattr("django_q.tasks.async_task", lambda *args, **kw: confirmations.append(args))
    monkeypatch.setattr(webhooks, "enqueue_pull", lambda **kw: pulls.append(kw))

    connect_in_browser(owner_client, "freshbooks")
    connection = Connection.objects.get(provider="freshbooks")
    assert ("integrations.tasks.freshbooks_webhooks_register", connection.pk) in confirmations

    assert tasks.freshbooks_webhooks_register(connection.pk) == "registered"
    connection.refresh_from_db()
    ids = list(connection.details["webhook_callbacks"])
    assert sorted(connection.details["webhook_callbacks"].values()) == ["client", "invoice", "item", "payment"]

    def all_pending():
        details = Connection.objects.get(pk=connection.pk).details
        return len(details.get("webhook_pending_verifiers") or {}) == len(ids)

    assert wait_for(all_pending), Connection.objects.get(pk=connection.pk).details
    assert tasks.webhook_confirm(connection.pk) is True

    connection.refresh_from_db()
    assert set(connection.details["webhook_verifiers"]) == set(ids)
    assert not connection.details["webhook_pending_verifiers"]
    assert freshbooks_webhooks.webhook_state(connection)["state"] == "verified"
    assert "Instant updates on" in owner_client.get(reverse("integrations:index")).content.decode()

    invoice_callback = next(i for i, event in connection.details["webhook_callbacks"].items() if event == "invoice")
    verifier = connection.details["webhook_verifiers"][invoice_callback]
    fields = {"name": "invoice.update", "object_id": "77", "account_id": connection.company_id, "user_id": "1"}
    posted = owner_client.post(
        "/webhooks/freshbooks/",
        urlencode(fields),
        content_type="application/x-www-form-urlencoded",
        headers={"X-FreshBooks-Hmac-SHA256": sign(verifier, fields)},
    )
    forged = owner_client.post(
        "/webhooks/freshbooks/",
        urlencode(fields),
        content_type="application/x-www-form-urlencoded",
        headers={"X-FreshBooks-Hmac-SHA256": sign("not-a-verifier", fields)},
    )

    assert (posted.status_code, forged.status_code) == (200, 401)
    assert [(c["kind"], c["remote_id"], c["operation"]) for c in pulls[0]["changes"]] == [("invoice", "77", "update")]
    listed = requests.get(
        f"{sandbox}/sandbox/freshbooks/events/account/{connection.company_id}/events/callbacks",
        headers={"Authorization": f"Bearer {_token(connection)}"},
        timeout=30,
    ).json()["response"]["result"]["callbacks"]
    assert {str(c["callbackid"]): c["verified"] for c in listed} == dict.fromkeys(ids, True)


def _token(connection):
    from integrations.tokens import token_provider_for

    return token_provider_for(connection)()
