"""Signed webhook bodies of random shapes: never a 500. Each is answered 200 (read), 400 (not in the
shape the provider documents: a readable reason, nothing written) or 401 (not a JSON object or list at
all, as before). Bodies are the documented ones with one part replaced by a random value, or removed;
seeded, so a failure names the seed and the body that caused it."""

import json
import random
from urllib.parse import urlencode

import pytest
from django_q.models import OrmQ

from integrations.models import WebhookDelivery
from tests.integrations.pull.test_webhooks import sign

pytestmark = pytest.mark.django_db

SEEDS = range(12)
BODIES_PER_SEED = 25
NAMES = {"quickbooks": "QuickBooks", "xero": "Xero", "freshbooks": "FreshBooks"}
# Characters that have broken webhook handling before: NUL, a lone surrogate, separators, non-ASCII.
ODD_TEXT = ["", "x", "1", "\x00", "\ud800", "é", "&=%", "qbo.customer.updated.v1", "CONTACT", "realm-1", "9" * 150]


def documented(provider):
    if provider == "quickbooks-legacy":
        entity = {"name": "Customer", "id": "1", "operation": "Update", "lastUpdated": "2026-03-02T10:00:00.000Z"}
        return {"eventNotifications": [{"realmId": "realm-1", "dataChangeEvent": {"entities": [entity]}}]}
    if provider == "quickbooks-cloudevents":
        return [
            {
                "specversion": "1.0",
                "id": "e1",
                "type": "qbo.invoice.created.v1",
                "intuitentityid": "5",
                "intuitaccountid": "realm-1",
            }
        ]
    event = {"resourceId": "abc", "eventType": "UPDATE", "eventCategory": "INVOICE", "tenantId": "tenant-1"}
    return {"events": [event], "firstEventSequence": 1, "lastEventSequence": 1, "entropy": "X"}


def any_value(rng, depth=0):
    choice = rng.randrange(9 if depth < 3 else 6)
    if choice == 0:
        return None
    if choice == 1:
        return rng.choice([True, False])
    if choice == 2:
        return rng.choice([0, -1, 7, 10**30, 1.5])
    if choice in (3, 4, 5):
        return rng.choice(ODD_TEXT)
    if choice in (6, 7):
        return [any_value(rng, depth + 1) for _ in range(rng.randrange(3))]
    keys = ["id", "name", "type", "realmId", "entities", "events", "resourceId", "tenantId", "eventCategory", "zz"]
    return {rng.choice(keys): any_value(rng, depth + 1) for _ in range(rng.randrange(3))}


def places(value):
    """Every (container, key) in `value`, to pick one to change."""
    found = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, child in items:
        found.append((value, key))
        found.extend(places(child))
    return found


def mutated(rng, body):
    if rng.random() < 0.1:
        return any_value(rng)
    spots = places(body)
    container, key = rng.choice(spots)
    if isinstance(container, dict) and rng.random() < 0.3:
        del container[key]
    else:
        container[key] = any_value(rng)
    return body


@pytest.fixture
def connected(connect):
    connect("quickbooks", "realm-1")
    connect("xero", "tenant-1")
    connect("freshbooks", "acct-1", details={"webhook_verifiers": {"2001": "v3rif1er"}, "webhook_callbacks": {"2001": "invoice"}})


def written():
    return WebhookDelivery.objects.count(), OrmQ.objects.count()


def assert_answered_without_error(response, provider, payload, before):
    assert response.status_code in (200, 400, 401), payload
    if response.status_code == 400:
        name = NAMES[provider]
        assert response.json()["detail"].startswith(f"The {name} webhook body is not in the shape {name} documents: "), payload
        assert written() == before, payload
    if response.status_code == 401:
        assert response.content == b"", payload
        readable = (dict, list) if provider == "quickbooks" else (dict,)
        assert not isinstance(payload, readable), payload  # a signed object or list is read, or refused with a reason


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", ["quickbooks-legacy", "quickbooks-cloudevents", "xero"])
def test_a_signed_json_body_of_any_shape_is_never_a_server_error(client, connected, seed, shape):
    rng = random.Random(f"{shape}-{seed}")
    provider, header = ("xero", "x-xero-signature") if shape == "xero" else ("quickbooks", "intuit-signature")
    answers = set()
    for _ in range(BODIES_PER_SEED):
        payload = mutated(rng, documented(shape))
        raw = json.dumps(payload).encode()
        before = written()

        response = client.post(f"/webhooks/{provider}/", data=raw, content_type="application/json", headers={header: sign(raw)})

        assert_answered_without_error(response, provider, payload, before)
        answers.add(response.status_code)
    assert 400 in answers  # the mutations do reach the shape checks


@pytest.mark.parametrize("seed", SEEDS)
def test_a_signed_freshbooks_form_of_any_fields_is_never_a_server_error(client, connected, seed):
    rng = random.Random(f"freshbooks-{seed}")
    fields = ["name", "object_id", "account_id", "user_id", "business_id", "verifier", "zz"]
    for _ in range(BODIES_PER_SEED):
        payload = {"name": "invoice.create", "object_id": "7", "account_id": "acct-1"}
        for field in rng.sample(fields, rng.randrange(1, 4)):
            if rng.random() < 0.3:
                payload.pop(field, None)
            else:
                payload[field] = rng.choice([*ODD_TEXT[:3], *ODD_TEXT[5:], "\x00", "callback.verify", "2001"])
        raw = urlencode(payload).encode()
        before = written()

        response = client.post(
            "/webhooks/freshbooks/",
            data=raw,
            content_type="application/x-www-form-urlencoded",
            headers={"X-FreshBooks-Hmac-SHA256": sign(raw, "v3rif1er")},
        )

        assert response.status_code in (200, 400, 401), payload
        if response.status_code == 400:
            assert response.json()["detail"].startswith("The FreshBooks webhook body is not in the shape FreshBooks documents: ")
            assert written() == before, payload
