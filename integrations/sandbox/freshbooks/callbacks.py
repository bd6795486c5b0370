"""FreshBooks' webhook callbacks in the sandbox, under /sandbox/freshbooks/events/account/<account_id>/.

`events/callbacks`: GET list (paged), POST create; `events/callbacks/<id>`: GET, PUT with
`{"callback": {"verifier": ...}}` (verifies it) or `{"callback": {"resend": true}}` (posts the
verification again while unverified), DELETE (204). Answers are in the SDK fixtures' shapes
(get_callback_response.json, list_callbacks_response.json); errors in the events API's own
`{"errno", "message", "details"}` shape (create_callback_response__validation_error.json,
get_callback_response__not_found.json, get_callback_response__no_auth.json).

Creating a callback makes the sandbox post, like FreshBooks, the form `name=callback.verify&
object_id=<callbackid>&verifier=<v>&account_id=<account>&business_id=..&identity_id=..` to its uri,
signed X-FreshBooks-Hmac-SHA256 = base64(HMAC-SHA256(verifier, JSON of the form)). The post is made
from a background thread once the create answer has been sent (so a single-threaded server that
registers and receives cannot deadlock), after `webhook_delay_ms` (default 500: FreshBooks too posts
a moment later, and its caller needs that moment to save the callback id). The thread only speaks
HTTP: it never touches the database.

Control (`/sandbox/freshbooks/_webhooks`): GET {"deliver", "delay_ms"}; POST {"deliver": false} turns
the verification posts off (tests that do not receive them), {"delay_ms": N} sets the delay.
The sandbox does not post change events: no other provider's sandbox sends webhooks either.
"""

import base64
import functools
import hashlib
import hmac
import json
import logging
import math
import secrets
import threading
import time
from urllib.parse import urlsplit

import requests
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from .. import core
from ..models import SandboxObject, SandboxProvider

logger = logging.getLogger(__name__)

KIND = "callback"
DEFAULT_DELAY_MS = 500
DEFAULT_PER_PAGE = 15
MAX_PER_PAGE = 100
# The events FreshBooks lists on freshbooks.com/api/webhooks; a noun alone subscribes to all its events.
NOUNS = (
    "bill",
    "bill_vendor",
    "category",
    "client",
    "credit_note",
    "estimate",
    "expense",
    "invoice",
    "item",
    "payment",
    "project",
    "recurring",
    "service",
    "tax",
    "time_entry",
)
VERBS = ("create", "update", "delete")
EXTRA_EVENTS = ("invoice.sendByEmail", "estimate.sendByEmail")
EVENTS = frozenset(NOUNS) | {f"{n}.{v}" for n in NOUNS for v in VERBS} | set(EXTRA_EVENTS)

UNAUTHORIZED = {"errno": 401, "message": "invalid_token: The request token failed to authenticate or validate."}
NOT_FOUND = {"errno": 404, "message": "Requested resource could not be found."}
UNPROCESSABLE = "The request was well-formed but was unable to be followed due to semantic errors."


class CallbackError(Exception):
    def __init__(self, status, body):
        super().__init__(body.get("message"))
        self.status = status
        self.body = body


def _unprocessable(*details):
    return CallbackError(422, {"errno": 422, "message": UNPROCESSABLE, "details": list(details)})


# --- Control -----------------------------------------------------------------------------------------


def delivery_settings():
    config = core.provider_row("freshbooks").config
    return {
        "deliver": bool(config.get("webhook_delivery", True)),
        "delay_ms": config.get("webhook_delay_ms", DEFAULT_DELAY_MS),
    }


