"""Thin django-q2 entry points for pulling (scheduled, continued, webhook-triggered)."""

from django_q.tasks import async_task

from ..models import Connection, SyncRun
from . import pull


def pull_connection_task(connection_id, kinds=None, trigger=SyncRun.Trigger.PULL):
    """Pull one connection from its cursors; what the time budget left over continues in a new task."""
    connection = Connection.objects.filter(pk=connection_id).first()
    if connection is None or not connection.is_usable:
        return None
    run = pull.pull_connection(connection=connection, kinds=kinds, trigger=trigger)
    unfinished = run.scope.get("unfinished") or []
    if unfinished:
        async_task("integrations.sync.pull_tasks.pull_connection_task", connection_id, unfinished, trigger)
    return run.pk


def pull_all_connections_task():
    """The scheduled pull (every 15 minutes): one task per usable connection."""
    ids = list(Connection.objects.filter(status=Connection.Status.CONNECTED).values_list("pk", flat=True))
    for connection_id in ids:
        async_task("integrations.sync.pull_tasks.pull_connection_task", connection_id, None, SyncRun.Trigger.SCHEDULE)
    return len(ids)


def pull_changes_task(connection_id, changes):
    """The targeted pull a webhook enqueued."""
    from .. import webhooks

    connection = Connection.objects.filter(pk=connection_id).first()
    if connection is None:
        return None
    run = pull.pull_changes(connection=connection, changes=changes)
    webhooks.deliveries_processed(changes=changes)
    return run.pk


def webhook_confirm_task(connection_id):
    """Send a FreshBooks callback's verifier back to FreshBooks."""
    from .. import webhooks

    connection = Connection.objects.filter(pk=connection_id).first()
    return bool(connection) and webhooks.verifier_confirm(connection=connection)
