"""FreshBooks instant updates: the webhook callbacks registered for a connection.

Receiving, verifying and confirming deliveries is integrations.webhooks; this module registers the
callbacks that make FreshBooks send them, deletes them on disconnect, and says on the card what state
they are in. Without callbacks FreshBooks changes still come back with the scheduled pull.

One callback per record kind the pull applies: `client`, `item`, `invoice`, `payment`. FreshBooks takes
a noun as the event of a callback for all of that noun's events ("create a new callback for a specific
event or a set of events", the callback.create reference of developers.freshbooks.com/docs/callbacks;
the callbacks search filter of freshbooks.com/api/webhooks "matches event and parent event", e.g. an
`invoice.create` search finds the `invoice` callbacks). Should FreshBooks refuse the noun as an event,
the kind's `.create`, `.update` and `.delete` events are registered one by one instead. The verb of
any other event of the noun (invoice.sendByEmail, ...) reads as an update in integrations.webhooks.

Kept in connection.details:
- "webhook_callbacks": {callback_id: event}, the callbacks of this connection at `webhook_uri()` (what a
  `callback.verify` post must name);
- "webhook_pending_verifiers" / "webhook_verifiers": {callback_id: verifier} before and after FreshBooks
  confirmed it (integrations.webhooks.verifier_confirm);
- "webhook_error": why instant updates are off (the last registration failed), absent otherwise.

Registration runs in a task enqueued when the connection is made (connections.connection_save), so the
OAuth callback never waits for it and a failure never undoes the connection. Reconnecting lists the
account's callbacks first and reuses those posting to our URI whose verifier we hold or can still be
sent (unverified ones); a verified callback whose verifier we lost can never sign a delivery we accept,
so it is deleted and registered again. Each new callback id is saved as soon as FreshBooks answers,
because FreshBooks posts the verification to it right after; a verification that still arrives before
the id is saved is refused and is asked for again by the next Reconnect (unverified callbacks without a
verifier get `resend`).

Setting: FRESHBOOKS_WEBHOOKS (default true) turns registration off for the whole server.
"""

import logging

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from ..models import Connection, Provider
from ..providers.base import NotFound, ProviderError, RecordRejected
from ..schedules import SCHEDULES

logger = logging.getLogger(__name__)

NOUNS = ("client", "item", "invoice", "payment")
VERBS = ("create", "update", "delete")
# Keys of connection.details that describe the callbacks of the company the connection was made with.
DETAIL_KEYS = ("webhook_callbacks", "webhook_error", "webhook_pending_verifiers", "webhook_verifiers")


def webhooks_enabled():
    return bool(getattr(settings, "FRESHBOOKS_WEBHOOKS", True)) and bool(settings.SITE_URL)


def webhook_uri():
    """Where FreshBooks posts: SITE_URL + /webhooks/freshbooks/."""
    return f"{settings.SITE_URL.rstrip('/')}{reverse('webhooks:receive', args=['freshbooks'])}"


def pull_minutes():
    return next((minutes for _name, func, minutes in SCHEDULES if func.endswith("pull_all_connections")), 15)


def callbacks_register_later(*, connection):
    """After the connection is committed, enqueue `callbacks_register` for a FreshBooks connection
    (integrations.tasks.freshbooks_webhooks_register). Nothing when the setting is off."""
    if connection.provider != Provider.FRESHBOOKS or not webhooks_enabled():
        return

    def enqueue():
        from django_q.tasks import async_task

        async_task("integrations.tasks.freshbooks_webhooks_register", connection.pk)

    transaction.on_commit(enqueue)


def callbacks_register(*, connection, adapter=None):
    """Make sure FreshBooks posts this connection's client, item, invoice and payment changes to us,
    best effort: returns True when every callback is registered; a failure is logged and kept as
    "webhook_error" (the card shows it) and False is returned. Never raises a ProviderError."""
    if connection.provider != Provider.FRESHBOOKS or not connection.is_usable or not webhooks_enabled():
        return False
    uri = webhook_uri()
    try:
        if adapter is None:
            from .connections import adapter_for

            adapter = adapter_for(connection)
        ours = [c for c in adapter.webhook_callbacks() if c.uri == uri]
        verifiers = _details(connection).get("webhook_verifiers") or {}
        kept = {}
        for callback in ours:
            if callback.verified and callback.callback_id not in verifiers:
                adapter.delete_webhook(callback.callback_id)  # it signs with a verifier we do not have
            else:
                kept[callback.callback_id] = callback
        _remember(connection, callbacks={c.callback_id: c.event for c in kept.values()}, replace=True)
        pending = _details(connection).get("webhook_pending_verifiers") or {}
        for callback in kept.values():
            if not callback.verified and callback.callback_id not in pending:
                adapter.resend_webhook_verification(callback.callback_id)
        covered = {c.event.partition(".")[0] for c in kept.values()}
        for noun in NOUNS:
            if noun not in covered:
                _register_noun(connection, adapter, uri, noun)
    except ProviderError as exc:
        reason = exc.message
        logger.warning("FreshBooks callbacks of connection %s not registered: %s", connection.pk, reason)
        _set_error(connection, reason)
        return False
    _set_error(connection, None)
    return True


