"""Applying one record read from a provider to our data: the two-way sync rules.

Rules (README "Two-way sync"):
- Customers and items: the most recent change wins. A record changed only in the provider is applied
  here; changed on both sides since the last sync, the later change wins (the provider's updated time
  against our updated_at; a tie goes to our side) and the losing version is kept as a SyncEvent with
  action "conflict". When our side wins, the link takes the provider's current version so the next push
  overwrites the provider's copy instead of failing on a stale version.
- Invoices: our app owns an invoice's content once it exists here; content edited in the provider is
  not applied (the event records that it was seen). Status is: a draft sent in the provider becomes
  sent here; voided or deleted in the provider is marked (below). Invoices we do not know are not
  imported.
- Payments recorded in the provider against an invoice we know are recorded here through
  `payment_record(source=<provider>, origin=<provider>)`, so amounts paid stay SUM(payments) and the
  invoice turns PAID when settled. They are never pushed back.
- No echo: after applying a pulled record, the link's pulled_hash and pushed_hash are both set to the
  hash of the record's now-local payload (the push engine's own hash), so the push finds nothing to send.
- Deleted or voided in the provider: the link is marked deleted_remote and a notification is raised;
  no local data is deleted.

Concurrency: each record is applied in its own transaction. Two pulls of the same connection racing
on the same remote record cannot both create it: the link is unique per (connection, kind, remote id),
so the loser's transaction (including its payment) rolls back and it reports "skipped".
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import logging

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from catalog import services as catalog_services
from catalog.models import Item
from invoices import services as invoice_services
from invoices.models import Customer, Invoice, Payment

from ..models import ExternalLink, Kind, Notification, SyncEvent
from .pull_hash import data_hash, invoice_content, local_payload, local_payload_hash

logger = logging.getLogger(__name__)

# What apply_remote_record reports.
APPLIED = "applied"  # a known record was updated here
CREATED = "created"  # an unknown remote record was created (or linked) here
UNCHANGED = "unchanged"  # nothing new (already applied, or our own push coming back)
CONFLICT_REMOTE_WON = "conflict_remote_won"
CONFLICT_LOCAL_WON = "conflict_local_won"
DELETED = "deleted"  # marked deleted_remote
SKIPPED = "skipped"  # not applied on purpose (unknown invoice, invoice content, ...)
FAILED = "failed"

CUSTOMER_FIELDS = invoice_services.CUSTOMER_FIELDS
ITEM_FIELDS = catalog_services.ITEM_FIELDS
PAYMENT_METHODS = set(Payment.Method.values)


def apply_remote_record(*, connection, record, run=None):
    """Apply one RemoteRecord read from `connection`'s provider. Returns one of the outcomes above.
    Never raises for a record the rules refuse or our validation rejects: that is a FAILED outcome
    with a SyncEvent saying why."""
    handler = {
        Kind.CUSTOMER: _apply_customer,
        Kind.ITEM: _apply_item,
        Kind.INVOICE: _apply_invoice,
        Kind.PAYMENT: _apply_payment,
    }[record.kind]
    try:
        with transaction.atomic():
            return handler(connection, record, run)
    except IntegrityError:
        # Another pull linked the same remote record first (see Concurrency above).
        logger.info("pull race on %s %s %s: the other pull applied it", connection.provider, record.kind, record.remote_id)
        return UNCHANGED
    except ValidationError as exc:
        _event(connection, run, record, None, action="pull", outcome="failed", error=_sentence(exc))
        return FAILED


# --- Customers and items: most recent change wins ---------------------------------------------------


def _apply_customer(connection, record, run):
    return _apply_master(connection, record, run, model=Customer, fields=CUSTOMER_FIELDS)


def _apply_item(connection, record, run):
    return _apply_master(connection, record, run, model=Item, fields=ITEM_FIELDS)


def _apply_master(connection, record, run, *, model, fields):
    link = _link_by_remote(connection, record)
    if record.deleted:
        return _mark_deleted(connection, record, link, run)
    remote = _remote_values(record.data, fields)
    if link is None:
        return _create_or_link(connection, record, run, model=model, remote=remote)
    local = model.objects.filter(organization_id=connection.organization_id, pk=link.local_id).first()
    if local is None:
        _event(connection, run, record, link.local_id, action="pull", outcome="failed", error=_gone_message(connection, record))
        return FAILED
    if _already_seen(link, record):
        return UNCHANGED
    changes = _changes(local, remote)
    if not changes:
        # Our own push coming back, or a change of a field we do not keep: remember the version.
        _remember_remote(link, record)
        link.save()
        return UNCHANGED
    local_hash = local_payload_hash(connection, record.kind, local)
    local_changed = local_hash != link.pushed_hash if link.pushed_hash else _changed_since_sync(local, link)
    if local_changed and not _remote_is_newer(record, local):
        # Our side wins: keep it, record the provider's version as the loser, and let the push
        # overwrite the provider (its version is current now, so the update is not stale).
        _event(
            connection,
            run,
            record,
            local.pk,
            action="conflict",
            outcome="ok",
            request=_values(local, fields),
            response=_plain(record.data),
            error=f"Changed here and in {connection.provider_name}; the change made here is newer and was kept.",
        )
        _remember_remote(link, record)
        link.pulled_hash = data_hash(record.data)
        link.save()
        return CONFLICT_LOCAL_WON
    losing = _values(local, fields) if local_changed else None
    local = _update(model, local, changes, connection)
    _synced(connection, link, record, local)
    if losing is not None:
        _event(
            connection,
            run,
            record,
            local.pk,
            action="conflict",
            outcome="ok",
            request=losing,
            response=_plain(record.data),
            error=f"Changed here and in {connection.provider_name}; the change made in {connection.provider_name} is newer and was applied.",
        )
        return CONFLICT_REMOTE_WON
    _event(connection, run, record, local.pk, action="pull", outcome="ok", request=None, response=_plain(record.data))
    return APPLIED


def _create_or_link(connection, record, run, *, model, remote):
    """An unknown remote customer or item: link it to ours when one has the same name (or code), else
    create it here. Either way it is linked, so later changes on both sides meet."""
    local = _find_unlinked(connection, model, remote)
    action = "link"
    if local is None:
        action = "import"
        if model is Customer:
            local = invoice_services.customer_create(
                organization=connection.organization, origin=connection.provider, **_complete(remote, CUSTOMER_FIELDS)
            )
        else:
            local = catalog_services.item_create(organization=connection.organization, origin=connection.provider, **remote)
    link = ExternalLink(connection=connection, kind=record.kind, local_id=local.pk)
    _synced(connection, link, record, local)
    _event(connection, run, record, local.pk, action=action, outcome="ok", response=_plain(record.data))
    return CREATED


def _find_unlinked(connection, model, remote):
    linked = ExternalLink.objects.filter(connection=connection, kind=Kind.CUSTOMER if model is Customer else Kind.ITEM)
    candidates = model.objects.filter(organization_id=connection.organization_id).exclude(pk__in=linked.values("local_id"))
    if model is Customer:
        name = remote.get("display_name", "")
        return candidates.annotate(lname=Lower("display_name")).filter(lname=name.lower()).first() if name else None
    code = remote.get("code", "")
    if code:
        match = candidates.filter(code=code).first()
        if match:
            return match
    name = remote.get("name", "")
    return candidates.annotate(lname=Lower("name")).filter(lname=name.lower()).first() if name else None


def _update(model, local, changes, connection):
    if model is Customer:
        return invoice_services.customer_update(customer=local, origin=connection.provider, **changes)
    return catalog_services.item_update(item=local, origin=connection.provider, **changes)


def _remote_values(data, fields):
    """The provider's values we keep. Blank text is not applied: several providers do not carry every
    field (FreshBooks has no second address line, Xero items no description on some plans), and a
    missing field must not erase ours."""
    values = {}
    for field in fields:
        if not hasattr(data, field):
            continue
        value = getattr(data, field)
        if isinstance(value, str):
            value = value.strip()
            if not value:
                continue
            if field == "email":
                value = value.lower()
        values[field] = value
    return values


def _complete(remote, fields):
    return {f: v for f, v in remote.items() if f in fields and f != "display_name"} | {
        "display_name": remote.get("display_name", "")
    }


def _changes(local, remote):
    changes = {}
    for field, value in remote.items():
        current = getattr(local, field)
        if isinstance(current, decimal.Decimal):
            if decimal.Decimal(str(value)).quantize(decimal.Decimal("0.01")) == current:
                continue
        elif current == value:
            continue
        changes[field] = value
    return changes


def _changed_since_sync(local, link):
    return link.last_synced_at is None or local.updated_at > link.last_synced_at


def _remote_is_newer(record, local):
    """Compared at the provider's precision: QuickBooks and Xero give whole seconds, so a change
    made here within the same second counts as a tie, and a tie goes to our side."""
    if record.updated_at is None:
        return False
    ours = local.updated_at
    if record.updated_at.microsecond == 0:
        ours = ours.replace(microsecond=0)
    return record.updated_at > ours


# --- Invoices: status only ---------------------------------------------------------------------------


def _apply_invoice(connection, record, run):
    link = _link_by_remote(connection, record)
    if link is None:
        # Invoices made in the provider are not imported (README): nothing to do, nothing to record.
        return SKIPPED
    status = getattr(record.data, "status", "") if record.data is not None else ""
    if record.deleted or status == Invoice.Status.VOID:
        return _mark_deleted(connection, record, link, run)
    invoice = Invoice.objects.filter(organization_id=connection.organization_id, pk=link.local_id).first()
    if invoice is None:
        _event(connection, run, record, link.local_id, action="pull", outcome="failed", error=_gone_message(connection, record))
        return FAILED
    if _already_seen(link, record):
        return UNCHANGED
    outcome = UNCHANGED
    if invoice.status == Invoice.Status.DRAFT and status in (Invoice.Status.SENT, Invoice.Status.PAID):
        invoice = invoice_services.invoice_mark_sent(invoice=invoice)
        _event(connection, run, record, invoice.pk, action="pull", outcome="ok", response={"status": status})
        outcome = APPLIED
    elif record.data is not None:
        ours = local_payload(connection, Kind.INVOICE, invoice)
        if ours is not None and invoice_content(ours) != invoice_content(record.data):
            _event(
                connection,
                run,
                record,
                invoice.pk,
                action="pull",
                outcome="skipped",
                response=_plain(record.data),
                error=(
                    f"Invoice {invoice.number} was edited in {connection.provider_name}. BlueClerk owns the content of "
                    "its invoices, so the edit was not applied here."
                ),
            )
            outcome = SKIPPED
    _synced(connection, link, record, invoice)
    return outcome


# --- Payments: imported, never pushed back -----------------------------------------------------------


def _apply_payment(connection, record, run):
    link = _link_by_remote(connection, record)
    if link is not None:
        if record.deleted:
            return _mark_deleted(connection, record, link, run)
        return UNCHANGED
    if record.deleted:
        return SKIPPED
    data = record.data
    invoice_remote_id = record.invoice_remote_id or getattr(data, "invoice_remote_id", "")
    invoice_link = ExternalLink.objects.filter(
        connection=connection, kind=Kind.INVOICE, remote_id=invoice_remote_id, remote_id__isnull=False
    ).first()
    if not invoice_remote_id or invoice_link is None:
        return SKIPPED  # a payment against an invoice we do not know
    invoice = (
        Invoice.objects.select_for_update().filter(organization_id=connection.organization_id, pk=invoice_link.local_id).first()
    )
    if invoice is None:
        return SKIPPED
    # Two pulls racing on this payment queue on the invoice row; the second one finds the link here
    # instead of reading a balance the first one already settled.
    if ExternalLink.objects.filter(connection=connection, kind=Kind.PAYMENT, remote_id=record.remote_id).exists():
        return UNCHANGED
    method = data.method if data.method in PAYMENT_METHODS else Payment.Method.OTHER
    payment = invoice_services.payment_record(
        invoice=invoice,
        amount=data.amount,
        date=data.date,
        method=method,
        reference=data.reference,
        source=connection.provider,
        origin=connection.provider,
    )
    link = ExternalLink(connection=connection, kind=Kind.PAYMENT, local_id=payment.pk)
    _synced(connection, link, record, payment)
    invoice.refresh_from_db()
    # The invoice may have turned PAID: that is the provider's own state, not a change to send back.
    invoice_hash = local_payload_hash(connection, Kind.INVOICE, invoice)
    ExternalLink.objects.filter(pk=invoice_link.pk).update(pushed_hash=invoice_hash, pulled_hash=invoice_hash)
    _event(connection, run, record, payment.pk, action="import", outcome="ok", response=_plain(data))
    return CREATED


# --- Deleted or voided in the provider ---------------------------------------------------------------


def _mark_deleted(connection, record, link, run):
    if link is None:
        return SKIPPED
    if link.status == ExternalLink.Status.DELETED_REMOTE:
        return UNCHANGED
    link.status = ExternalLink.Status.DELETED_REMOTE
    link.last_error = ""
    _remember_remote(link, record)
    link.save()
    what = _describe(connection, record.kind, link.local_id)
    verb = "voided" if record.kind == Kind.INVOICE and not record.deleted else "deleted"
    Notification.objects.get_or_create(
        organization_id=connection.organization_id,
        dedupe_key=f"deleted_remote:{connection.pk}:{record.kind}:{record.remote_id}",
        defaults={
            "level": Notification.Level.WARNING,
            "title": f"{what} was {verb} in {connection.provider_name}",
            "message": (
                f"{what} was {verb} in {connection.provider_name}. It is kept here unchanged and is no longer synced "
                f"to {connection.provider_name}. Check it and void or correct it here if that is what you want."
            ),
            "connection": connection,
            "run": run,
        },
    )
    _event(connection, run, record, link.local_id, action="delete", outcome="ok", response=_plain(record.data))
    return DELETED


def _describe(connection, kind, local_id):
    if kind == Kind.CUSTOMER:
        obj = Customer.objects.filter(pk=local_id).first()
        return f"Customer {obj.display_name}" if obj else "A customer"
    if kind == Kind.ITEM:
        obj = Item.objects.filter(pk=local_id).first()
        return f"Item {obj.name}" if obj else "An item"
    if kind == Kind.INVOICE:
        obj = Invoice.objects.filter(pk=local_id).first()
        return f"Invoice {obj.number}" if obj else "An invoice"
    obj = Payment.objects.select_related("invoice").filter(pk=local_id).first()
    return f"The payment of {obj.amount} on invoice {obj.invoice.number}" if obj else "A payment"


# --- Links and events --------------------------------------------------------------------------------


def _link_by_remote(connection, record):
    return (
        ExternalLink.objects.select_for_update()
        .filter(connection=connection, kind=record.kind, remote_id=record.remote_id)
        .first()
    )


def _already_seen(link, record):
    """The provider's version of this record was applied (or judged) before: the overlap of cursors and
    repeated webhooks bring the same version again."""
    if not (record.version or record.updated_at):
        return False
    same_version = not record.version or record.version == link.remote_version
    same_time = record.updated_at is None or record.updated_at == link.remote_updated_at
    return same_version and same_time and link.status == ExternalLink.Status.SYNCED


def _remember_remote(link, record):
    if record.version:
        link.remote_version = record.version
    if record.updated_at:
        link.remote_updated_at = record.updated_at
    if record.number:
        link.remote_number = record.number


def _synced(connection, link, record, local):
    """The record now agrees on both sides: mark the link so the push engine sends nothing."""
    link.remote_id = record.remote_id
    _remember_remote(link, record)
    local_hash = local_payload_hash(connection, record.kind, local)
    link.pushed_hash = local_hash
    link.pulled_hash = local_hash
    link.status = ExternalLink.Status.SYNCED
    link.last_error = ""
    link.last_synced_at = timezone.now()
    link.save()


def _event(connection, run, record, local_id, *, action, outcome, request=None, response=None, error=""):
    SyncEvent.objects.create(
        run=run,
        connection=connection,
        kind=record.kind,
        local_id=local_id,
        remote_id=record.remote_id,
        direction="pull",
        action=action,
        outcome=outcome,
        request=request,
        response=response,
        error=error,
    )


def _values(obj, fields):
    return {f: _json_value(getattr(obj, f)) for f in fields}


def _plain(data):
    if data is None:
        return None
    if dataclasses.is_dataclass(data):
        return {k: _json_value(v) for k, v in dataclasses.asdict(data).items()}
    return _json_value(data)


def _json_value(value):
    if isinstance(value, decimal.Decimal | datetime.date | datetime.datetime):
        return str(value)
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    return value


def _gone_message(connection, record):
    return f"The {record.kind} linked to this {connection.provider_name} record no longer exists here."


def _sentence(exc):
    if hasattr(exc, "message_dict"):
        return " ".join(m for messages in exc.message_dict.values() for m in messages)
    return " ".join(exc.messages)
