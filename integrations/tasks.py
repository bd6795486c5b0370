"""django-q2 entry points. Thin: they call integrations.sync and return a short outcome for the task log.

Tasks never run twice at once: a run is claimed under a row lock before it executes (runs.run_claim),
every execution stops at the time budget (settings.SYNC_TIME_BUDGET_SECONDS) well before django-q2's
timeout, and django-q2's `retry` is longer than its `timeout` (settings.Q_CLUSTER).
"""

from django.db import transaction

from .sync import runs


def sync_run(run_id):
    """Execute (or continue) push run `run_id` for one time budget; enqueue its continuation if needed."""
    run = runs.run_claim(run_id=run_id)
    if run is None:
        return "not claimed: finished or executing elsewhere"
    if runs.run_execute(run=run):
        return run.status
    with transaction.atomic():
        runs.run_checkpoint(run=run)
        runs.enqueue(run)
    return f"continues ({run.done} of {run.total} done)"


def sync_sweep():
    """Every minute: start a run wherever something is out of date (a lost task loses nothing)."""
    with transaction.atomic():
        started = runs.sweep()
        for run in started:
            runs.enqueue(run)
    return f"{len(started)} run(s) enqueued"


# --- Pulling changes back from the providers (integrations.sync.pull, integrations.webhooks) ----------


def pull_connection(connection_id, kinds=None, trigger="pull"):
    """Pull one connection from its cursors; what the time budget left over continues in a new task."""
    from django_q.tasks import async_task

    from .models import Connection
    from .sync import pull

    connection = Connection.objects.filter(pk=connection_id, status=Connection.Status.CONNECTED).first()
    if connection is None:
        return "not connected"
    run = pull.pull_connection(connection=connection, kinds=kinds, trigger=trigger)
    unfinished = run.scope.get("unfinished") or []
    if unfinished:
        async_task("integrations.tasks.pull_connection", connection_id, unfinished, trigger, group="pull")
        return f"continues with {', '.join(unfinished)}"
    return run.status


def pull_all_connections():
    """Every 15 minutes: one pull task per connected connection."""
    from django_q.tasks import async_task

    from .models import Connection

    ids = list(Connection.objects.filter(status=Connection.Status.CONNECTED).values_list("pk", flat=True))
    for connection_id in ids:
        async_task("integrations.tasks.pull_connection", connection_id, None, "schedule", group="pull")
    return f"{len(ids)} pull(s) enqueued"


def pull_webhook_changes(connection_id, changes):
    """The targeted pull a verified webhook enqueued."""
    from . import webhooks
    from .models import Connection
    from .sync import pull

    connection = Connection.objects.filter(pk=connection_id).first()
    if connection is None:
        return "no connection"
    run = pull.pull_changes(connection=connection, changes=changes)
    webhooks.deliveries_processed(changes=changes)
    return run.status


def webhook_confirm(connection_id):
    """Send a FreshBooks callback's verifier back to FreshBooks."""
    from . import webhooks
    from .models import Connection

    connection = Connection.objects.filter(pk=connection_id).first()
    return bool(connection) and webhooks.verifier_confirm(connection=connection)


def freshbooks_webhooks_register(connection_id):
    """Register a FreshBooks connection's webhook callbacks (best effort; see
    integrations.services.freshbooks_webhooks)."""
    from .models import Connection
    from .services import freshbooks_webhooks

    connection = Connection.objects.filter(pk=connection_id).first()
    if connection is None:
        return "no connection"
    return "registered" if freshbooks_webhooks.callbacks_register(connection=connection) else "not registered"


def connections_keep_alive():
    """Every few hours: refresh connections whose refresh token would die unused, and mark those
    whose grant is gone (their admins are told once). See integrations.tokens.keep_alive."""
    from .tokens import keep_alive

    counts = keep_alive()
    return f"{counts['refreshed']} refreshed, {counts['reconnect_required']} need reconnecting, {counts['failed']} failed"
