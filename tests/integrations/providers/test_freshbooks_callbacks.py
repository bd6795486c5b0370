"""FreshBooks adapter: registering, listing and deleting webhook callbacks (SDK fixture shapes)."""

import json
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from integrations.providers.base import NotFound, RecordRejected
from integrations.providers.freshbooks import WebhookCallback

from .conftest import COMPANY_IDS

CALLBACKS = f"https://api.freshbooks.com/events/account/{COMPANY_IDS['freshbooks']}/events/callbacks"
FIXTURES = Path(__file__).resolve().parents[3] / "integrations" / "contracts" / "freshbooks" / "python-sdk-fixtures"
URI = "https://blueclerk.example/webhooks/freshbooks/"


def fixture(name):
    return json.loads((FIXTURES / name).read_text())


def test_it_registers_a_callback_and_returns_its_id(mocked, make_adapter):
    adapter = make_adapter("freshbooks")
    mocked.post(CALLBACKS, json=fixture("get_callback_response.json"))

    assert adapter.register_webhook(URI, "invoice") == "123"

    [call] = mocked.calls
    assert json.loads(call.request.body) == {"callback": {"event": "invoice", "uri": URI}}
    assert call.request.headers["Authorization"].startswith("Bearer ")


def test_it_handles_a_refused_event_or_uri_as_a_rejection_naming_the_fields(mocked, make_adapter):
    adapter = make_adapter("freshbooks")
    mocked.post(CALLBACKS, status=422, json=fixture("create_callback_response__validation_error.json"))

    with pytest.raises(RecordRejected) as caught:
        adapter.register_webhook("not a uri", "invoice.sneeze")

    assert "event: Value error, Unrecognized event." in caught.value.message
    assert "uri: Input should be a valid URL" in caught.value.message
    assert not isinstance(caught.value, NotFound)


def test_it_lists_every_page_of_callbacks(mocked, make_adapter):
    adapter = make_adapter("freshbooks")
    first = fixture("list_callbacks_response.json")
    first["response"]["result"].update({"page": 1, "pages": 2})
    second = {"response": {"result": {"callbacks": [{**first["response"]["result"]["callbacks"][0], "callbackid": 126}]}}}
    second["response"]["result"].update({"page": 2, "pages": 2, "per_page": 100, "total": 4})
    mocked.get(CALLBACKS, json=first)
    mocked.get(CALLBACKS, json=second)

    callbacks = adapter.webhook_callbacks()

    assert [c.callback_id for c in callbacks] == ["123", "124", "125", "126"]
    assert callbacks[0] == WebhookCallback("123", "invoice.create", "http://freshbooks.com/hook/123", True)
    assert callbacks[2].verified is False
    pages = [parse_qs(urlparse(c.request.url).query)["page"] for c in mocked.calls]
    assert pages == [["1"], ["2"]]


def test_it_deletes_a_callback(mocked, make_adapter):
    adapter = make_adapter("freshbooks")
    mocked.delete(f"{CALLBACKS}/123", status=204)

    adapter.delete_webhook("123")

    assert mocked.calls[0].request.method == "DELETE"


def test_it_handles_a_callback_that_is_gone_as_not_found(mocked, make_adapter):
    adapter = make_adapter("freshbooks")
    mocked.delete(f"{CALLBACKS}/999", status=404, json=fixture("get_callback_response__not_found.json"))

    with pytest.raises(NotFound, match="could not be found"):
        adapter.delete_webhook("999")


def test_it_asks_for_the_verification_to_be_sent_again(mocked, make_adapter):
    adapter = make_adapter("freshbooks")
    mocked.put(f"{CALLBACKS}/125", json=fixture("get_callback_response.json"))

    adapter.resend_webhook_verification("125")

    assert json.loads(mocked.calls[0].request.body) == {"callback": {"resend": True}}
