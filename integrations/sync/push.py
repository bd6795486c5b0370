"""Pushing out-of-date records to a provider: batches, fallback, order, concurrency and the time budget.

Order: kinds go one after another (customers, items, invoices, payments), each planned only after the
previous kinds were recorded, so an invoice is built with the remote ids its customer and items just
got, and a record whose dependency failed is marked blocked with the reason instead of being sent.

Requests: records go in batches of `adapter.batch_size(kind)` (QuickBooks /batch of 30, Xero arrays of
50; one per request for FreshBooks and Wave), several in flight at once up to the adapter's
`max_in_flight`. Each worker thread has its own adapter (own HTTP session); only the main thread
touches the ORM for sync state. A batch is recorded as soon as it is back; single requests are
recorded together, once RECORD_RECORDS outcomes wait or the oldest waited RECORD_SECONDS (and always
before the kind ends or the execution stops); either way in a fixed handful of statements whatever
their number (one update of the links, one insert of the events, one update of the run:
integrations.sync.recording).

Planning: a kind is planned a chunk at a time (planner.plan_chunks), the next chunk while enough
records still wait to keep every thread busy, so only a few chunks are held whatever the catalog's
size.

Failures, per record:
- a whole batch fails (BatchFailed): that batch falls back to one request per record. The batch may
  have been applied before it failed, so nothing may be created twice: invoice and payment creates
  are looked up first; items and customers, whose names the provider keeps unique, are sent again and
  a DuplicateName answer is looked up and linked (UNIQUE_NAME_KINDS);
- StaleVersion: the record is re-read and the update retried once with the current version;
- DuplicateName on a create: the record is looked up by its natural key and linked when it is the
  same object (then updated with our data), or fails with a readable message when it is not;
- UncertainOutcome (sent, no answer): the link is marked uncertain; the next attempt looks the record
  up before it creates anything;
- RateLimited: the throttle is penalized for the wait asked and the same request is sent again after it;
- other transient failures leave the record pending (the sweep tries again; after MAX_TRANSIENT
  attempts it is marked failed); rejections mark it failed with a readable error.

Scheduling beside QuickBooks' batch limit (when the adapter has a "batch" limit and batches of more
than one): 40 batches a minute carry 1,200 records, but the 500-requests-a-minute budget has room for
about 460 more single requests. So when no batch slot is free now and a single-request slot is, the
next record goes alone instead of waiting for the batch window; as soon as a batch slot frees, full
batches resume. Batches are always preferred when both are free (30 records for one request), so the
hybrid only ever adds throughput: records that would otherwise wait for the batch window move now.
Measured against the sandbox at QuickBooks' limits: 3,629 items in about 2 minutes (92 batches and
~880 single requests, no 429) where batches alone need four batch windows, about 3 minutes.
Slots are taken by the scheduler before a request is handed to a worker thread (and used by that
thread's adapter), so the scheduler never queues requests that would only wait inside a worker.

Time budget: no new request starts once the deadline (minus a margin) is near, or when the throttle
says the next slot would only come after it; requests in flight finish and are recorded; the caller
continues in a new task. Each execution sends at least one unit of work, so even a tiny budget
makes progress.
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connections, transaction
from django.db import connection as db_connection
from django.utils import timezone

from ..models import ExternalLink, Kind
from ..providers.base import (
    AuthenticationFailed,
    BatchFailed,
    DuplicateName,
    PushRequest,
    RateLimited,
    ReconnectRequired,
    StaleVersion,
    TransientError,
    UncertainOutcome,
)
from .audit import redact
from .payloads import PayloadBuilder, label, payload_hash
from .planner import KINDS, count_out_of_date, ensure_links, plan_chunks
from .recording import events_create, links_save, run_counters_save
from .throttle import BudgetSpent, applies, close_connections_of, slack

logger = logging.getLogger(__name__)
S = ExternalLink.Status
MAX_TRANSIENT = 5
MAX_RATE_LIMITED = 10
MAX_THREADS = 10
# Kinds whose names the batch providers keep unique (a second create answers DuplicateName, which is
# then looked up and linked): after a failed batch they are re-sent without a look-up first, which
# halves the fallback's requests. Invoices (QuickBooks allows repeated DocNumbers) and payments (no
# natural key) are looked up first.
UNIQUE_NAME_KINDS = (Kind.ITEM, Kind.CUSTOMER)
WAIT_STEP = 0.5  # longest the scheduler sleeps before looking at the throttle again
# Outcomes of single requests are recorded together (one statement for links, one for events, one
# for the run) once this many wait or the oldest waited this long: they finish one by one about 30 a
# second, and recording each alone cost most of the push's CPU. A batch is recorded as soon as it is
# back (with the single requests' outcomes waiting then).
RECORD_RECORDS = 30
RECORD_SECONDS = 1.0


class StopRun(Exception):
    """The run cannot go on (the connection needs reconnecting, or its authorization is refused)."""

    def __init__(self, error, *, reconnect=False):
        super().__init__(str(error))
        self.error = error
        self.reconnect = reconnect


class Deferred(Exception):
    """Not sent within this execution's budget (a 429 asked to wait past it): left for the continuation."""


