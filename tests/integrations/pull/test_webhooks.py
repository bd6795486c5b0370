import base64
import hashlib
import hmac
import json
from urllib.parse import urlencode

import pytest
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from integrations import tasks, webhooks
from integrations.models import Connection, WebhookDelivery
from invoices.models import Customer
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

KEY = "sandbox-webhook-key"  # tests run with PROVIDER_SANDBOX, whose default webhook secret this is


def sign(body, key=KEY):
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def qbo_body(realm="realm-1", entity="Customer", entity_id="1", operation="Update", last="2026-03-02T10:00:00.000Z"):
    return json.dumps(
        {
            "eventNotifications": [
                {
                    "realmId": realm,
                    "dataChangeEvent": {
                        "entities": [{"name": entity, "id": entity_id, "operation": operation, "lastUpdated": last}]
                    },
                }
            ]
        }
    ).encode()


def post(client, provider, body, content_type="application/json", **headers):
    return client.post(f"/webhooks/{provider}/", data=body, content_type=content_type, headers=headers)


@pytest.fixture
def enqueued(monkeypatch):
    calls = []
    monkeypatch.setattr(webhooks, "enqueue_pull", lambda **kw: calls.append(kw))
    return calls


# QuickBooks ---------------------------------------------------------------------------------------


def test_it_answers_401_to_a_bad_signature_and_changes_nothing(client, connection, enqueued):
    body = qbo_body()

    assert post(client, "quickbooks", body, **{"intuit-signature": sign(body, "wrong-key")}).status_code == 401
    assert post(client, "quickbooks", body).status_code == 401
    assert not WebhookDelivery.objects.exists() and enqueued == []


def test_it_enqueues_a_targeted_pull_for_a_signed_quickbooks_event(client, connection):
    body = qbo_body(entity="Invoice", entity_id="130")

    response = post(client, "quickbooks", body, **{"intuit-signature": sign(body)})

    assert response.status_code == 200
    [task] = OrmQ.objects.all()
    package = SignedPackage.loads(task.payload)
    assert package["func"] == "integrations.tasks.pull_webhook_changes"
    connection_id, changes = package["args"]
    assert connection_id == connection.pk
    assert [(c["kind"], c["remote_id"], c["operation"]) for c in changes] == [("invoice", "130", "update")]


def test_the_same_event_delivered_twice_is_enqueued_once(client, connection, enqueued):
    body = qbo_body()
    for _ in range(2):
        assert post(client, "quickbooks", body, **{"intuit-signature": sign(body)}).status_code == 200

    assert len(enqueued) == 1
    assert WebhookDelivery.objects.count() == 1


def test_it_reads_quickbooks_cloudevents(client, connection, enqueued):
    body = json.dumps(
        [
            {
                "specversion": "1.0",
                "id": "evt-88",
                "type": "qbo.payment.created.v1",
                "time": "2026-03-02T10:00:00Z",
                "intuitentityid": "77",
                "intuitaccountid": "realm-1",
                "data": {},
            },
            {
                "specversion": "1.0",
                "id": "evt-89",
                "type": "qbo.vendor.created.v1",
                "intuitentityid": "5",
                "intuitaccountid": "realm-1",
            },
        ]
    ).encode()

    assert post(client, "quickbooks", body, **{"intuit-signature": sign(body)}).status_code == 200
    assert enqueued == [
        {
            "connection_id": connection.pk,
            "changes": [
                {"kind": "payment", "remote_id": "77", "operation": "create", "delivery_id": WebhookDelivery.objects.get().pk}
            ],
        }
    ]


def test_events_for_a_company_we_are_not_connected_to_are_dropped(client, connection, enqueued):
    body = qbo_body(realm="someone-else")

    assert post(client, "quickbooks", body, **{"intuit-signature": sign(body)}).status_code == 200
    assert enqueued == [] and not WebhookDelivery.objects.exists()


# Xero ---------------------------------------------------------------------------------------------


def test_it_passes_xeros_intent_to_receive_check(client, connect):
    connect(provider="xero", company_id="tenant-1")
    body = json.dumps({"events": [], "firstEventSequence": 0, "lastEventSequence": 0, "entropy": "QWERTY"}).encode()

    good = post(client, "xero", body, **{"x-xero-signature": sign(body)})
    bad = post(client, "xero", body, **{"x-xero-signature": sign(body, "nope")})

    assert (good.status_code, good.content) == (200, b"")
    assert (bad.status_code, bad.content) == (401, b"")


