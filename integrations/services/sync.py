"""Requesting pushes: what pages, admin actions, the API and the `sync` command call.

Each service decides under the connection's row lock whether to start a run or join the active one
(integrations.sync.runs), marks what it was asked to send as pending, and enqueues the run's task after
commit. They return the SyncRun to follow (`sync_run_progress`).
"""

from django.core.exceptions import ValidationError
from django.db import transaction

from catalog.models import Item
from invoices.models import Invoice

from ..models import Connection, ExternalLink, Kind, SyncRun
from ..providers.base import reconnect_message
from ..sync import runs

MAX_SELECTED_ITEMS = 100
RETRYABLE = (ExternalLink.Status.FAILED, ExternalLink.Status.BLOCKED, ExternalLink.Status.NEEDS_MAPPING)


def _check_usable(connection):
    """Refuse to request a push the connection cannot send. The refusal for a connection needing
    reconnection has code "reconnect_required", so the API answers it as ReconnectRequired (401)."""
    if connection.status == Connection.Status.RECONNECT_REQUIRED:
        raise ValidationError(reconnect_message(connection.provider_name), code="reconnect_required")
    if not connection.is_usable:
        raise ValidationError(f"{connection.provider_name} is not connected.")


def _request(connection, trigger, scope, requested_by):
    run, must_enqueue = runs.run_request(connection=connection, trigger=trigger, scope=scope, requested_by=requested_by)
    if must_enqueue:
        runs.enqueue(run)
    return run


@transaction.atomic
def sync_now(*, connection, requested_by=None):
    """Push every out-of-date record of the connection, whatever the catalog size, in one run."""
    _check_usable(connection)
    return _request(connection, SyncRun.Trigger.MANUAL, runs.make_scope(), requested_by)


@transaction.atomic
def invoice_sync(*, invoice, connection, requested_by=None):
    """ "Sync/Resync to <Provider>": the invoice (with its customer and items when they are not synced)
    and every payment recorded on it that is not yet synced."""
    _check_usable(connection)
    if invoice.organization_id != connection.organization_id:
        raise ValidationError("This invoice belongs to another organization.")
    if invoice.status == Invoice.Status.DRAFT:
        raise ValidationError(f"Invoice {invoice.number} is a draft: mark it sent before syncing it.")
    if (
        invoice.status == Invoice.Status.VOID
        and not ExternalLink.objects.filter(
            connection=connection, kind=Kind.INVOICE, local_id=invoice.pk, remote_id__isnull=False
        ).exists()
    ):
        raise ValidationError(f"Invoice {invoice.number} is void and was never sent to {connection.provider_name}.")
    synced = ExternalLink.objects.filter(connection=connection, kind=Kind.PAYMENT, status=ExternalLink.Status.SYNCED).values_list(
        "local_id", flat=True
    )
    payment_ids = list(invoice.payments.filter(source="").exclude(pk__in=synced).values_list("pk", flat=True))
    runs.links_mark_pending(connection=connection, kind=Kind.INVOICE, ids=[invoice.pk])
    runs.links_mark_pending(connection=connection, kind=Kind.PAYMENT, ids=payment_ids)
    ids = {Kind.INVOICE: [invoice.pk], Kind.PAYMENT: payment_ids}
    return _request(connection, SyncRun.Trigger.INVOICE, runs.make_scope(ids=ids), requested_by)


@transaction.atomic
def items_sync_selected(*, connection, item_ids, requested_by=None):
    """Push the chosen items (at most 100 a request)."""
    _check_usable(connection)
    item_ids = sorted({int(i) for i in item_ids})
    if not item_ids:
        raise ValidationError("Choose at least one item to sync.")
    if len(item_ids) > MAX_SELECTED_ITEMS:
        raise ValidationError(
            f"You can sync at most {MAX_SELECTED_ITEMS} items at a time; you chose {len(item_ids)}. "
            "Use Sync Now to send the whole catalog."
        )
    found = list(Item.objects.filter(organization_id=connection.organization_id, pk__in=item_ids).values_list("pk", flat=True))
    if len(found) != len(item_ids):
        raise ValidationError("Some of the chosen items are not in your catalog.")
    runs.links_mark_pending(connection=connection, kind=Kind.ITEM, ids=found)
    return _request(
        connection, SyncRun.Trigger.SELECTED, runs.make_scope(kinds=[Kind.ITEM], ids={Kind.ITEM: found}), requested_by
    )


@transaction.atomic
def items_sync_unmapped(*, connection, requested_by=None):
    """Push every item that was waiting for an income account (after the mapping was completed)."""
    _check_usable(connection)
    ids = list(
        ExternalLink.objects.filter(connection=connection, kind=Kind.ITEM, status=ExternalLink.Status.NEEDS_MAPPING).values_list(
            "local_id", flat=True
        )
    )
    runs.links_mark_pending(connection=connection, kind=Kind.ITEM, ids=ids)
    return _request(connection, SyncRun.Trigger.SELECTED, runs.make_scope(kinds=[Kind.ITEM]), requested_by)


def not_retryable_message(link):
    """Why Retry refuses a record that is not waiting on a person (synced, pending, uncertain...)."""
    return f"This record is {link.get_status_display().lower()}: only failed, blocked and unmapped records are retried."


@transaction.atomic
def sync_retry(*, connection, link_ids=None, requested_by=None):
    """Try failed, blocked and needs-mapping records again: all of them, or the links `link_ids`.
    Uncertain records stay uncertain (they are looked up before anything is created)."""
    _check_usable(connection)
    links = ExternalLink.objects.filter(connection=connection, status__in=RETRYABLE)
    if link_ids is not None:
        waiting = ExternalLink.objects.filter(connection=connection, pk__in=list(link_ids)).exclude(status__in=RETRYABLE)
        refused = waiting.first()
        if refused is not None:
            raise ValidationError(not_retryable_message(refused))
        links = links.filter(pk__in=list(link_ids))
    ids = {}
    for kind, local_id in links.values_list("kind", "local_id"):
        ids.setdefault(kind, []).append(local_id)
    links.update(status=ExternalLink.Status.PENDING, attempted_hash="")
    scope = runs.make_scope(ids=ids) if link_ids is not None else runs.make_scope()
    return _request(connection, SyncRun.Trigger.RETRY, scope, requested_by)


def sync_run_progress(*, run):
    """What a progress bar shows, fresh from the database."""
    run = SyncRun.objects.get(pk=run.pk)
    return {
        "id": run.pk,
        "status": run.status,
        "status_display": run.get_status_display(),
        "active": run.is_active,
        "total": run.total,
        "done": run.done,
        "succeeded": run.succeeded,
        "failed": run.failed,
        "blocked": run.blocked,
        "percent": run.percent,
        "requests": run.requests,
        "batches": run.batches,
        "fallbacks": run.fallbacks,
        "throttled": run.throttled,
        "continuations": run.continuations,
        "error": run.error,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
    }
