"""The shared request throttle: one per connection, held across threads, processes and machines.

Every request an adapter makes goes through `throttle.slot(kind)` (kind "batch" or "single"). A slot is
handed out only when every one of the adapter's `limits` (sliding windows: at most `count` requests of
`kind`, or of any kind for "any", in the last `seconds`) has room, when fewer than `max_in_flight`
requests are in flight, and when no 429 asked us to wait (`penalize(seconds)`). So N workers together
stay inside the provider's published limits and a normal run never receives a 429.

Where the state lives:
- Redis when settings.REDIS_URL is set: one Lua script checks and takes a slot atomically (sorted sets
  of start times per limit, one of requests in flight, a key for the penalty).
- Otherwise the database (PostgreSQL or a SQLite file): ThrottleBucket/ThrottleSlot rows, checked and
  taken under a lock of the bucket row (SELECT ... FOR UPDATE; SQLite serializes writers itself). The
  throttle uses its own database connection per thread, in autocommit, so a slot is visible to other
  processes at once even when the caller is inside a transaction, and its queries do not count against
  the caller's.
- An in-memory SQLite database (a developer machine without PostgreSQL) cannot be shared between
  connections: a process-local store is used there.

A slot never released (the process died mid-request) stops counting as in flight after
STALE_SECONDS, the longest a provider request may take.
"""

# ruff: noqa: S608 - the SQL below interpolates only table names from model _meta; values are parameters.
from __future__ import annotations

import contextlib
import itertools
import logging
import math
import os
import threading
import time
import uuid

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)

STALE_SECONDS = 120.0
POLL_SECONDS = 0.05
# A slot taken ahead whose request leaves within this long keeps its date (one update less per request;
# the slack on every window is far larger).
FRESH_SECONDS = 0.02


_TOKENS = itertools.count()
_MACHINE = uuid.uuid4().hex[:12]  # drawn at import; forked workers tell themselves apart by pid


def _new_token():
    """A slot's token, unique across threads, processes and machines (cheaper than a uuid4 per slot)."""
    return f"{_MACHINE}:{os.getpid()}:{next(_TOKENS)}"


class BudgetSpent(Exception):
    """A slot would only come after the caller's deadline: stop and let the continuation send it."""


def applies(limit, kind):
    return limit.kind == "any" or limit.kind == kind


class SharedThrottle:
    """The Throttle of base.py over a store. `clock` and `sleep` are injectable for tests."""

    def __init__(self, *, store, limits, max_in_flight=1, clock=time.time, sleep=time.sleep):
        self.store = store
        self.limits = tuple(limits)
        self.max_in_flight = max(1, int(max_in_flight or 1))
        self.clock = clock
        self.sleep = sleep
        self.waited = 0.0  # seconds this instance spent waiting for slots
        self.deadline = None  # time.monotonic() past which acquire() gives up (the run's time budget)
        self._held = {}  # kind -> a slot taken ahead by the scheduler for this instance's next request

    @contextlib.contextmanager
    def slot(self, kind):
        # A held slot serves the next request whatever its kind: a "batch" slot taken for a batch
        # that the adapter sends as a single request (one record left) counts conservatively.
        token = self._held.pop(kind, None) or (self._held.pop(next(iter(self._held))) if self._held else None)
        if token:
            # Taken ahead by the scheduler: the request leaves only now (after the worker thread picked it
            # up and read the access token, which a continuation's first requests do from the database).
            # The provider counts it when it arrives, so its window must start now, not when it was taken.
            self.store.restamp(token, self.limits, self.clock())
        else:
            token = self.acquire(kind)
        try:
            yield
        finally:
            self.store.release(token)

    def acquire(self, kind):
        """Block until a slot of `kind` is free; take it. Returns its token (for `release`). Raises
        BudgetSpent instead of waiting past `deadline` (time.monotonic()) when one is set."""
        while True:
            token, wait = self.try_acquire(kind)
            if token:
                return token
            wait = min(max(wait, POLL_SECONDS), 60.0)
            if self.deadline is not None and time.monotonic() + wait > self.deadline:
                raise BudgetSpent(f"the next {kind} request could only start in {wait:.0f} s, after the time budget")
            self.waited += wait
            self.sleep(wait)

    def try_acquire(self, kind):
        """(token, 0) when a slot of `kind` was taken now; (None, seconds until one may free) otherwise."""
        token = _new_token()
        wait = self.store.try_acquire(token, kind, self.limits, self.max_in_flight, self.clock())
        return (token, 0.0) if wait <= 0 else (None, wait)

    def release(self, token):
        self.store.release(token)

    def hold(self, kind, token):
        """Let this instance's next `slot(kind)` use `token`, a slot the scheduler already took."""
        previous = self._held.pop(kind, None)
        if previous:
            self.store.release(previous)
        self._held[kind] = token

    def release_held(self):
        """Give back slots held but not used (the adapter sent nothing after all)."""
        for token in self._held.values():
            self.store.release(token)
        self._held.clear()

    def wait_time(self, kind):
        """Seconds until a request of `kind` could start (0: now), without taking a slot. A hint for the
        scheduler: another process may take the slot first."""
        return self.store.peek(kind, self.limits, self.max_in_flight, self.clock())

    def penalize(self, seconds):
        self.store.penalize(self.clock() + float(seconds), float(seconds))


