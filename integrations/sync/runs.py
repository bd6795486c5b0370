"""The life of a push SyncRun: one per connection at a time, joined by later requests, executed within
a time budget, continued in new tasks, finished with counts and at most one notification.

Concurrency rules:
- Deciding whether to start a run happens under SELECT ... FOR UPDATE of the Connection row, so two
  requests at once (a double click, a task and the sweep) cannot both start one: the second joins the
  active run, merging its scope; if that run is already executing, it is told to plan once more
  before it finishes (scope["again"]), so nothing asked for is missed.
- Executing is claimed under SELECT ... FOR UPDATE of the run row: a QUEUED run, or a RUNNING one whose
  heartbeat is older than the task timeout (its worker died; the run is taken over). A second
  delivery of the same task finds it RUNNING with a fresh heartbeat and does nothing.
- The heartbeat moves with every recorded batch, so a live run is never taken for dead.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from blueclerk.models import Membership

from ..models import Connection, ExternalLink, Notification, SyncEvent, SyncRun
from ..providers.base import ReconnectRequired
from .planner import KINDS, expand_ids, has_work
from .push import Pusher, StopRun
from .throttle import close_thread_connections

logger = logging.getLogger(__name__)
ACTIVE = (SyncRun.Status.QUEUED, SyncRun.Status.RUNNING)


def dead_after():
    return datetime.timedelta(seconds=getattr(settings, "TASK_TIMEOUT_SECONDS", 300))


def is_dead(run, now=None):
    now = now or timezone.now()
    last = run.heartbeat_at or run.created_at
    return last is not None and last < now - dead_after()


# --- Scope --------------------------------------------------------------------------------------------


def make_scope(*, kinds=None, ids=None):
    """{"kinds": [...]} for every out-of-date record of those kinds, plus {"ids": {kind: [...]}} to limit
    the run to named records (and, added by request, their dependencies)."""
    kinds = [k for k in KINDS if k in (kinds or KINDS)]
    scope = {"kinds": kinds}
    if ids is not None:
        scope["ids"] = {k: sorted(set(v)) for k, v in ids.items() if k in kinds}
    return scope


def merge_scope(a, b):
    kinds = [k for k in KINDS if k in set(a.get("kinds", KINDS)) | set(b.get("kinds", KINDS))]
    merged = {**a, "kinds": kinds}
    if "ids" in a and "ids" in b:
        ids = {k: set(v) for k, v in a["ids"].items()}
        for k, v in b["ids"].items():
            ids.setdefault(k, set()).update(v)
        merged["ids"] = {k: sorted(v) for k, v in ids.items()}
    else:
        merged.pop("ids", None)
    return merged


# --- Requesting and claiming --------------------------------------------------------------------------


@transaction.atomic
def run_request(*, connection, trigger, scope=None, requested_by=None):
    """Start a push run on `connection` or join the active one. Returns (run, must_enqueue): enqueue
    the run's task when must_enqueue (a new run, or a dead one taken over)."""
    scope = scope or make_scope()
    if "ids" in scope:
        scope = {**scope, "ids": expand_ids(connection, scope["ids"])}
        scope["kinds"] = [k for k in KINDS if k in set(scope["kinds"]) | set(scope["ids"])]
    Connection.objects.select_for_update().get(pk=connection.pk)
    active = SyncRun.objects.select_for_update().filter(connection=connection, direction="push", status__in=ACTIVE).first()
    if active is not None:
        active.scope = merge_scope(active.scope or {}, scope)
        dead = is_dead(active)
        if active.status == SyncRun.Status.RUNNING:
            active.scope["again"] = True
        if dead:
            active.status = SyncRun.Status.QUEUED
            active.heartbeat_at = timezone.now()
            active.continuations += 1
        active.save(update_fields=["scope", "status", "heartbeat_at", "continuations"])
        return active, dead
    run = SyncRun.objects.create(
        connection=connection,
        trigger=trigger,
        direction="push",
        status=SyncRun.Status.QUEUED,
        scope=scope,
        requested_by=requested_by,
        heartbeat_at=timezone.now(),
    )
    return run, True


@transaction.atomic
def run_claim(*, run_id):
    """Take the run for execution in this process, or None when it is finished or executing elsewhere."""
    run = SyncRun.objects.select_for_update().select_related("connection").filter(pk=run_id).first()
    if run is None or run.status not in ACTIVE:
        return None
    if run.status == SyncRun.Status.RUNNING and not is_dead(run):
        return None
    now = timezone.now()
    run.status = SyncRun.Status.RUNNING
    run.started_at = run.started_at or now
    run.heartbeat_at = now
    run.save(update_fields=["status", "started_at", "heartbeat_at"])
    return run