@csrf_exempt
def control(request):
    if request.method == "POST":
        try:
            wanted = json.loads(request.body or b"{}")
        except ValueError:
            wanted = None
        if not isinstance(wanted, dict):
            return JsonResponse({"error": "The body must be a JSON object."}, status=400)
        delay = wanted.get("delay_ms", 0)
        if not isinstance(delay, (int, float)) or isinstance(delay, bool) or delay < 0:
            return JsonResponse({"error": "delay_ms must be a number of at least 0."}, status=400)
        core.provider_row("freshbooks")
        with transaction.atomic():
            row = SandboxProvider.objects.select_for_update().get(name="freshbooks")
            config = dict(row.config)
            if "deliver" in wanted:
                config["webhook_delivery"] = bool(wanted["deliver"])
            if "delay_ms" in wanted:
                config["webhook_delay_ms"] = delay
            row.config = config
            row.save(update_fields=["config"])
    elif request.method != "GET":
        return JsonResponse({"error": "Use GET or POST."}, status=405)
    return JsonResponse(delivery_settings())


# --- Delivery ----------------------------------------------------------------------------------------


def sign(verifier, form):
    """X-FreshBooks-Hmac-SHA256 of a form: base64(HMAC-SHA256(verifier, JSON of the form data))."""
    message = json.dumps({k: str(v) for k, v in form.items()}).encode()
    return base64.b64encode(hmac.new(verifier.encode(), message, hashlib.sha256).digest()).decode()


def post_form(uri, form, verifier):
    """Post one delivery now; the answer's status, or None when the uri cannot be reached."""
    try:
        answer = requests.post(uri, data=form, headers={"X-FreshBooks-Hmac-SHA256": sign(verifier, form)}, timeout=10)
    except requests.RequestException as exc:
        logger.info("sandbox FreshBooks webhook to %s not delivered: %s", uri, exc)
        return None
    logger.info("sandbox FreshBooks webhook %s to %s: HTTP %s", form.get("name"), uri, answer.status_code)
    return answer.status_code


def _deliver_later(uri, form, verifier, delay_ms):
    def run():
        time.sleep(float(delay_ms) / 1000.0)
        post_form(uri, form, verifier)

    threading.Thread(target=run, name="sandbox-freshbooks-webhook", daemon=True).start()


class _AfterSent(JsonResponse):
    """A JSON answer that starts `then` once the server has sent it (the WSGI server closes a
    response after writing it)."""

    def __init__(self, *args, then, **kwargs):
        super().__init__(*args, **kwargs)
        self._then = then

    def close(self):
        super().close()
        then, self._then = self._then, None
        if then:
            then()


def verification_form(company, data):
    details = company.details or {}
    return {
        "name": "callback.verify",
        "object_id": str(data["callbackid"]),
        "verifier": data["verifier"],
        "account_id": company.external_id,
        "business_id": str(details.get("business_id", company.pk)),
        "identity_id": "1",
    }


# --- The API -----------------------------------------------------------------------------------------


def events_view(view):
    """The core's checks (token, account, limits, faults) with the events API's own error bodies."""
    piped = core.api_view(
        "freshbooks",
        kind="callback",
        company=lambda request, kwargs: kwargs["account_id"],
        methods=["GET", "POST", "PUT", "DELETE"],
    )(view)

    @functools.wraps(piped)
    def wrapper(request, **kwargs):
        response = piped(request, **kwargs)
        if response.status_code == 401:
            return JsonResponse(UNAUTHORIZED, status=401)
        return response

    return wrapper


def public(data):
    """A callback as FreshBooks answers it: never its verifier."""
    return {k: data[k] for k in ("callbackid", "verified", "uri", "event", "updated_at")}


def _stamp():
    return core.now().strftime("%Y-%m-%dT%H:%M:%SZ")


def _body(request):
    try:
        payload = json.loads(request.body or b"null")
    except ValueError:
        raise CallbackError(400, {"errno": 400, "message": "The request body is not JSON."}) from None
    callback = payload.get("callback") if isinstance(payload, dict) else None
    if not isinstance(callback, dict):
        raise _unprocessable("callback: Field required")
    return callback


def _valid_uri(uri):
    if not isinstance(uri, str):
        return False
    parts = urlsplit(uri)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _get(company, callback_id):
    row = SandboxObject.objects.filter(company=company, kind=KIND, object_id=str(callback_id)).first()
    if row is None:
        raise CallbackError(404, NOT_FOUND)
    return row


