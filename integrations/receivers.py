"""Listeners that turn local changes into sync work (connected by IntegrationsConfig.ready()).

`blueclerk.changes.record_changed` arrives after the change committed. For each connection of the
organization: the changed records' links go back to pending and a push run is requested (or the
active one joined) for them and their dependencies, enqueued after commit. A change whose `origin`
is the connection's own provider (it was imported from there) is not pushed back: no echo.
Drafts are not synced, nor are payments imported from a provider. If this receiver or its task is
lost, the sweep finds the same work within a minute.
"""

import logging

from blueclerk.changes import record_changed
from invoices.models import Invoice, Payment

from .models import Connection, Kind, SyncRun
from .signals import mapping_changed
from .sync import runs

logger = logging.getLogger(__name__)


def connect():
    record_changed.connect(on_record_changed, dispatch_uid="integrations.on_record_changed")
    mapping_changed.connect(on_mapping_changed, dispatch_uid="integrations.on_mapping_changed")


def _syncable_ids(kind, ids):
    if kind == Kind.INVOICE:
        return list(Invoice.objects.filter(pk__in=ids).exclude(status=Invoice.Status.DRAFT).values_list("pk", flat=True))
    if kind == Kind.PAYMENT:
        return list(Payment.objects.filter(pk__in=ids, source="").values_list("pk", flat=True))
    return list(ids)


def on_record_changed(sender, *, organization_id, kind, ids, action, origin=None, **kwargs):
    if kind not in Kind.values or not ids:
        return
    connections = Connection.objects.filter(organization_id=organization_id, status=Connection.Status.CONNECTED)
    if origin:
        connections = connections.exclude(provider=origin)
    connections = list(connections)
    if not connections:
        return
    ids = _syncable_ids(kind, ids)
    if not ids:
        return
    for connection in connections:
        request_sync(connection=connection, ids={kind: ids})


def on_mapping_changed(sender, *, connection_id, item_ids, **kwargs):
    connection = Connection.objects.filter(pk=connection_id, status=Connection.Status.CONNECTED).first()
    if connection is None or not item_ids:
        return
    request_sync(connection=connection, ids={Kind.ITEM: list(item_ids)})


def request_sync(*, connection, ids):
    """Mark the records pending and request an automatic run for them (never raises: the sweep is the
    safety net, and a failing listener must not break the page that saved the record)."""
    try:
        for kind, kind_ids in ids.items():
            runs.links_mark_pending(connection=connection, kind=kind, ids=kind_ids)
        run, must_enqueue = runs.run_request(
            connection=connection, trigger=SyncRun.Trigger.AUTOMATIC, scope=runs.make_scope(kinds=list(ids), ids=ids)
        )
        if must_enqueue:
            runs.enqueue(run)
    except Exception:
        logger.exception("could not request a sync of %s on %s; the sweep will find it", ids, connection)