def run_checkpoint(*, run):
    """The budget is spent: hand the run to a continuation (the caller enqueues it)."""
    run.status = SyncRun.Status.QUEUED
    run.continuations += 1
    run.heartbeat_at = timezone.now()
    run.save(update_fields=["status", "continuations", "heartbeat_at"])


def enqueue(run):
    """Enqueue the run's task after the current transaction commits."""
    from django_q.tasks import async_task

    run_id, n = run.pk, run.continuations

    def send():
        async_task("integrations.tasks.sync_run", run_id, task_name=f"sync-run-{run_id}-{n}", group="sync")

    transaction.on_commit(send)


# --- Executing ----------------------------------------------------------------------------------------


def adapter_factory_for(connection):
    """(adapter class, factory) for the connection; each call of factory() makes a new adapter with its
    own HTTP session, the connection's token provider and its shared throttle."""
    from ..providers.config import provider_config
    from ..providers.registry import adapter_class
    from ..tokens import token_provider_for
    from .throttle import throttle_for

    cls = adapter_class(connection.provider)
    config = provider_config(connection.provider)
    tokens = SharedToken(token_provider_for(connection))

    def factory():
        return cls(
            config=config,
            company_id=connection.company_id,
            token_provider=tokens,
            throttle=throttle_for(connection, adapter_class=cls),
        )

    return cls, factory


class SharedToken:
    """One access token for every worker thread of a run: read once (not one database read per
    request in each thread); a 401 makes one thread refresh it through the real token provider
    (integrations.tokens, under its row lock) and the others then use the new one."""

    RECENT = 10.0  # seconds: a 401 seen by several threads at once refreshes once

    def __init__(self, provider):
        self.provider = provider
        self.token = None
        self.refreshed = None
        self.lock = threading.Lock()

    def __call__(self, force_refresh=False):
        with self.lock:
            recently = self.refreshed is not None and time.monotonic() - self.refreshed < self.RECENT
            if self.token is None or (force_refresh and not recently):
                self.token = self.provider(force_refresh=force_refresh)
                if force_refresh:
                    self.refreshed = time.monotonic()
            return self.token


def run_execute(*, run, budget_seconds=None, progress=None):
    """Push what the run's scope asks for until done or the budget is spent. Returns True when the run
    is finished (it has its final status), False when a continuation must follow."""
    connection = Connection.objects.select_related("organization", "default_income_account").get(pk=run.connection_id)
    if not connection.is_usable:
        _finish(run, connection, status=SyncRun.Status.FAILED, error=_unusable_message(connection))
        return True
    budget = settings.SYNC_TIME_BUDGET_SECONDS if budget_seconds is None else budget_seconds
    deadline = time.monotonic() + budget
    try:
        from .throttle import throttle_for

        adapter_class, factory = adapter_factory_for(connection)
        pusher = Pusher(
            connection=connection,
            run=run,
            adapter_factory=factory,
            adapter_class=adapter_class,
            throttle=throttle_for(connection, adapter_class=adapter_class),
            deadline=deadline,
            progress=progress,
        )
        for _ in range(5):  # a pass, and again while requests joined meanwhile
            scope = _take_scope(run)
            ids = scope.get("ids")
            kinds = scope.get("kinds") or list(KINDS)
            run.total = run.done + pusher.estimate(kinds, ids)
            run.save(update_fields=["total"])
            if progress is not None:
                progress(run)
            tally = pusher.push(kinds, ids)
            if not tally.complete:
                return False
            if not SyncRun.objects.filter(pk=run.pk, scope__again=True).exists():
                break
    except StopRun as exc:
        status = SyncRun.Status.RECONNECT_REQUIRED if exc.reconnect else SyncRun.Status.FAILED
        _finish(run, connection, status=status, error=exc.error)
        return True
    except ReconnectRequired as exc:
        _finish(run, connection, status=SyncRun.Status.RECONNECT_REQUIRED, error=exc.message)
        return True
    except Exception as exc:  # a bug or an outage of our own (Redis, database): end the run visibly
        logger.exception("push run %s stopped", run.pk)
        _finish(
            run,
            connection,
            status=SyncRun.Status.FAILED,
            error=f"The sync stopped unexpectedly ({exc.__class__.__name__}); it will be tried again by the next sweep.",
        )
        return True
    finally:
        close_thread_connections()
    status = SyncRun.Status.PARTIAL if (run.failed or run.blocked) else SyncRun.Status.SUCCEEDED
    _finish(run, connection, status=status)
    return True


