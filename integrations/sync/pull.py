"""Pulling changes back from a provider: per connection and kind, from a cursor that survives restarts.

`pull_connection(connection)` reads every kind the provider offers from its SyncCursor and applies each
record by the two-way rules in `pull_apply`. `pull_changes(connection, changes)` is the targeted pull a
webhook asks for: it reads just the named records.

How far back a pull reads: from the cursor minus an overlap (a day for FreshBooks, whose filter has day
granularity in US/Eastern time; a few minutes elsewhere, for clock skew between us and the provider).
The overlap brings some records twice; pull_apply recognises a version it has seen and skips it.
A kind's cursor moves, to the time its pull started, only once every record of that kind was read
without a transient failure, so an interrupted pull is repeated rather than lost. Without a cursor a
pull starts from when the connection was made: what existed before is the import wizard's job.

Each provider's adapter implements `changed(kind, since)` with its own mechanism: QuickBooks Change
Data Capture (`changedSince`), Xero `If-Modified-Since` with paging, FreshBooks `updated_min`, Wave
`modifiedAtAfter` for customers and invoices and payments read per changed invoice.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections import Counter

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ..models import Connection, Kind, SyncCursor, SyncRun
from ..providers.base import NotFound, ProviderError, ReconnectRequired, RemoteRecord
from . import pull_apply

logger = logging.getLogger(__name__)

# What each provider lets us read back, in dependency order (customers and items before the invoices
# and payments that refer to them). Wave's API has no item change filter: its products are not pulled.
PULL_KINDS = {
    "quickbooks": (Kind.CUSTOMER, Kind.ITEM, Kind.INVOICE, Kind.PAYMENT),
    "xero": (Kind.CUSTOMER, Kind.ITEM, Kind.INVOICE, Kind.PAYMENT),
    "freshbooks": (Kind.CUSTOMER, Kind.ITEM, Kind.INVOICE, Kind.PAYMENT),
    "wave": (Kind.CUSTOMER, Kind.INVOICE, Kind.PAYMENT),
}
OVERLAP = {"freshbooks": datetime.timedelta(days=1)}
DEFAULT_OVERLAP = datetime.timedelta(minutes=5)


def adapter_for(connection):
    """The connection's adapter, made as the push engine makes it (token provider, shared throttle)."""
    from .runs import adapter_factory_for

    _, factory = adapter_factory_for(connection)
    return factory()


# --- Cursors -----------------------------------------------------------------------------------------


def cursor_get(*, connection, kind):
    """When the last complete pull of `kind` started (aware datetime), or None."""
    value = SyncCursor.objects.filter(connection=connection, kind=kind).values_list("value", flat=True).first()
    return parse_datetime(value) if value else None


def cursor_set(*, connection, kind, value):
    SyncCursor.objects.update_or_create(connection=connection, kind=kind, defaults={"value": value.isoformat()})


def pull_since(*, connection, kind):
    """Where a pull of `kind` starts reading: the cursor (or the connection time) minus the overlap."""
    start = cursor_get(connection=connection, kind=kind) or connection.connected_at
    if start is None:
        return None
    return start - OVERLAP.get(connection.provider, DEFAULT_OVERLAP)


# --- Pulls -------------------------------------------------------------------------------------------


def pull_connection(*, connection, kinds=None, adapter=None, trigger=SyncRun.Trigger.PULL, budget_seconds=None):
    """Pull every kind of `connection` (or `kinds`) from its cursor and apply it. Returns the SyncRun.

    Stops at the time budget (settings.SYNC_TIME_BUDGET_SECONDS): kinds not finished keep their cursor
    and `run.scope["unfinished"]` lists them, so the caller can continue in a new task. A
    ReconnectRequired stops the run with the friendly message; any other provider failure ends that
    kind (its cursor stays) and the pull goes on with the next kind."""
    kinds = [k for k in (kinds or PULL_KINDS[connection.provider]) if k in PULL_KINDS[connection.provider]]
    run = _start(connection, trigger, {"kinds": kinds})
    if not connection.is_usable:
        return _finish(run, Counter(), error=_unusable_message(connection), status=SyncRun.Status.FAILED)
    deadline = time.monotonic() + (budget_seconds if budget_seconds is not None else settings.SYNC_TIME_BUDGET_SECONDS)
    outcomes = Counter()
    errors, unfinished = [], []
    try:
        adapter = adapter or adapter_for(connection)
        for kind in kinds:
            if time.monotonic() >= deadline:
                unfinished.append(kind)
                continue
            started = timezone.now()
            try:
                complete = _pull_kind(connection, adapter, kind, run, outcomes, deadline)
            except NotImplementedError:
                logger.info("%s cannot read changed %s records", connection.provider, kind)
                continue
            except ReconnectRequired:
                raise
            except ProviderError as exc:
                logger.warning("pull of %s %s stopped: %s", connection.provider, kind, exc)
                errors.append(f"Reading {kind}s from {connection.provider_name} failed: {exc.message}")
                continue
            if complete:
                cursor_set(connection=connection, kind=kind, value=started)
            else:
                unfinished.append(kind)
    except ReconnectRequired as exc:
        return _finish(run, outcomes, error=exc.message, status=SyncRun.Status.RECONNECT_REQUIRED, adapter=adapter)
    run.scope = {**run.scope, "unfinished": unfinished}
    return _finish(run, outcomes, error=" ".join(errors), adapter=adapter)


