"""The FreshBooks sandbox's webhook callbacks over real HTTP, driven by the official SDK: the fixtures'
shapes, the verification post made after the create answer, verify, resend, delete, the off switch."""

import json
import queue
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest
import requests
from freshbooks.errors import FreshBooksError

from integrations.sandbox.freshbooks.callbacks import sign

# The books and sdk fixtures are the FreshBooks sandbox tests' own: imported, so their names are reused as parameters.
# ruff: noqa: F811
from .test_freshbooks import assert_parses_like, books, fixture, sdk  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def receiver():
    """A local endpoint that keeps every form posted to it (with its signature header)."""
    posts = queue.Queue()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            posts.put((dict(parse_qsl(body.decode())), self.headers.get("X-FreshBooks-Hmac-SHA256")))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.uri = f"http://127.0.0.1:{server.server_address[1]}/webhooks/freshbooks/"
    server.posts = posts
    yield server
    server.shutdown()
    server.server_close()


def delivery(books, **settings):
    answer = requests.post(f"{books.base}/_webhooks", json=settings, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_it_answers_a_create_like_the_fixture_then_posts_the_signed_verification(sdk, books, receiver):
    delivery(books, deliver=True, delay_ms=0)

    created = sdk.callbacks.create(books.account_id, {"event": "invoice", "uri": receiver.uri})

    form, signature = receiver.posts.get(timeout=20)
    callback_id = created.data["callbackid"]
    assert created.data["verified"] is False and created.data["event"] == "invoice"
    assert_parses_like({"callback": created.data}, fixture("get_callback_response.json")["response"]["result"])
    assert (form["name"], form["object_id"], form["account_id"]) == ("callback.verify", str(callback_id), books.account_id)
    assert form["verifier"] and signature == sign(form["verifier"], form)
    assert "verifier" not in created.data


def test_it_verifies_a_callback_only_with_its_verifier(sdk, books, receiver):
    delivery(books, deliver=True, delay_ms=0)
    callback_id = sdk.callbacks.create(books.account_id, {"event": "client.update", "uri": receiver.uri}).data["callbackid"]
    form, _ = receiver.posts.get(timeout=20)

    with pytest.raises(FreshBooksError) as refused:
        sdk.callbacks.verify(books.account_id, callback_id, "not-the-verifier")
    verified = sdk.callbacks.verify(books.account_id, callback_id, form["verifier"])

    assert refused.value.status_code == 422 and "verifier" in json.dumps(refused.value.raw_response)
    assert verified.data["verified"] is True
    assert sdk.callbacks.get(books.account_id, callback_id).data["verified"] is True


def test_it_lists_callbacks_like_the_fixture_and_pages_them(sdk, books):
    delivery(books, deliver=False)
    for event in ("client", "item", "invoice"):
        sdk.callbacks.create(books.account_id, {"event": event, "uri": "https://example.test/hook"})

    answer = requests.get(
        f"{books.base}/events/account/{books.account_id}/events/callbacks",
        params={"per_page": 2, "page": 2},
        headers={"Authorization": f"Bearer {books.token}"},
        timeout=30,
    ).json()

    assert_parses_like(answer, fixture("list_callbacks_response.json"))
    result = answer["response"]["result"]
    assert [c["event"] for c in result["callbacks"]] == ["invoice"]
    assert (result["page"], result["pages"], result["total"]) == (2, 2, 3)


def test_it_refuses_a_bad_event_or_uri_in_the_fixtures_validation_shape(books):
    answer = requests.post(
        f"{books.base}/events/account/{books.account_id}/events/callbacks",
        json={"callback": {"event": "invoice.sneeze", "uri": "/relative"}},
        headers={"Authorization": f"Bearer {books.token}"},
        timeout=30,
    )

    assert answer.status_code == 422
    assert answer.json() == fixture("create_callback_response__validation_error.json")


def test_it_deletes_a_callback_and_then_cannot_find_it(sdk, books):
    delivery(books, deliver=False)
    callback_id = sdk.callbacks.create(books.account_id, {"event": "payment", "uri": "https://example.test/hook"}).data[
        "callbackid"
    ]

    sdk.callbacks.delete(books.account_id, callback_id)
    gone = requests.get(
        f"{books.base}/events/account/{books.account_id}/events/callbacks/{callback_id}",
        headers={"Authorization": f"Bearer {books.token}"},
        timeout=30,
    )

    assert gone.status_code == 404 and gone.json() == fixture("get_callback_response__not_found.json")


def test_it_answers_without_a_token_in_the_fixtures_shape(books):
    answer = requests.get(f"{books.base}/events/account/{books.account_id}/events/callbacks", timeout=30)

    assert answer.status_code == 401 and answer.json() == fixture("get_callback_response__no_auth.json")


def test_delivery_can_be_turned_off_and_a_resend_posts_the_same_verifier(sdk, books, receiver):
    assert delivery(books, deliver=False, delay_ms=0) == {"deliver": False, "delay_ms": 0}
    callback_id = sdk.callbacks.create(books.account_id, {"event": "item", "uri": receiver.uri}).data["callbackid"]
    delivery(books, deliver=True)

    sdk.callbacks.resend_verification(books.account_id, callback_id)
    form, _ = receiver.posts.get(timeout=20)
    sdk.callbacks.verify(books.account_id, callback_id, form["verifier"])
    sdk.callbacks.resend_verification(books.account_id, callback_id)  # verified: nothing is sent
    sdk.callbacks.create(books.account_id, {"event": "client", "uri": receiver.uri})
    last, _ = receiver.posts.get(timeout=20)

    # The create made while delivery was off posted nothing, nor did the resend of a verified callback:
    # the resend's post and the last create's are the only two.
    assert form["object_id"] == str(callback_id)
    assert last["object_id"] != str(callback_id)
    assert receiver.posts.empty()
