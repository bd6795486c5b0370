"""Provider webhooks: is this delivery genuine, which connection is it for, which records changed.

Nothing here writes business data. A verified delivery is recorded once (WebhookDelivery, unique per
provider and event) and a targeted pull is enqueued; the pull reads the records from the provider's
API, so a webhook is a hint and the API the truth (QuickBooks aggregates events over minutes, Xero
sends only ids).

Signatures (constant-time comparisons):
- QuickBooks `intuit-signature` = base64(HMAC-SHA256(verifier token, raw body)). Two body formats:
  legacy `{"eventNotifications": [...]}` and CloudEvents (a JSON array, mandatory from 2026).
- Xero `x-xero-signature` = base64(HMAC-SHA256(webhook key, raw body)). An "intent to receive" check is
  a signed delivery with no events: answer 200; unsigned or badly signed: 401, empty body either way.
- FreshBooks: form posts. Registering a callback (services.freshbooks_webhooks) makes FreshBooks post
  `name=callback.verify` with a `verifier`; we keep it as pending and a task confirms it with FreshBooks
  (only the genuine verifier is accepted there), which makes it a signing key of the connection: each
  callback has its own verifier, and any confirmed one may sign. Deliveries carry
  `X-FreshBooks-Hmac-SHA256` = base64(HMAC-SHA256(verifier, JSON of the form data)) per FreshBooks'
  documentation; a signature over the raw body is accepted too.

A genuine delivery whose body is not in the shape the provider documents (a list where an object
belongs, an event without its ids, an id no record could have) raises WebhookMalformed: the view
answers 400 with the reason and records nothing. Never a 500: a provider retries those forever.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import Connection, Kind, Provider, WebhookDelivery
from .providers.base import ProviderError
from .providers.config import provider_config
from .providers.http import hmac_signature_matches

logger = logging.getLogger(__name__)

QUICKBOOKS_KINDS = {"customer": Kind.CUSTOMER, "item": Kind.ITEM, "invoice": Kind.INVOICE, "payment": Kind.PAYMENT}
XERO_KINDS = {"CONTACT": Kind.CUSTOMER, "INVOICE": Kind.INVOICE}
FRESHBOOKS_KINDS = {"client": Kind.CUSTOMER, "item": Kind.ITEM, "invoice": Kind.INVOICE, "payment": Kind.PAYMENT}
OPERATIONS = {"create": "create", "created": "create", "update": "update", "updated": "update", "merge": "update",
              "emailed": "update", "delete": "delete", "deleted": "delete", "void": "void", "voided": "void"}  # fmt: skip


class WebhookRejected(Exception):
    """Bad or missing signature, or a body we cannot read: answer 401 and change nothing."""


class WebhookMalformed(Exception):
    """A genuine delivery whose body is not in the shape the provider documents: answer 400 with the
    reason and change nothing."""

    def __init__(self, provider, reason):
        name = Provider(provider).label
        super().__init__(f"The {name} webhook body is not in the shape {name} documents: {reason}.")


@dataclass
class Event:
    """One change a delivery announces."""

    account: str  # QuickBooks realmId, Xero tenantId, FreshBooks account_id
    key: str  # unique per provider: the event id, or a digest of what identifies the change
    kind: str
    remote_id: str
    operation: str  # create, update, delete, void


@dataclass
class Delivery:
    provider: str
    events: list[Event] = field(default_factory=list)
    # FreshBooks registration handshake: {"account": ..., "callback_id": ..., "verifier": ...}.
    verification: dict | None = None


# --- Parsing -----------------------------------------------------------------------------------------


def delivery_parse(*, provider, body, headers):
    """Verify and parse one delivery. Raises WebhookRejected unless it is genuine and readable, and
    WebhookMalformed when it is genuine but not in the shape its provider documents."""
    parse = {"quickbooks": _quickbooks, "xero": _xero, "freshbooks": _freshbooks}.get(provider)
    if parse is None:
        raise WebhookRejected(f"{provider} does not send webhooks.")
    try:
        return parse(body, headers)
    except RecursionError:  # only a signed body is read, so this one is genuine
        raise WebhookMalformed(provider, "it is nested too deeply") from None


def _quickbooks(body, headers):
    secret = provider_config("quickbooks").webhook_secret
    if not hmac_signature_matches(secret=secret, body=body, signature=headers.get("intuit-signature", "")):
        raise WebhookRejected("Bad QuickBooks signature.")
    payload = _json(body)
    shape = _Shape("quickbooks")
    events = []
    if isinstance(payload, list):  # CloudEvents
        for i, ce in enumerate(payload):
            where = f"event {i}"
            shape.object(ce, where)
            # type: qbo.<entity>.<operation>.v1
            parts = shape.text(ce, "type", where).split(".")
            account = shape.identifier(ce, "intuitaccountid", where)
            remote_id = shape.identifier(ce, "intuitentityid", where)
            event_id = shape.identifier(ce, "id", where, required=False)
            if len(parts) < 3 or parts[1] not in QUICKBOOKS_KINDS:
                continue
            events.append(
                Event(
                    account=account,
                    key=f"ce:{event_id or _digest(ce)}",
                    kind=QUICKBOOKS_KINDS[parts[1]],
                    remote_id=remote_id,
                    operation=_operation(parts[2]),
                )
            )
    elif isinstance(payload, dict):
        for n, notification in enumerate(shape.list(payload, "eventNotifications", "the body")):
            where = f"eventNotifications[{n}]"
            shape.object(notification, where)
            realm = shape.identifier(notification, "realmId", where)
            change = shape.member(notification, "dataChangeEvent", where)
            for e, entity in enumerate(shape.list(change, "entities", f"{where}.dataChangeEvent")):
                at = f"{where}.dataChangeEvent.entities[{e}]"
                shape.object(entity, at)
                name = shape.text(entity, "name", at).lower()
                remote_id = shape.identifier(entity, "id", at)
                if name not in QUICKBOOKS_KINDS:
                    continue
                events.append(
                    Event(
                        account=realm,
                        key="legacy:"
                        + _digest([realm, name, entity.get("id"), entity.get("operation"), entity.get("lastUpdated")]),
                        kind=QUICKBOOKS_KINDS[name],
                        remote_id=remote_id,
                        operation=_operation(entity.get("operation")),
                    )
                )
    else:
        raise WebhookRejected("Unreadable QuickBooks webhook.")
    return Delivery(provider="quickbooks", events=events)


def _xero(body, headers):
    secret = provider_config("xero").webhook_secret
    if not hmac_signature_matches(secret=secret, body=body, signature=headers.get("x-xero-signature", "")):
        raise WebhookRejected("Bad Xero signature.")
    payload = _json(body)
    if not isinstance(payload, dict):
        raise WebhookRejected("Unreadable Xero webhook.")
    shape = _Shape("xero")
    events = []
    for i, ev in enumerate(shape.list(payload, "events", "the body")):
        where = f"events[{i}]"
        shape.object(ev, where)
        category = shape.text(ev, "eventCategory", where)
        account = shape.identifier(ev, "tenantId", where)
        remote_id = shape.identifier(ev, "resourceId", where)
        kind = XERO_KINDS.get(category.upper())
        if kind is None:
            continue
        events.append(
            Event(
                account=account,
                key=_digest(
                    [
                        ev.get("tenantId"),
                        ev.get("eventCategory"),
                        ev.get("resourceId"),
                        ev.get("eventType"),
                        ev.get("eventDateUtc"),
                    ]
                ),
                kind=kind,
                remote_id=remote_id,
                operation=_operation(ev.get("eventType")),
            )
        )
    return Delivery(provider="xero", events=events)


def _freshbooks(body, headers):
    try:
        form = dict(parse_qsl(body.decode(), keep_blank_values=True))
    except UnicodeDecodeError:
        raise WebhookRejected("Unreadable FreshBooks webhook.") from None
    name = form.get("name", "")
    account = form.get("account_id", "")
    connection = _connection("freshbooks", account)
    if connection is None:
        raise WebhookRejected("No FreshBooks connection for this account.")
    details = connection.details or {}
    if name == "callback.verify":
        # Accepted only for a callback we registered; it signs nothing until FreshBooks confirms it.
        callback_id = form.get("object_id", "")
        registered = set(details.get("webhook_callbacks") or {})
        if not form.get("verifier") or callback_id not in registered:
            raise WebhookRejected("Unexpected FreshBooks verification.")
        _Shape("freshbooks").identifier(form, "verifier", "the verification")
        return Delivery(
            provider="freshbooks",
            verification={"account": account, "callback_id": callback_id, "verifier": form["verifier"]},
        )
    signature = headers.get("x-freshbooks-hmac-sha256", "")
    signed_form = json.dumps({k: str(v) for k, v in form.items()}).encode()
    # Each callback has its own verifier, and a delivery is signed with the verifier of the callback
    # that sent it: any confirmed verifier of the connection may sign.
    if not any(
        hmac_signature_matches(secret=verifier, body=signed_form, signature=signature)
        or hmac_signature_matches(secret=verifier, body=body, signature=signature)
        for verifier in confirmed_verifiers(details)
    ):
        raise WebhookRejected("Bad FreshBooks signature.")
    shape = _Shape("freshbooks")
    shape.text(form, "name", "the event")
    remote_id = shape.identifier(form, "object_id", "the event")
    obj, _, op = name.partition(".")
    kind = FRESHBOOKS_KINDS.get(obj)
    events = []
    if kind:
        events.append(
            Event(
                account=account,
                key=_digest([account, name, form.get("object_id"), form.get("user_id"), body.decode()]),
                kind=kind,
                remote_id=remote_id,
                operation=_operation(op),
            )
        )
    return Delivery(provider="freshbooks", events=events)


def _json(body):
    try:
        return json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise WebhookRejected("The webhook body is not JSON.") from None


# The longest id we keep: ExternalLink.remote_id and Connection.company_id hold 100 characters.
IDENTIFIER_MAX = 100


class _Shape:
    """Checks one delivery's body against the shape its provider documents; each check returns the
    value it checked and raises WebhookMalformed naming the place and what is wrong."""

    def __init__(self, provider):
        self.provider = provider

    def fail(self, reason):
        raise WebhookMalformed(self.provider, reason)

    def object(self, value, where):
        if not isinstance(value, dict):
            self.fail(f"{where} is {_described(value)}, not an object")
        return value

    def member(self, container, key, where):
        """container[key], which must be an object."""
        if key not in container:
            self.fail(f"{where} has no {key}")
        return self.object(container[key], f"{where}.{key}")

    def list(self, container, key, where):
        if key not in container:
            self.fail(f"{where} has no {key}")
        value = container[key]
        if not isinstance(value, list):
            self.fail(f"{key} in {where} is {_described(value)}, not a list")
        return value

    def text(self, container, key, where):
        value = container.get(key)
        if not isinstance(value, str) or not value:
            self.fail(f"{where} has no {key}" if value in (None, "") else f"{key} in {where} is {_described(value)}, not text")
        return value

    def identifier(self, container, key, where, *, required=True):
        """An id as text or a whole number, one a record could have: at most IDENTIFIER_MAX characters,
        no NUL and nothing that is not Unicode (neither can be stored)."""
        value = container.get(key)
        if value in (None, "") and not required:
            return ""
        if value in (None, ""):
            self.fail(f"{where} has no {key}")
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            self.fail(f"{key} in {where} is {_described(value)}, not an id")
        text = str(value)
        if len(text) > IDENTIFIER_MAX:
            self.fail(f"{key} in {where} is longer than {IDENTIFIER_MAX} characters")
        if not _storable(text):
            self.fail(f"{key} in {where} contains characters no id has")
        return text


def _described(value):
    if value is None:
        return "null"
    return {bool: "true or false", int: "a number", float: "a number", str: "text", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__
    )


def _storable(text):
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, as JSON's \ud800 gives
        return False
    return True


def _operation(word):
    """create, update, delete or void; a word we do not know (or none) reads as an update."""
    return OPERATIONS.get(word.lower() if isinstance(word, str) else "", "update")


def _digest(parts):
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _connection(provider, account):
    if not account or not _storable(account):
        return None
    return Connection.objects.filter(provider=provider, company_id=account).exclude(status=Connection.Status.DISCONNECTED).first()


# --- Recording ---------------------------------------------------------------------------------------


def delivery_record(*, delivery):
    """Record each new event once and group the new changes per connection.

    Returns {connection_id: [{"kind", "remote_id", "operation"}, ...]} for the events not seen before;
    events for accounts we are not connected to are dropped. A FreshBooks verification is stored as
    the connection's pending verifier."""
    if delivery.verification:
        v = delivery.verification
        with transaction.atomic():
            connection = Connection.objects.select_for_update().get(pk=_connection("freshbooks", v["account"]).pk)
            pending = dict(connection.details.get("webhook_pending_verifiers") or {})
            pending[v["callback_id"]] = v["verifier"]
            connection.details = {**connection.details, "webhook_pending_verifiers": pending}
            connection.save(update_fields=["details", "updated_at"])
        return {}
    work = {}
    for event in delivery.events:
        connection = _connection(delivery.provider, event.account)
        if connection is None:
            logger.info("%s webhook for an account we are not connected to", delivery.provider)
            continue
        change = {"kind": event.kind, "remote_id": event.remote_id, "operation": event.operation}
        try:
            with transaction.atomic():
                row = WebhookDelivery.objects.create(
                    provider=delivery.provider, connection=connection, event_key=event.key, changes=[change]
                )
        except IntegrityError:
            continue  # delivered before: applied once
        work.setdefault(connection.pk, []).append(change | {"delivery_id": row.pk})
    return work