def _answer(run):
    try:
        with transaction.atomic():
            return run()
    except CallbackError as error:
        return JsonResponse(error.body, status=error.status)


def _int(value, default):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@events_view
def collection(request, ctx, account_id):
    company = ctx.company
    if request.method == "GET":
        return _answer(lambda: _list(company, request.GET))
    if request.method == "POST":
        return _answer(lambda: _create(company, request))
    return JsonResponse({"errno": 405, "message": "Method not allowed here."}, status=405)


def _list(company, query):
    per_page = max(1, min(MAX_PER_PAGE, _int(query.get("per_page"), DEFAULT_PER_PAGE)))
    page = max(1, _int(query.get("page"), 1))
    rows = [row.data for row in core.object_list(company=company, kind=KIND)]
    if query.get("search[event]"):
        # "Matches event and parent event": invoice.create finds invoice.create and invoice callbacks.
        wanted = query["search[event]"]
        rows = [r for r in rows if r["event"] in (wanted, wanted.partition(".")[0])]
    if query.get("search[uri]"):
        rows = [r for r in rows if r["uri"] == query["search[uri]"]]
    shown = rows[(page - 1) * per_page : page * per_page]
    pages = max(1, math.ceil(len(rows) / per_page))
    result = {"callbacks": [public(r) for r in shown], "page": page, "pages": pages, "per_page": per_page, "total": len(rows)}
    return JsonResponse({"response": {"result": result}})


def _create(company, request):
    wanted = _body(request)
    problems = []
    if wanted.get("event") not in EVENTS:
        problems.append("event: Value error, Unrecognized event.")
    if not _valid_uri(wanted.get("uri")):
        problems.append("uri: Input should be a valid URL, relative URL without a base")
    if problems:
        raise _unprocessable(*problems)
    data = {"event": wanted["event"], "uri": wanted["uri"], "verified": False, "updated_at": _stamp()}
    data["verifier"] = secrets.token_urlsafe(24)
    row = core.object_create(company=company, kind=KIND, data=data)
    data["callbackid"] = int(row.object_id)
    core.object_save(row, data=data, bump=False)
    return _verification_answer(company, data, {"response": {"result": {"callback": public(data)}}})


def _verification_answer(company, data, body):
    """`body` as the answer; the verification is posted after it is sent, when delivery is on."""
    settings = delivery_settings()
    if not settings["deliver"]:
        return JsonResponse(body)
    form = verification_form(company, data)
    return _AfterSent(body, then=lambda: _deliver_later(data["uri"], form, data["verifier"], settings["delay_ms"]))


@events_view
def single(request, ctx, account_id, callback_id):
    company = ctx.company
    if request.method == "GET":
        return _answer(lambda: JsonResponse({"response": {"result": {"callback": public(_get(company, callback_id).data)}}}))
    if request.method == "PUT":
        return _answer(lambda: _update(company, callback_id, request))
    if request.method == "DELETE":
        return _answer(lambda: _delete(company, callback_id))
    return JsonResponse({"errno": 405, "message": "Method not allowed here."}, status=405)


def _update(company, callback_id, request):
    row = _get(company, callback_id)
    wanted = _body(request)
    data = dict(row.data)
    if wanted.get("resend"):
        if data["verified"]:
            return JsonResponse({"response": {"result": {"callback": public(data)}}})  # nothing is sent
        return _verification_answer(company, data, {"response": {"result": {"callback": public(data)}}})
    if "verifier" not in wanted:
        raise _unprocessable("callback: Give a verifier, or resend")
    if not isinstance(wanted["verifier"], str) or not hmac.compare_digest(wanted["verifier"], data["verifier"]):
        raise _unprocessable("verifier: Value error, Invalid verifier.")
    data.update({"verified": True, "updated_at": _stamp()})
    core.object_save(row, data=data)
    return JsonResponse({"response": {"result": {"callback": public(data)}}})


def _delete(company, callback_id):
    _get(company, callback_id).delete()
    return HttpResponse(status=204)