# --- Decision shared by the stores ------------------------------------------------------------------


def slack(seconds):
    """Extra room on a window: the provider times a request when it arrives, we when its slot is taken,
    and a first request slower on its way than a later one would otherwise put both in one provider
    window (one QuickBooks 429 stalls the connection for 60 s). Measured with two full-catalog syncs
    and a busy loop on two cores, a request reached the sandbox up to 0.22 s later than one sent ten
    slots after it (most of it between taking the slot and sending, waiting for the interpreter lock);
    0.35 s covers that. On QuickBooks' one-second window it costs about 2% of a 3,629-item sync: 10
    requests per 1.36 s against the 500 a minute (8.3 a second) that bind otherwise."""
    return 0.35 + seconds * 0.01


def _wait_for(kind, limits, max_in_flight, now, penalized_until, in_flight, windows):
    """`windows[i]` = (count, oldest start) of requests counting against limits[i] in its window."""
    if penalized_until > now:
        return penalized_until - now
    if in_flight >= max_in_flight:
        return POLL_SECONDS
    wait = 0.0
    for limit, (count, oldest) in zip(limits, windows, strict=True):
        if applies(limit, kind) and count >= limit.count:
            wait = max(wait, (oldest or now) + limit.seconds + slack(limit.seconds) - now, POLL_SECONDS)
    return wait


# --- Stores -----------------------------------------------------------------------------------------


class LocalStore:
    """Process-local state (threads share it): the in-memory SQLite fallback and unit tests."""

    _lock = threading.Lock()
    _states: dict[str, dict] = {}

    def __init__(self, key):
        self.key = key
        with self._lock:
            self.state = self._states.setdefault(key, {"penalized_until": 0.0, "slots": {}})

    def _decide(self, kind, limits, max_in_flight, now):
        slots = self.state["slots"]
        horizon = max([lim.seconds + slack(lim.seconds) for lim in limits] + [STALE_SECONDS])
        for token, (_, started, ended) in list(slots.items()):
            if started < now - horizon and (ended is not None or started < now - STALE_SECONDS):
                del slots[token]
        in_flight = sum(1 for (_, s, e) in slots.values() if e is None and s > now - STALE_SECONDS)
        windows = []
        for limit in limits:
            starts = [s for (k, s, _) in slots.values() if applies(limit, k) and s > now - limit.seconds - slack(limit.seconds)]
            windows.append((len(starts), min(starts) if starts else None))
        return _wait_for(kind, limits, max_in_flight, now, self.state["penalized_until"], in_flight, windows)

    def try_acquire(self, token, kind, limits, max_in_flight, now):
        with self._lock:
            wait = self._decide(kind, limits, max_in_flight, now)
            if wait <= 0:
                self.state["slots"][token] = (kind, now, None)
            return wait

    def peek(self, kind, limits, max_in_flight, now):
        with self._lock:
            return self._decide(kind, limits, max_in_flight, now)

    def restamp(self, token, limits, now):
        with self._lock:
            kind, started, ended = self.state["slots"].get(token, (None, None, None))
            if kind is not None and now > started:
                self.state["slots"][token] = (kind, now, ended)

    def release(self, token):
        with self._lock:
            kind, started, _ = self.state["slots"].get(token, (None, None, None))
            if kind is not None:
                self.state["slots"][token] = (kind, started, time.time())

    def penalize(self, until, seconds):
        with self._lock:
            self.state["penalized_until"] = max(self.state["penalized_until"], until)


