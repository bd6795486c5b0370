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