def pull_changes(*, connection, changes, adapter=None, trigger=SyncRun.Trigger.WEBHOOK):
    """The targeted pull a webhook asks for. `changes`: [{"kind", "remote_id", "operation"}] as parsed
    by integrations.webhooks. Each named record is read (a delete is applied without reading) and
    applied by the same rules as a full pull. Xero has no payment events, so a change to an invoice
    there also pulls payments from the cursor."""
    changes = [c for c in changes if c.get("kind") in PULL_KINDS[connection.provider]]
    run = _start(connection, trigger, {"changes": changes})
    if not connection.is_usable:
        return _finish(run, Counter(), error=_unusable_message(connection), status=SyncRun.Status.FAILED)
    outcomes = Counter()
    errors = []
    try:
        adapter = adapter or adapter_for(connection)
        for change in _unique(changes):
            kind, remote_id = change["kind"], str(change["remote_id"])
            try:
                if change.get("operation") in ("delete", "void"):
                    record = RemoteRecord(kind=kind, remote_id=remote_id, deleted=True)
                else:
                    record = adapter.fetch(kind, remote_id)
            except NotFound:
                record = RemoteRecord(kind=kind, remote_id=remote_id, deleted=True)
            except ReconnectRequired:
                raise
            except ProviderError as exc:
                errors.append(f"Reading {kind} {remote_id} from {connection.provider_name} failed: {exc.message}")
                continue
            outcomes[pull_apply.apply_remote_record(connection=connection, record=record, run=run)] += 1
        if connection.provider == "xero" and any(c["kind"] == Kind.INVOICE for c in changes):
            started = timezone.now()
            if _pull_kind(connection, adapter, Kind.PAYMENT, run, outcomes, deadline=None):
                cursor_set(connection=connection, kind=Kind.PAYMENT, value=started)
    except ReconnectRequired as exc:
        return _finish(run, outcomes, error=exc.message, status=SyncRun.Status.RECONNECT_REQUIRED, adapter=adapter)
    except ProviderError as exc:
        errors.append(f"Reading from {connection.provider_name} failed: {exc.message}")
    return _finish(run, outcomes, error=" ".join(errors), adapter=adapter)


def _pull_kind(connection, adapter, kind, run, outcomes, deadline):
    """Apply every changed record of `kind`. False when the time budget ran out first."""
    since = pull_since(connection=connection, kind=kind)
    for record in adapter.changed(kind, since):
        outcomes[pull_apply.apply_remote_record(connection=connection, record=record, run=run)] += 1
        if sum(outcomes.values()) % 50 == 0:
            _heartbeat(run, outcomes)
        if deadline is not None and time.monotonic() >= deadline:
            return False
    return True


def _unique(changes):
    seen = set()
    for change in changes:
        key = (change["kind"], str(change["remote_id"]))
        if key not in seen:
            seen.add(key)
            yield change


# --- Runs --------------------------------------------------------------------------------------------


def _start(connection, trigger, scope):
    now = timezone.now()
    return SyncRun.objects.create(
        connection=connection,
        trigger=trigger,
        direction="pull",
        status=SyncRun.Status.RUNNING,
        scope=scope,
        started_at=now,
        heartbeat_at=now,
    )


def _heartbeat(run, outcomes):
    run.heartbeat_at = timezone.now()
    _count(run, outcomes)
    run.save(update_fields=["heartbeat_at", "done", "total", "succeeded", "failed"])


def _count(run, outcomes):
    run.succeeded = sum(n for o, n in outcomes.items() if o != pull_apply.FAILED)
    run.failed = outcomes[pull_apply.FAILED]
    run.done = sum(outcomes.values())
    run.total = run.done


def _finish(run, outcomes, *, error="", status=None, adapter=None):
    _count(run, outcomes)
    run.scope = {**run.scope, "outcomes": dict(outcomes)}
    if adapter is not None and getattr(adapter, "stats", None) is not None:
        run.requests = adapter.stats.requests
        run.throttled = adapter.stats.throttled
    if status is None:
        status = SyncRun.Status.PARTIAL if (error or run.failed) else SyncRun.Status.SUCCEEDED
    run.status = status
    run.error = error
    run.finished_at = timezone.now()
    run.save()
    if status == SyncRun.Status.RECONNECT_REQUIRED:
        Connection.objects.filter(pk=run.connection_id).update(last_error=error)
    return run


def _unusable_message(connection):
    if connection.status == Connection.Status.RECONNECT_REQUIRED:
        from ..providers.base import reconnect_message

        return reconnect_message(connection.provider_name)
    return f"{connection.provider_name} is not connected."