class DatabaseStore:
    """ThrottleBucket/ThrottleSlot rows, through a connection of its own per thread (autocommit)."""

    _local = threading.local()

    def __init__(self, key):
        from ..models import ThrottleBucket, ThrottleSlot

        self.key = key
        self.buckets = ThrottleBucket._meta.db_table
        self.slots = ThrottleSlot._meta.db_table
        self._bucket_id = None

    # A connection of our own: what we write is committed at once whatever the caller's transaction.
    @classmethod
    def _db(cls):
        db = getattr(cls._local, "db", None)
        if db is None:
            db = connections.create_connection("default")
            db.inc_thread_sharing()  # so close_all_connections() may close it from another thread
            cls._local.db = db
            with cls._all_lock:
                cls._by_thread[threading.get_ident()] = db
        with cls._all_lock:
            if db not in cls._all:  # (again, after close_all_connections closed it)
                cls._all.append(db)
        return db

    _all: list = []
    _all_lock = threading.Lock()
    _tokens: dict = {}  # token -> (slot id, when taken, bucket id on PostgreSQL), for whichever thread releases it
    # On PostgreSQL a release is not a statement of its own: the slot's end is kept here (bucket id ->
    # [(slot id, when it ended)]) and written by the next slot taken in this process, before that
    # decision counts what is in flight, or by flush_releases() when a push ends. Only this process's
    # own decisions depend on the slots it took (one run per connection at a time); a crashed process's
    # slots stop counting as in flight after STALE_SECONDS anyway.
    _ended: dict = {}
    _END = "UPDATE {slots} AS s SET ended = e.at FROM unnest(%s::bigint[], %s::float8[]) AS e(id, at) WHERE s.id = e.id"

    @classmethod
    def flush_releases(cls):
        """Write the ends of released slots that no slot taken since has written (see _ended)."""
        with cls._all_lock:
            ended, cls._ended = cls._ended, {}
        pairs = [pair for bucket in ended.values() for pair in bucket]
        if pairs:
            from ..models import ThrottleSlot

            sql = cls._END.format(slots=ThrottleSlot._meta.db_table)
            cls._driver_cursor(cls._db()).execute(sql, [[i for i, _ in pairs], [t for _, t in pairs]], prepare=True)

    @classmethod
    def _flush_on_close(cls):
        """flush_releases() before connections close (nothing to do, and no query, when none is kept)."""
        try:
            cls.flush_releases()
        except Exception:  # the database went away: those slots stop counting after STALE_SECONDS
            logger.warning("could not write the ends of released throttle slots", exc_info=True)

    _by_thread: dict = {}  # thread ident -> its connection

    @classmethod
    def close_connections_of(cls, idents):
        """Close the connections of the threads `idents` (a finished worker pool), from any thread."""
        cls._flush_on_close()
        with cls._all_lock:
            dbs = [cls._by_thread.pop(ident) for ident in idents if ident in cls._by_thread]
        for db in dbs:
            db.close()

    @classmethod
    def close_thread_connection(cls):
        db = getattr(cls._local, "db", None)
        if db is not None:
            cls._flush_on_close()
            db.close()
            cls._local.db = None
            with cls._all_lock:
                if db in cls._all:
                    cls._all.remove(db)

    @classmethod
    def close_all_connections(cls):
        cls._flush_on_close()
        with cls._all_lock:
            dbs, cls._all = cls._all, []
        for db in dbs:
            db.close()

    @contextlib.contextmanager
    def _locked(self):
        """A transaction holding the bucket row's lock; yields (cursor, bucket id, penalized_until)."""
        db = self._db()
        db.ensure_connection()
        bucket_id = self._bucket(db)
        db.set_autocommit(False)
        try:
            with db.cursor() as cursor:
                lock = " FOR UPDATE" if db.features.has_select_for_update else ""
                if db.vendor == "sqlite":  # take SQLite's write lock now, as FOR UPDATE would
                    cursor.execute(f"UPDATE {self.buckets} SET key = key WHERE id = %s", [bucket_id])
                cursor.execute(f"SELECT penalized_until FROM {self.buckets} WHERE id = %s{lock}", [bucket_id])
                (penalized_until,) = cursor.fetchone()
                yield cursor, bucket_id, penalized_until
            db.commit()
        except BaseException:
            db.rollback()
            raise
        finally:
            db.set_autocommit(True)

    def _bucket(self, db):
        if self._bucket_id is None:
            with db.cursor() as cursor:
                cursor.execute(f"SELECT id FROM {self.buckets} WHERE key = %s", [self.key])
                row = cursor.fetchone()
                if row is None:
                    conflict = " ON CONFLICT (key) DO NOTHING"
                    cursor.execute(f"INSERT INTO {self.buckets} (key, penalized_until) VALUES (%s, 0){conflict}", [self.key])
                    cursor.execute(f"SELECT id FROM {self.buckets} WHERE key = %s", [self.key])
                    row = cursor.fetchone()
            self._bucket_id = row[0]
        return self._bucket_id

    def _decide(self, cursor, bucket_id, penalized_until, kind, limits, max_in_flight, now):
        parts, params = ["SUM(CASE WHEN ended IS NULL AND started > %s THEN 1 ELSE 0 END)"], [now - STALE_SECONDS]
        for limit in limits:
            kinds = "" if limit.kind == "any" else " AND kind = %s"
            parts.append(f"SUM(CASE WHEN started > %s{kinds} THEN 1 ELSE 0 END)")
            parts.append(f"MIN(CASE WHEN started > %s{kinds} THEN started END)")
            for _ in range(2):
                params += [now - limit.seconds - slack(limit.seconds)] + ([] if limit.kind == "any" else [limit.kind])
        horizon = max([lim.seconds + slack(lim.seconds) for lim in limits] + [STALE_SECONDS])
        cursor.execute(
            f"SELECT {', '.join(parts)} FROM {self.slots} WHERE bucket_id = %s AND started > %s",
            [*params, bucket_id, now - horizon],
        )
        row = cursor.fetchone()
        in_flight = row[0] or 0
        windows = [(row[1 + 2 * i] or 0, row[2 + 2 * i]) for i in range(len(limits))]
        return _wait_for(kind, limits, max_in_flight, now, penalized_until, in_flight, windows), horizon

    # PostgreSQL decides in one round trip (the function blueclerk_throttle_take, migration 0002),
    # through the driver's own connection, past Django's cursor wrapper: a slot is taken for every
    # request, so each statement's client CPU counts. Other databases decide in Python under the lock.
    _TAKE = (
        "SELECT wait, slot_id FROM blueclerk_throttle_take("
        "%s::bigint, %s::text, %s::float8, %s::boolean, %s::int, %s::float8, %s::float8, %s::text[], %s::int[], %s::float8[], "
        "%s::bigint[], %s::float8[])"
    )

    def _take(self, kind, limits, max_in_flight, now, take):
        """(wait, slot id): 0 and the new slot's id when one was taken, else the wait and None."""
        db = self._db()
        db.ensure_connection()
        decide = self._take_in_postgresql if db.vendor == "postgresql" else self._take_in_python
        return decide(db, kind, limits, max_in_flight, now, take)

    def _take_in_postgresql(self, db, kind, limits, max_in_flight, now, take):
        bucket_id = self._bucket(db)
        windows = [limit.seconds + slack(limit.seconds) for limit in limits]
        params = [bucket_id, kind, now, take, max_in_flight, STALE_SECONDS, max([*windows, STALE_SECONDS])]
        params += [[limit.kind for limit in limits], [limit.count for limit in limits], windows]
        with self._all_lock:
            ended = self._ended.pop(bucket_id, [])
        try:
            wait, slot_id = (
                self._driver_cursor(db)
                .execute(self._TAKE, [*params, [i for i, _ in ended], [t for _, t in ended]], prepare=True)
                .fetchone()
            )
        except BaseException:
            with self._all_lock:
                self._ended.setdefault(bucket_id, [])[:0] = ended  # written by the next attempt
            raise
        return wait, slot_id

    @classmethod
    def _driver_cursor(cls, db):
        """A cursor of the driver on this thread's connection, binding on the server side: each
        statement is prepared once per connection, and its parameters travel apart (no quoting here)."""
        import psycopg

        db.ensure_connection()
        cursor = getattr(cls._local, "cursor", None)
        if cursor is None or cursor.closed or cursor.connection is not db.connection:
            cursor = cls._local.cursor = psycopg.Cursor(db.connection)
        return cursor

    def _take_in_python(self, db, kind, limits, max_in_flight, now, take):
        with self._locked() as (cursor, bucket_id, penalized_until):
            wait, horizon = self._decide(cursor, bucket_id, penalized_until, kind, limits, max_in_flight, now)
            if wait > 0 or not take:
                return wait, None
            cursor.execute(
                f"INSERT INTO {self.slots} (bucket_id, kind, started) VALUES (%s, %s, %s) RETURNING id", [bucket_id, kind, now]
            )
            slot_id = cursor.fetchone()[0]
            if slot_id % 200 == 0:  # now and then, forget what no window looks at any more
                cursor.execute(f"DELETE FROM {self.slots} WHERE bucket_id = %s AND started < %s", [bucket_id, now - horizon])
            return 0.0, slot_id

    def _execute(self, sql, params):
        db = self._db()
        if db.vendor == "postgresql":
            self._driver_cursor(db).execute(sql, params, prepare=True)
        else:
            with db.cursor() as cursor:
                cursor.execute(sql, params)

    def try_acquire(self, token, kind, limits, max_in_flight, now):
        wait, slot_id = self._take(kind, limits, max_in_flight, now, take=True)
        if slot_id is None:
            return wait
        deferred_end = self._bucket_id if self._db().vendor == "postgresql" else None
        with self._all_lock:
            self._tokens[token] = (slot_id, now, deferred_end)
        return 0

    def peek(self, kind, limits, max_in_flight, now):
        return self._take(kind, limits, max_in_flight, now, take=False)[0]

    def restamp(self, token, limits, now):
        with self._all_lock:
            slot_id, started, _ = self._tokens.get(token, (None, now, None))
        if slot_id is not None and now - started > FRESH_SECONDS:
            self._execute(f"UPDATE {self.slots} SET started = %s WHERE id = %s AND started < %s", [now, slot_id, now])

    def release(self, token):
        with self._all_lock:
            slot_id, _, bucket_id = self._tokens.pop(token, (None, None, None))
            if slot_id is not None and bucket_id is not None:  # PostgreSQL: written later (see _ended)
                self._ended.setdefault(bucket_id, []).append((slot_id, time.time()))
                return
        if slot_id is not None:
            self._execute(f"UPDATE {self.slots} SET ended = %s WHERE id = %s", [time.time(), slot_id])

    def penalize(self, until, seconds):
        with self._locked() as (cursor, bucket_id, penalized_until):
            if until > penalized_until:
                cursor.execute(f"UPDATE {self.buckets} SET penalized_until = %s WHERE id = %s", [until, bucket_id])