def deliveries_processed(*, changes):
    """Mark the deliveries behind `changes` (as returned by delivery_record) as applied."""
    ids = [c["delivery_id"] for c in changes if c.get("delivery_id")]
    WebhookDelivery.objects.filter(pk__in=ids, processed_at__isnull=True).update(processed_at=timezone.now())


def verifier_confirm(*, connection, adapter=None):
    """Confirm the FreshBooks callbacks' pending verifiers with FreshBooks; once it accepts one, that
    verifier signs the deliveries of its callback. Returns True when at least one was confirmed. A
    verifier FreshBooks refuses stays pending and its error is raised after the others were tried."""
    pending = _pending_verifiers(connection.details or {})
    if not pending:
        return False
    if adapter is None:
        from .sync.pull import adapter_for

        adapter = adapter_for(connection)
    confirmed, failure = False, None
    for callback_id, verifier in pending.items():
        try:
            adapter.confirm_webhook(callback_id=callback_id, verifier=verifier)
        except ProviderError as exc:
            failure = failure or exc
            continue
        with transaction.atomic():
            locked = Connection.objects.select_for_update().get(pk=connection.pk)
            details = dict(locked.details or {})
            if _pending_verifiers(details).get(callback_id) != verifier:
                continue  # a newer verification arrived meanwhile: its own task confirms it
            waiting = {k: v for k, v in (details.get("webhook_pending_verifiers") or {}).items() if k != callback_id}
            details["webhook_pending_verifiers"] = waiting
            details["webhook_verifiers"] = {**(details.get("webhook_verifiers") or {}), callback_id: verifier}
            locked.details = details
            locked.save(update_fields=["details", "updated_at"])
            confirmed = True
    if failure is not None:
        raise failure
    return confirmed


def _pending_verifiers(details):
    """{callback_id: verifier} waiting for FreshBooks' confirmation."""
    return {str(k): v for k, v in (details.get("webhook_pending_verifiers") or {}).items() if v}


def confirmed_verifiers(details):
    """Every verifier FreshBooks confirmed for this connection's callbacks (a deleted callback's
    verifier leaves with it)."""
    return [v for v in (details.get("webhook_verifiers") or {}).values() if v]


# --- Enqueueing --------------------------------------------------------------------------------------


def enqueue_pull(*, connection_id, changes):
    """Run the targeted pull in a task (integrations.tasks.pull_webhook_changes)."""
    from django_q.tasks import async_task

    async_task("integrations.tasks.pull_webhook_changes", connection_id, changes)


def enqueue_verification(*, account):
    """Confirm a FreshBooks callback's pending verifier in a task (integrations.tasks.webhook_confirm)."""
    from django_q.tasks import async_task

    connection = _connection("freshbooks", account)
    async_task("integrations.tasks.webhook_confirm", connection.pk)