def test_it_reads_xero_contact_events(client, connect, enqueued):
    connection = connect(provider="xero", company_id="tenant-1")
    event = {
        "resourceUrl": "https://api.xero.com/api.xro/2.0/Contacts/abc",
        "resourceId": "abc",
        "eventDateUtc": "2026-03-02T10:00:00.000",
        "eventType": "UPDATE",
        "eventCategory": "CONTACT",
        "tenantId": "tenant-1",
        "tenantType": "ORGANISATION",
    }
    body = json.dumps({"events": [event], "firstEventSequence": 1, "lastEventSequence": 1, "entropy": "X"}).encode()

    assert post(client, "xero", body, **{"x-xero-signature": sign(body)}).status_code == 200
    assert [(c["kind"], c["remote_id"]) for c in enqueued[0]["changes"]] == [("customer", "abc")]
    assert enqueued[0]["connection_id"] == connection.pk


# FreshBooks ---------------------------------------------------------------------------------------


@pytest.fixture
def freshbooks(connect):
    return connect(provider="freshbooks", company_id="acct-1", details={"webhook_callbacks": {"2001": "client"}})


def form(**fields):
    return urlencode(fields).encode()


def test_a_freshbooks_verifier_for_our_callback_is_kept_pending_until_freshbooks_confirms_it(client, freshbooks, monkeypatch):
    confirms = []
    monkeypatch.setattr(webhooks, "enqueue_verification", lambda **kw: confirms.append(kw))
    body = form(name="callback.verify", object_id="2001", account_id="acct-1", verifier="v3rif1er")

    assert post(client, "freshbooks", body, content_type="application/x-www-form-urlencoded").status_code == 200

    freshbooks.refresh_from_db()
    assert freshbooks.details["webhook_pending_verifiers"] == {"2001": "v3rif1er"}
    assert "webhook_verifiers" not in freshbooks.details
    assert confirms == [{"account": "acct-1"}]

    class Adapter:
        def confirm_webhook(self, *, callback_id, verifier):
            self.sent = (callback_id, verifier)

    adapter = Adapter()
    assert webhooks.verifier_confirm(connection=freshbooks, adapter=adapter)
    freshbooks.refresh_from_db()
    assert adapter.sent == ("2001", "v3rif1er")
    assert freshbooks.details["webhook_verifiers"] == {"2001": "v3rif1er"}
    assert freshbooks.details["webhook_pending_verifiers"] == {}


def test_a_freshbooks_verification_for_a_callback_we_did_not_register_is_refused(client, freshbooks):
    body = form(name="callback.verify", object_id="666", account_id="acct-1", verifier="forged")

    assert post(client, "freshbooks", body, content_type="application/x-www-form-urlencoded").status_code == 401
    freshbooks.refresh_from_db()
    assert "webhook_pending_verifiers" not in freshbooks.details


def test_a_freshbooks_event_signed_with_the_verifier_is_accepted(client, freshbooks, enqueued):
    Connection.objects.filter(pk=freshbooks.pk).update(
        details={"webhook_callbacks": {"2001": "client"}, "webhook_verifiers": {"2001": "v3rif1er"}}
    )
    fields = {
        "name": "client.update",
        "object_id": "55",
        "account_id": "acct-1",
        "business_id": "9",
        "identity_id": "1",
        "user_id": "1",
    }
    body = form(**fields)
    signature = sign(json.dumps(fields).encode(), "v3rif1er")

    bad = post(
        client,
        "freshbooks",
        body,
        content_type="application/x-www-form-urlencoded",
        **{"X-FreshBooks-Hmac-SHA256": sign(body, "x")},
    )
    good = post(
        client, "freshbooks", body, content_type="application/x-www-form-urlencoded", **{"X-FreshBooks-Hmac-SHA256": signature}
    )

    assert (bad.status_code, good.status_code) == (401, 200)
    assert [(c["kind"], c["remote_id"], c["operation"]) for c in enqueued[0]["changes"]] == [("customer", "55", "update")]


def test_wave_has_no_webhooks(client):
    assert post(client, "wave", b"{}").status_code == 401


# The task -----------------------------------------------------------------------------------------


def test_the_webhook_task_applies_the_change_and_marks_the_delivery(client, connection, link, organization, monkeypatch, adapter):
    from integrations.providers.base import CustomerData

    customer = CustomerFactory(organization=organization, email="old@example.com")
    link(connection, "customer", customer, "1")
    adapter.put("customer", "1", CustomerData(display_name=customer.display_name, email="new@example.com"))
    monkeypatch.setattr("integrations.sync.pull.adapter_for", lambda connection: adapter)
    captured = []
    monkeypatch.setattr(webhooks, "enqueue_pull", lambda **kw: captured.append(kw))
    body = qbo_body(entity="Customer", entity_id="1")
    post(client, "quickbooks", body, **{"intuit-signature": sign(body)})

    tasks.pull_webhook_changes(captured[0]["connection_id"], captured[0]["changes"])

    assert Customer.objects.get(pk=customer.pk).email == "new@example.com"
    assert WebhookDelivery.objects.get().processed_at is not None