_ACQUIRE = """
local now, token, max_in_flight, stale, n = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local take = ARGV[6] == '1'
local pen = tonumber(redis.call('GET', KEYS[1]) or '0')
if pen > now then return tostring(pen - now) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - stale)
if redis.call('ZCARD', KEYS[2]) >= max_in_flight then return '0.05' end
local wait = 0
for i = 1, n do
  local applies, count, seconds = ARGV[6 + 3 * i - 2], tonumber(ARGV[6 + 3 * i - 1]), tonumber(ARGV[6 + 3 * i])
  redis.call('ZREMRANGEBYSCORE', KEYS[2 + i], '-inf', now - seconds)
  if applies == '1' and redis.call('ZCARD', KEYS[2 + i]) >= count then
    local oldest = redis.call('ZRANGE', KEYS[2 + i], 0, 0, 'WITHSCORES')
    wait = math.max(wait, tonumber(oldest[2]) + seconds - now, 0.05)
  end
end
if wait > 0 or not take then return tostring(wait) end
redis.call('ZADD', KEYS[2], now, token)
redis.call('EXPIRE', KEYS[2], math.ceil(stale) + 1)
for i = 1, n do
  if ARGV[6 + 3 * i - 2] == '1' then
    redis.call('ZADD', KEYS[2 + i], now, token)
    redis.call('EXPIRE', KEYS[2 + i], math.ceil(tonumber(ARGV[6 + 3 * i])) + 1)
  end
end
return '0'
"""