def _register_noun(connection, adapter, uri, noun):
    try:
        events = [noun]
        callback_id = adapter.register_webhook(uri, noun)
    except RecordRejected as exc:
        if "event" not in exc.message.lower():
            raise
        events = [f"{noun}.{verb}" for verb in VERBS]
        callback_id = None
    if callback_id is not None:
        _remember(connection, callbacks={callback_id: noun})
        return
    for event in events:
        _remember(connection, callbacks={adapter.register_webhook(uri, event): event})


def _details(connection):
    return Connection.objects.filter(pk=connection.pk).values_list("details", flat=True).first() or {}


def _remember(connection, *, callbacks, replace=False):
    """Add `callbacks` ({id: event}) to the connection's, or make them its only ones (`replace`)."""
    with transaction.atomic():
        locked = Connection.objects.select_for_update().get(pk=connection.pk)
        details = dict(locked.details or {})
        known = {} if replace else dict(details.get("webhook_callbacks") or {})
        known.update({str(k): v for k, v in callbacks.items()})
        details["webhook_callbacks"] = known
        for key in ("webhook_verifiers", "webhook_pending_verifiers"):
            details[key] = {k: v for k, v in (details.get(key) or {}).items() if k in known}
        locked.details = details
        locked.save(update_fields=["details", "updated_at"])
        connection.details = details


def _set_error(connection, reason):
    with transaction.atomic():
        locked = Connection.objects.select_for_update().get(pk=connection.pk)
        details = dict(locked.details or {})
        if reason:
            details["webhook_error"] = reason
        else:
            details.pop("webhook_error", None)
        locked.details = details
        locked.save(update_fields=["details", "updated_at"])
        connection.details = details


def callbacks_delete(*, connection, adapter=None):
    """Delete the connection's callbacks at FreshBooks, best effort (before its grant is revoked).
    Returns the ids deleted (or already gone); the others stay recorded so a reconnect reuses them."""
    ids = list((connection.details or {}).get("webhook_callbacks") or {})
    if connection.provider != Provider.FRESHBOOKS or not ids:
        return []
    deleted = []
    try:
        if adapter is None:
            from .connections import adapter_for

            adapter = adapter_for(connection)
        for callback_id in ids:
            try:
                adapter.delete_webhook(callback_id)
            except NotFound:
                pass
            deleted.append(callback_id)
    except ProviderError as exc:
        logger.warning("FreshBooks callbacks of connection %s not deleted: %s", connection.pk, exc.message)
    with transaction.atomic():
        locked = Connection.objects.select_for_update().get(pk=connection.pk)
        details = dict(locked.details or {})
        left = {k: v for k, v in (details.get("webhook_callbacks") or {}).items() if k not in deleted}
        details["webhook_callbacks"] = left
        for key in ("webhook_verifiers", "webhook_pending_verifiers"):
            details[key] = {k: v for k, v in (details.get(key) or {}).items() if k not in deleted}
        if not left:
            details = {k: v for k, v in details.items() if k not in DETAIL_KEYS}
        locked.details = details
        locked.save(update_fields=["details", "updated_at"])
        connection.details = details
    return deleted


def webhook_state(connection):
    """What the FreshBooks card says about instant updates: {"state", "message"} with state one of
    "off", "setting_up", "registered" (waiting for FreshBooks' verification) or "verified"."""
    minutes = pull_minutes()
    details = connection.details or {}
    if not webhooks_enabled():
        return _off("turned off on this server (FRESHBOOKS_WEBHOOKS=false)", minutes)
    if details.get("webhook_error"):
        return _off(details["webhook_error"], minutes)
    ids = list(details.get("webhook_callbacks") or {})
    if not ids:
        return {"state": "setting_up", "message": "Instant updates are being set up with FreshBooks."}
    verifiers = details.get("webhook_verifiers") or {}
    verified = sum(1 for i in ids if i in verifiers)
    if verified < len(ids):
        return {
            "state": "registered",
            "message": f"Instant updates registered; FreshBooks has verified {verified} of {len(ids)} callbacks "
            f"(changes arrive every {minutes} minutes until then).",
        }
    return {"state": "verified", "message": "Instant updates on: FreshBooks sends changes as they happen."}


def _off(reason, minutes):
    reason = reason.rstrip(".")
    return {"state": "off", "message": f"Instant updates off: {reason}; changes still arrive every {minutes} minutes."}