@dataclass
class Outcome:
    cand: Any
    status: str
    action: str
    remote_id: str = ""
    remote_version: str = ""
    remote_number: str = ""
    error: str = ""
    request: Any = None
    response: Any = None
    duration_ms: int = 0
    fallback: bool = False
    deferred: bool = False


@dataclass
class UnitStats:
    requests: int = 0
    batches: int = 0
    throttled: int = 0
    fallbacks: int = 0

    def add_to(self, total):
        """Add these counts to `total` (another UnitStats, or the SyncRun, which has the same fields)."""
        for name in ("requests", "batches", "throttled", "fallbacks"):
            setattr(total, name, getattr(total, name) + getattr(self, name))


@dataclass
class Tally:
    """What one execution did, for the caller (the run keeps the totals)."""

    sent: int = 0
    deferred: int = 0
    complete: bool = True
    outcomes: dict = field(default_factory=dict)


class Pusher:
    """Pushes out-of-date records of `connection` for `run`. `adapter_factory()` makes a new adapter
    (one per worker thread); `throttle` is the connection's shared throttle (peeked by the scheduler)."""

    def __init__(self, *, connection, run, adapter_factory, adapter_class, throttle, deadline, progress=None):
        self.connection = connection
        self.run = run
        self.adapter_factory = adapter_factory
        self.adapter_class = adapter_class
        self.throttle = throttle
        self.deadline = deadline
        self.margin = min(20.0, max(0.0, (deadline - time.monotonic()) * 0.1))
        self.progress = progress
        self.provider = connection.provider_name
        self.builder = PayloadBuilder(connection, requires_income_account=adapter_class.requires_income_account)
        self._local = threading.local()
        self._adapters = []
        self._started_any = False
        self.tally = Tally()
        self._find_takes_local_id = None
        self._sizes = {}
        self._not_before = {}  # throttle kind -> time.monotonic() before which no slot of it can free
        # limit -> when this pusher took each slot counting against it (time.monotonic(), oldest first)
        self._own_slots = {limit: deque() for limit in adapter_class.limits}
        self._unrecorded = []  # outcomes of finished requests not recorded yet, and their stats
        self._unrecorded_stats = UnitStats()
        self._unrecorded_since = 0.0
        self.sleep = time.sleep
        # (kind, remote id) -> local id it belongs to: a look-up never links a remote record that is
        # already someone else's (two customers with one name). Workers add what they create.
        self._owner = {}
        self._owner_lock = threading.Lock()
        self._worker_threads = set()

    # --- planning and the kind loop -------------------------------------------------------------

    def estimate(self, kinds, ids):
        """How many records look out of date now (for the run's progress total)."""
        return sum(count_out_of_date(self.connection, k, self.builder, ids=(ids or {}).get(k) if ids else None) for k in kinds)

    def push(self, kinds=KINDS, ids=None):
        """Push every out-of-date record of `kinds` (limited to `ids` {kind: [...]} when given).
        Returns the Tally; `tally.complete` is False when the budget stopped it first."""
        try:
            for kind in [k for k in KINDS if k in kinds]:
                if ids is not None and kind not in ids:
                    continue
                if not self._push_kind(kind, None if ids is None else ids.get(kind)):
                    self.tally.complete = False
                    break
        finally:
            for adapter in self._adapters:
                _close(adapter)
        return self.tally

    def _push_kind(self, kind, ids):
        for dep in KINDS:
            self.builder.forget(dep)
        self._load_owners(kind)
        chunks = plan_chunks(self.connection, kind, self.builder, ids=ids)
        queue, singles = deque(), deque()
        threads = max(1, min(MAX_THREADS, self.adapter_class.max_in_flight))
        # Plan the next chunk while this many records still wait, so the requests never wait for it.
        low = 2 * threads * self._batch_size(kind)
        planning = self._plan_more(kind, chunks, queue, singles, low)
        stop = None
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"sync-{self.connection.pk}") as pool:
            inflight = {}
            while (queue or singles or inflight or planning) and stop is None:
                self._record_finished(kind)
                if planning:
                    planning = self._plan_more(kind, chunks, queue, singles, low)
                pause, out_of_time = 0.0, False
                while (queue or singles) and len(inflight) < threads:
                    unit = self._next_unit(kind, queue, singles)
                    if unit is None:
                        out_of_time = True
                        break
                    if isinstance(unit, float):
                        pause = unit  # every limit is full: look again when a slot may have freed
                        break
                    inflight[pool.submit(self._work, kind, *unit)] = unit
                    self._started_any = True
                if not inflight:
                    if out_of_time:
                        break
                    if queue or singles:
                        self.sleep(min(pause, WAIT_STEP))
                    continue
                timeout = min(pause, WAIT_STEP) if pause else None
                if self._unrecorded:
                    due = max(0.0, self._unrecorded_since + RECORD_SECONDS - time.monotonic())
                    timeout = due if timeout is None else min(timeout, due)
                done, _ = wait(inflight, timeout=timeout, return_when=FIRST_COMPLETED)
                for future in done:
                    inflight.pop(future)
                    try:
                        outcomes, stats = future.result()
                    except StopRun as exc:
                        stop = stop or exc
                        continue
                    self._finished(outcomes, stats)
                    if stats.batches:
                        self._record_finished(kind, now=True)  # a batch is recorded as soon as it is back
            for future in list(inflight):  # stopping: let what is in flight finish and record it
                try:
                    outcomes, stats = future.result()
                    self._finished(outcomes, stats)
                except StopRun as exc:
                    stop = stop or exc
            self._record_finished(kind, now=True)
        close_connections_of(self._worker_threads)
        if stop is not None:
            raise stop
        left = len(queue) + len(singles)
        self.tally.deferred += left
        return left == 0 and not planning and not self._deferred_in(kind)

    def _load_owners(self, kind):
        """Who owns each remote id of `kind` already linked here (tuples only, not link objects)."""
        rows = ExternalLink.objects.filter(connection=self.connection, kind=kind, remote_id__isnull=False).values_list(
            "remote_id", "local_id"
        )
        with self._owner_lock:
            for remote_id, local_id in rows.iterator(chunk_size=2000):
                if remote_id:
                    self._owner[(kind, remote_id)] = local_id

    def _plan_more(self, kind, chunks, queue, singles, low):
        """Plans chunks until at least `low` records wait to be sent: links are created for them and
        the ones that need no request (blocked, needs mapping, already current) are recorded. False
        when every chunk of the kind is planned."""
        while len(queue) + len(singles) < low:
            cands = next(chunks, None)
            if cands is None:
                return False
            ensure_links(self.connection, cands)
            quiet = [c for c in cands if c.not_sendable is not None or c.unchanged]
            for start in range(0, len(quiet), 200):
                self._record(kind, [self._quiet(c) for c in quiet[start : start + 200]], UnitStats())
            for c in cands:
                if c.not_sendable is None and not c.unchanged:
                    (singles if c.uncertain else queue).append(c)
        return True

    def _deferred_in(self, kind):
        return self.tally.outcomes.get((kind, "deferred"), 0) > 0

    def _out_of_time(self, wait_seconds=0.0):
        if not self._started_any:
            return False
        return time.monotonic() + wait_seconds >= self.deadline - self.margin

    def _next_unit(self, kind, queue, singles):
        """The next request to start, with its throttle slot already taken: (mode, candidates, token).
        A float: seconds until a slot may free (nothing started). None: the budget says stop."""
        size = self._batch_size(kind)
        if self._out_of_time():
            return None
        if singles:
            token, single_wait = self._reserve("single")
            return ("single", [singles.popleft()], token) if token else self._pause(single_wait)
        if size > 1 and len(queue) > 1:
            token, batch_wait = self._reserve("batch")
            if token:
                return "batch", [queue.popleft() for _ in range(min(size, len(queue)))], token
            if not self._hybrid():
                return self._pause(batch_wait)
            # The batch window is full: a single request moves a record now instead of waiting.
            token, single_wait = self._reserve("single")
            if token:
                return "single", [queue.popleft()], token
            return self._pause(min(batch_wait, single_wait))
        token, single_wait = self._reserve("single")
        return ("single", [queue.popleft()], token) if token else self._pause(single_wait)

    def _pause(self, seconds):
        return None if self._out_of_time(seconds) else max(float(seconds), 0.01)

    def _reserve(self, throttle_kind):
        """Take a slot for the next request now, or say how long until one may free. The throttle is
        not asked (each question is a few database round trips) when the answer is sure to be no:
        - before the wait it last gave for this kind is over: a full window's oldest request only
          leaves it then (other processes can only take slots, never free them earlier; for requests
          in flight the throttle itself says when to look again);
        - when the slots this pusher took itself already fill one of the kind's windows (the
          throttle counts at least those, and a slot's start only ever moves later)."""
        try_acquire = getattr(self.throttle, "try_acquire", None)
        if try_acquire is None:
            return "unthrottled", 0.0
        now = time.monotonic()
        wait = max(self._not_before.get(throttle_kind, 0.0) - now, self._own_windows_wait(throttle_kind, now))
        if wait > 0:
            return None, wait
        token, wait = try_acquire(throttle_kind)
        if token:
            for limit, starts in self._own_slots.items():
                if applies(limit, throttle_kind):
                    starts.append(now)
        else:
            self._not_before[throttle_kind] = now + wait
        return token, wait

    def _own_windows_wait(self, throttle_kind, now):
        wait = 0.0
        for limit, starts in self._own_slots.items():
            window = limit.seconds + slack(limit.seconds)  # as long as the throttle's
            while starts and starts[0] <= now - window:
                starts.popleft()
            if applies(limit, throttle_kind) and len(starts) >= limit.count:
                wait = max(wait, starts[-limit.count] + window - now)
        return wait

    def _batch_size(self, kind):
        if kind not in self._sizes:
            self._sizes[kind] = max(1, self._adapter().batch_size(kind))
        return self._sizes[kind]

    def _hybrid(self):
        return any(limit.kind == "batch" for limit in self.adapter_class.limits)

    # --- worker thread --------------------------------------------------------------------------

    def _adapter(self):
        adapter = getattr(self._local, "adapter", None)
        if adapter is None:
            adapter = self.adapter_factory()
            self._local.adapter = adapter
            self._adapters.append(adapter)
        return adapter

    def _work(self, kind, mode, cands, token):
        self._local.first_call = True  # the unit's first request was scheduled within the budget
        adapter = self._adapter()
        before = _snapshot(adapter)
        stats = UnitStats()
        if hasattr(adapter.throttle, "deadline"):
            adapter.throttle.deadline = self.deadline  # never wait for a slot past the budget
        hold = getattr(adapter.throttle, "hold", None)
        if hold is not None and token != "unthrottled":
            hold(mode, token)  # the adapter's first request of this kind uses the slot taken for it
        elif token != "unthrottled":
            self.throttle.release(token)
        try:
            if mode == "batch":
                outcomes = self._batch(adapter, kind, cands, stats)
            else:
                outcomes = [self._one(adapter, kind, c, stats) for c in cands]
        except ReconnectRequired as exc:
            raise StopRun(exc.message, reconnect=True) from exc
        finally:
            if hold is not None:
                adapter.throttle.release_held()
            if threading.current_thread() is not threading.main_thread():
                # A token refresh may have used the ORM here; the throttle's own connection stays
                # open for this thread's next request and is closed when the pool is done.
                connections.close_all()
                with self._owner_lock:
                    self._worker_threads.add(threading.get_ident())
        after = _snapshot(adapter)
        stats.requests = after[0] - before[0]
        stats.batches = after[1] - before[1]
        stats.throttled = after[2] - before[2]
        return outcomes, stats

    def _request(self, cand):
        link = cand.link
        return PushRequest(
            kind=cand.kind,
            local_id=cand.local_id,
            data=cand.data,
            remote_id=(link.remote_id or None) if link else None,
            remote_version=(link.remote_version if link else "") or "",
            idempotency_key=cand.key,
        )

    def _retrying(self, adapter, call):
        """Call `call()`, waiting out 429s (the throttle holds everyone back meanwhile)."""
        for _ in range(MAX_RATE_LIMITED):
            if not self._local.first_call and time.monotonic() >= self.deadline:
                raise Deferred()  # follow-up requests (fallback, look-ups) never start after the budget
            self._local.first_call = False
            try:
                return call()
            except BudgetSpent as exc:
                raise Deferred() from exc
            except RateLimited as exc:
                adapter.throttle.penalize(exc.retry_after)
                if time.monotonic() + exc.retry_after >= self.deadline:
                    raise Deferred() from exc
        raise Deferred()

    def _batch(self, adapter, kind, cands, stats):
        requests = [self._request(c) for c in cands]
        try:
            results = self._retrying(adapter, lambda: adapter.push_batch(kind, requests))
        except Deferred:
            return [Outcome(c, "", "", deferred=True) for c in cands]
        except BatchFailed as exc:
            logger.warning("%s batch of %d %s records failed, falling back: %s", self.provider, len(cands), kind, exc)
            stats.fallbacks += 1
            look_up = kind not in UNIQUE_NAME_KINDS
            outcomes = [self._one(adapter, kind, c, stats, look_up_first=look_up) for c in cands]
            for outcome in outcomes:
                outcome.fallback = True
                if outcome.deferred and not outcome.cand.link.remote_id:
                    # The failed batch may have created it: the continuation must look it up first.
                    outcome.deferred, outcome.status, outcome.action = False, S.UNCERTAIN, "create"
                    outcome.error = (
                        f"The {self.provider} batch with {label(kind, outcome.cand.obj)} failed and the time budget ran "
                        "out; it will be looked up before it is sent again."
                    )
            return outcomes
        by_id = {r.local_id: r for r in results if r is not None}
        for result in by_id.values():
            if result.ok and result.remote_id:
                self._own(kind, result.remote_id, result.local_id)
        outcomes = []
        for cand, request in zip(cands, requests, strict=True):
            result = by_id.get(cand.local_id)
            error = getattr(result, "error", None)
            if result is None or (isinstance(error, TransientError) and not isinstance(error, StaleVersion)):
                # No usable answer for this record inside the batch: settle it alone.
                outcomes.append(self._one(adapter, kind, cand, stats, look_up_first=kind not in UNIQUE_NAME_KINDS))
            else:
                outcomes.append(self._settle(adapter, kind, cand, request, result))
        return outcomes

    def _one(self, adapter, kind, cand, stats, look_up_first=False):
        request = self._request(cand)
        action = "update" if request.remote_id else "create"
        linked = None
        try:
            if request.is_create and (look_up_first or cand.uncertain):
                found = self._retrying(adapter, lambda: self._find(adapter, kind, request))
                if found is not None and self._same(kind, cand, found):
                    linked = found
                    if kind == Kind.PAYMENT:
                        return self._linked(cand, found, "lookup")
                    request.remote_id, request.remote_version = found.remote_id, found.version or ""
                    action = "link"
            result = self._retrying(adapter, lambda: adapter.push_one(kind, request))
        except Deferred:
            return Outcome(cand, "", "", deferred=True)
        except UncertainOutcome as exc:
            return self._failure(cand, exc, action, status=S.UNCERTAIN)
        except AuthenticationFailed as exc:
            if exc.permanent:
                raise StopRun(f"{self.provider} refused our authorization: {exc.message}") from exc
            return self._failure(cand, exc, action, status=S.PENDING)
        except TransientError as exc:
            return self._failure(cand, exc, action, status=S.PENDING)
        except ReconnectRequired:
            raise
        except Exception as exc:  # a rejection raised instead of returned, or an adapter bug: per record
            if not hasattr(exc, "permanent"):
                logger.exception("push of %s %s failed", kind, cand.local_id)
            return self._failure(cand, exc, action, status=S.FAILED)
        outcome = self._settle(adapter, kind, cand, request, result)
        if linked is not None and outcome.status == S.SYNCED:
            outcome.action = "link"
        return outcome

    def _settle(self, adapter, kind, cand, request, result, retried=False):
        action = "update" if request.remote_id else "create"
        if result.ok:
            if result.remote_id or request.remote_id:
                self._own(kind, result.remote_id or request.remote_id, cand.local_id)
            return Outcome(
                cand,
                S.SYNCED,
                action,
                remote_id=str(result.remote_id or request.remote_id or ""),
                remote_version=str(result.remote_version or ""),
                remote_number=str(result.remote_number or ""),
                request=result.request,
                response=result.response,
                duration_ms=result.duration_ms,
            )
        error = result.error
        try:
            if isinstance(error, StaleVersion) and request.remote_id and not retried:
                current = self._retrying(adapter, lambda: adapter.fetch(kind, request.remote_id))
                request.remote_version = current.version or ""
                again = self._retrying(adapter, lambda: adapter.push_one(kind, request))
                return self._settle(adapter, kind, cand, request, again, retried=True)
            if isinstance(error, DuplicateName) and request.is_create and not retried:
                found = self._retrying(adapter, lambda: self._find(adapter, kind, request))
                if found is None or not self._same(kind, cand, found):
                    return self._failure(cand, error, action, status=S.FAILED, result=result)
                if kind == Kind.PAYMENT:
                    return self._linked(cand, found, "link")
                request.remote_id, request.remote_version = found.remote_id, found.version or ""
                again = self._retrying(adapter, lambda: adapter.push_one(kind, request))
                outcome = self._settle(adapter, kind, cand, request, again, retried=True)
                if outcome.status == S.SYNCED:
                    outcome.action = "link"
                return outcome
        except Deferred:
            return Outcome(cand, "", "", deferred=True)
        except UncertainOutcome as exc:
            return self._failure(cand, exc, action, status=S.UNCERTAIN)
        except TransientError as exc:
            return self._failure(cand, exc, action, status=S.PENDING)
        status = S.FAILED if getattr(error, "permanent", True) else S.PENDING
        if isinstance(error, StaleVersion):
            status = S.FAILED
        return self._failure(cand, error, action, status=status, result=result)

    def _find(self, adapter, kind, request):
        if self._find_takes_local_id is None:
            self._find_takes_local_id = "local_id" in inspect.signature(adapter.find).parameters
        if self._find_takes_local_id:
            return adapter.find(kind, request.data, local_id=request.local_id)
        return adapter.find(kind, request.data)

    def _own(self, kind, remote_id, local_id):
        with self._owner_lock:
            self._owner.setdefault((kind, str(remote_id)), local_id)

    def _same(self, kind, cand, found):
        """Whether the record the provider has under our natural key is the one we meant to create
        (and not one already linked to another of our records)."""
        with self._owner_lock:
            owner = self._owner.get((kind, str(found.remote_id)))
        if owner is not None and owner != cand.local_id:
            return False
        ours, theirs = cand.data, found.data
        if theirs is None:
            return True  # the adapter matched it by the natural key already
        if kind == Kind.ITEM:
            return _fold(theirs.name) == _fold(ours.name) and (not ours.code or not theirs.code or ours.code == theirs.code)
        if kind == Kind.CUSTOMER:
            return _fold(theirs.display_name) == _fold(ours.display_name)
        if kind == Kind.INVOICE:
            return _fold(theirs.number) == _fold(ours.number) and (
                not theirs.customer_remote_id or str(theirs.customer_remote_id) == str(ours.customer_remote_id)
            )
        return theirs.amount == ours.amount and (
            not found.invoice_remote_id or str(found.invoice_remote_id) == str(ours.invoice_remote_id)
        )

    def _linked(self, cand, found, action):
        return Outcome(
            cand, S.SYNCED, action, remote_id=str(found.remote_id), remote_version=str(found.version or ""), response=found.raw
        )

    def _failure(self, cand, exc, action, *, status, result=None):
        what = label(cand.kind, cand.obj)
        message = getattr(exc, "message", None) or str(exc) or exc.__class__.__name__
        if status == S.FAILED and message.startswith(f"{self.provider} "):
            text = message  # the adapter already said it in full ("QuickBooks rejected item 'X': ...")
        elif status == S.FAILED:
            text = f"{self.provider} rejected {what}: {message}"
        elif status == S.UNCERTAIN:
            text = f"{self.provider} did not answer for {what} ({message}); it will be looked up before it is sent again."
        else:
            text = f"{self.provider} could not take {what} right now ({message}); it will be tried again."
        return Outcome(
            cand,
            status,
            action,
            error=text,
            request=getattr(result, "request", None),
            response=getattr(result, "response", None) or getattr(exc, "body", None),
            duration_ms=getattr(result, "duration_ms", 0) or 0,
        )

    def _quiet(self, cand):
        """The outcome of a record that needs no request: blocked, needs mapping, or already current."""
        if cand.not_sendable is not None:
            return Outcome(cand, cand.not_sendable.status, "skip", error=cand.not_sendable.reason)
        link = cand.link
        return Outcome(cand, S.SYNCED, "skip", remote_id=link.remote_id, remote_version=link.remote_version)

    # --- recording (main thread) ----------------------------------------------------------------

    def _finished(self, outcomes, stats):
        """Keep a finished unit's outcomes for the next recording."""
        if not self._unrecorded:
            self._unrecorded_since = time.monotonic()
        self._unrecorded.extend(outcomes)
        stats.add_to(self._unrecorded_stats)

    def _record_finished(self, kind, now=False):
        """Record the kept outcomes when enough wait, the oldest waited long enough, or `now`."""
        if not self._unrecorded and not self._unrecorded_stats.requests:
            return
        due = time.monotonic() >= self._unrecorded_since + RECORD_SECONDS
        if now or due or len(self._unrecorded) >= RECORD_RECORDS:
            outcomes, stats = self._unrecorded, self._unrecorded_stats
            self._unrecorded, self._unrecorded_stats = [], UnitStats()
            self._record(kind, outcomes, stats)

    def _record(self, kind, outcomes, stats):
        now = timezone.now()
        links, events = [], []
        counts = {"succeeded": 0, "failed": 0, "blocked": 0, "done": 0}
        self._refuse_taken_remote_ids(kind, outcomes)
        for o in outcomes:
            key = (kind, "deferred" if o.deferred else o.status)
            self.tally.outcomes[key] = self.tally.outcomes.get(key, 0) + 1
            if o.deferred:
                continue
            link = o.cand.link
            self._apply(link, o, now)
            links.append(link)
            counts["done"] += 1
            if o.status == S.SYNCED:
                counts["succeeded"] += 1
            elif o.status in (S.BLOCKED, S.NEEDS_MAPPING):
                counts["blocked"] += 1
            else:
                counts["failed"] += 1
            if o.action != "skip" or o.status != S.SYNCED:
                events.append(
                    {
                        "run_id": self.run.pk,
                        "connection_id": self.connection.pk,
                        "kind": kind,
                        "local_id": o.cand.local_id,
                        "remote_id": link.remote_id or "",
                        "direction": "push",
                        "action": o.action or "create",
                        "outcome": _event_outcome(o.status),
                        "request": redact(o.request if o.request is not None else o.cand.data),
                        "response": redact(o.response),
                        "error": o.error,
                        "duration_ms": max(0, int(o.duration_ms or 0)),
                    }
                )
            self.tally.sent += 0 if o.action == "skip" else 1
        if links:
            self._save_links(links, outcomes, now)
        events_create(events)
        run = self.run
        run.done += counts["done"]
        run.succeeded += counts["succeeded"]
        run.failed += counts["failed"]
        run.blocked += counts["blocked"]
        stats.add_to(run)
        run.total = max(run.total, run.done)
        run.heartbeat_at = now
        run_counters_save(run)
        if self.progress is not None:
            self.progress(run)

    def _refuse_taken_remote_ids(self, kind, outcomes):
        """A look-up may find a remote record another local record is already linked to (two customers
        with one name): never link two local records to one remote record; it fails readably instead."""
        linking = {o.remote_id: o for o in outcomes if o.action in ("link", "lookup") and o.remote_id and o.status == S.SYNCED}
        if not linking:
            return
        taken = set(
            ExternalLink.objects.filter(connection=self.connection, kind=kind, remote_id__in=list(linking))
            .exclude(local_id__in=[o.cand.local_id for o in linking.values()])
            .values_list("remote_id", flat=True)
        )
        taken.update(o.remote_id for o in outcomes if o.action not in ("link", "lookup") and o.remote_id in linking)
        for remote_id in taken:
            self._refuse_link(linking[remote_id])

    def _refuse_link(self, o):
        o.status, o.remote_id, o.action = S.FAILED, "", "link"
        o.cand.link.remote_id = None
        o.error = (
            f"{self.provider} already has {label(o.cand.kind, o.cand.obj)} linked to another record here; "
            "rename one of them and sync again."
        )

    def _save_links(self, links, outcomes, now):
        """One statement for the batch. Look-ups are checked against every link this run knows
        (`_owner`, `_refuse_taken_remote_ids`), so a remote id collision is a last resort: then (in
        autocommit, where the failed statement undid itself) link by link, refusing the colliding ones."""
        try:
            links_save(links)
            return
        except IntegrityError:
            if db_connection.in_atomic_block:
                raise
        by_link = {id(o.cand.link): o for o in outcomes if not o.deferred}
        for link in links:
            try:
                with transaction.atomic():
                    links_save([link])
            except IntegrityError:
                o = by_link[id(link)]
                self._refuse_link(o)
                self._apply(link, o, now)
                links_save([link])

    def _apply(self, link, o, now):
        link.updated_at = now
        if o.status == S.SYNCED:
            link.remote_id = o.remote_id or link.remote_id
            link.remote_version = o.remote_version or link.remote_version
            link.remote_number = o.remote_number or link.remote_number
            link.pushed_hash = o.cand.hash or payload_hash(o.cand.data)
            link.attempted_hash = ""
            link.status = S.SYNCED
            link.last_error = ""
            link.attempts = 0
            link.last_synced_at = now
            return
        link.status = o.status
        link.last_error = o.error
        if o.status in (S.BLOCKED, S.NEEDS_MAPPING):
            link.attempted_hash = ""
            return
        link.attempts += 1
        link.attempted_hash = o.cand.hash
        if o.status == S.PENDING and link.attempts >= MAX_TRANSIENT:
            link.status = S.FAILED


def _event_outcome(status):
    return {S.SYNCED: "ok", S.BLOCKED: "blocked", S.NEEDS_MAPPING: "blocked", S.PENDING: "retry", S.UNCERTAIN: "uncertain"}.get(
        status, "failed"
    )


def _fold(text):
    return (text or "").strip().casefold()


def _snapshot(adapter):
    stats = getattr(adapter, "stats", None)
    if stats is None:
        return (0, 0, 0)
    return (stats.requests, stats.batches, stats.throttled)


def _close(adapter):
    session = getattr(adapter, "session", None)
    if session is not None and hasattr(session, "close"):
        try:
            session.close()
        except Exception:  # closing is best effort
            logger.debug("closing an adapter session failed", exc_info=True)