_PENALIZE = """
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > cur then redis.call('SET', KEYS[1], ARGV[1], 'EX', math.ceil(tonumber(ARGV[2])) + 1) end
return 1
"""


_RESTAMP = """
for i = 1, #KEYS do
  if redis.call('ZSCORE', KEYS[i], ARGV[2]) then redis.call('ZADD', KEYS[i], 'XX', 'GT', ARGV[1], ARGV[2]) end
end
return 1
"""


class RedisStore:
    """Sorted sets of start times in Redis, checked and taken by one Lua script (atomic)."""

    _clients: dict[str, object] = {}

    def __init__(self, key, url):
        import redis

        if url not in self._clients:
            self._clients[url] = redis.Redis.from_url(url)
        self.redis = self._clients[url]
        self.prefix = f"blueclerk:throttle:{key}"
        self.acquire_script = self.redis.register_script(_ACQUIRE)
        self.penalize_script = self.redis.register_script(_PENALIZE)
        self.restamp_script = self.redis.register_script(_RESTAMP)

    def _window_keys(self, limits):
        return [f"{self.prefix}:w:{lim.kind}:{lim.count}:{lim.seconds}" for lim in limits]

    def _call(self, token, kind, limits, max_in_flight, now, take):
        keys = [f"{self.prefix}:penalty", f"{self.prefix}:inflight", *self._window_keys(limits)]
        args = [repr(now), token, max_in_flight, STALE_SECONDS, len(limits), "1" if take else "0"]
        for lim in limits:
            args += ["1" if applies(lim, kind) else "0", lim.count, lim.seconds + slack(lim.seconds)]
        return float(self.acquire_script(keys=keys, args=args))

    def try_acquire(self, token, kind, limits, max_in_flight, now):
        return self._call(token, kind, limits, max_in_flight, now, True)

    def peek(self, kind, limits, max_in_flight, now):
        return self._call("peek", kind, limits, max_in_flight, now, False)

    def restamp(self, token, limits, now):
        self.restamp_script(keys=[f"{self.prefix}:inflight", *self._window_keys(limits)], args=[repr(now), token])

    def release(self, token):
        self.redis.zrem(f"{self.prefix}:inflight", token)

    def penalize(self, until, seconds):
        self.penalize_script(keys=[f"{self.prefix}:penalty"], args=[repr(until), max(1, math.ceil(seconds))])


# --- Construction -----------------------------------------------------------------------------------


def store_for(key):
    if getattr(settings, "REDIS_URL", ""):
        return RedisStore(key, settings.REDIS_URL)
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3") and str(db.get("NAME", "")).startswith((":memory:", "file::memory:")):
        return LocalStore(key)
    return DatabaseStore(key)


def throttle_for(connection, *, adapter_class=None, **kwargs):
    """The shared throttle of `connection` at its provider's limits (from the adapter class)."""
    if adapter_class is None:
        from ..providers.registry import adapter_class as registry_adapter_class

        adapter_class = registry_adapter_class(connection.provider)
    return SharedThrottle(
        store=store_for(f"connection:{connection.pk}"),
        limits=adapter_class.limits,
        max_in_flight=adapter_class.max_in_flight,
        **kwargs,
    )


def close_thread_connections():
    """Close this thread's throttle connection (worker threads call it before they end)."""
    DatabaseStore.close_thread_connection()


def close_all_connections():
    """Close every throttle connection of this process (tests, before the test database is dropped)."""
    DatabaseStore.close_all_connections()


def close_connections_of(idents):
    """Close the throttle connections of the threads `idents` (a worker pool that finished)."""
    DatabaseStore.close_connections_of(idents)