@transaction.atomic
def _take_scope(run):
    locked = SyncRun.objects.select_for_update().get(pk=run.pk)
    scope = dict(locked.scope or {})
    if scope.pop("again", None):
        locked.scope = scope
        locked.save(update_fields=["scope"])
    run.scope = scope
    return scope


def _finish(run, connection, *, status, error=""):
    now = timezone.now()
    run.status = status
    run.error = error
    run.finished_at = now
    run.heartbeat_at = now
    run.total = max(run.total, run.done)
    run.save(update_fields=["status", "error", "finished_at", "heartbeat_at", "total"])
    updates = {"last_sync_at": now}
    if status in (SyncRun.Status.SUCCEEDED, SyncRun.Status.PARTIAL):
        updates["last_error"] = ""
    elif error:
        updates["last_error"] = error
    Connection.objects.filter(pk=connection.pk).update(**updates)
    if run.failed or run.blocked or status == SyncRun.Status.FAILED:
        notify_failures(run=run, connection=connection)


def _unusable_message(connection):
    if connection.status == Connection.Status.RECONNECT_REQUIRED:
        from ..providers.base import reconnect_message

        return reconnect_message(connection.provider_name)
    return f"{connection.provider_name} is not connected."


# --- Notifying ----------------------------------------------------------------------------------------


def notify_failures(*, run, connection):
    """One in-app notification and one email to the organization's owners and admins per run."""
    if not SyncRun.objects.filter(pk=run.pk, notified=False).update(notified=True):
        return None
    run.notified = True
    provider = connection.provider_name
    problems = list(
        SyncEvent.objects.filter(run=run, outcome__in=["failed", "blocked"]).exclude(error="").values_list("error", flat=True)[:5]
    )
    if run.status == SyncRun.Status.FAILED and run.error:
        title = f"{provider} sync failed"
        problems = [run.error, *problems]
    else:
        parts = []
        if run.failed:
            parts.append(f"{run.failed} record{'s' if run.failed != 1 else ''} failed")
        if run.blocked:
            parts.append(f"{run.blocked} could not be sent yet")
        title = f"{provider} sync finished: {' and '.join(parts)}"
    message = "\n".join(problems)
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                organization_id=connection.organization_id,
                level=Notification.Level.ERROR
                if run.failed or run.status == SyncRun.Status.FAILED
                else Notification.Level.WARNING,
                title=title[:200],
                message=message,
                link="/settings/integrations/",
                connection=connection,
                run=run,
                dedupe_key=f"sync-run:{run.pk}",
            )
    except IntegrityError:
        return None
    recipients = list(
        Membership.objects.filter(
            organization_id=connection.organization_id, role__in=[Membership.Role.OWNER, Membership.Role.ADMIN]
        )
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    if recipients:
        body = f"{title}.\n\n{message}\n\nSee Settings → Integrations to retry the records that failed."
        try:
            send_mail(title, body, settings.DEFAULT_FROM_EMAIL, recipients, fail_silently=False)
        except Exception:  # the notification is what matters; mail trouble must not fail the run
            logger.exception("could not email the sync failure notice of run %s", run.pk)
    return notification


# --- The sweep ----------------------------------------------------------------------------------------


def sweep():
    """Start (or revive) a run on every connection that has out-of-date records. Returns the runs to
    enqueue. A lost task loses nothing: this finds the same work every minute."""
    from ..providers.registry import adapter_class
    from .payloads import PayloadBuilder

    runs = []
    for connection in Connection.objects.filter(status=Connection.Status.CONNECTED).select_related(
        "organization", "default_income_account"
    ):
        active = SyncRun.objects.filter(connection=connection, direction="push", status__in=ACTIVE).first()
        if active is not None and not is_dead(active):
            continue
        if active is None:
            builder = PayloadBuilder(
                connection, requires_income_account=adapter_class(connection.provider).requires_income_account
            )
            if not has_work(connection, builder):
                continue
        run, must_enqueue = run_request(connection=connection, trigger=SyncRun.Trigger.SCHEDULE)
        if must_enqueue:
            runs.append(run)
    return runs


# --- Marking --------------------------------------------------------------------------------------------


def links_mark_pending(*, connection, kind, ids):
    """A local change: the records' links go back to pending (failed ones too: they changed)."""
    return (
        ExternalLink.objects.filter(connection=connection, kind=kind, local_id__in=list(ids))
        .exclude(status=ExternalLink.Status.DELETED_REMOTE)
        .update(status=ExternalLink.Status.PENDING, updated_at=timezone.now())
    )
