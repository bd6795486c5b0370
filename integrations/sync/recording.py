"""Writing what a unit of pushed records came to: its links, its events and the run's counters, one
statement each.

On PostgreSQL the links go in one `UPDATE … FROM (VALUES …)` and the events in one multi-row
`INSERT`, built here from plain values: the ORM's `bulk_update` builds a CASE WHEN per field and
record, and `bulk_create` prepares every field of every object, which together cost most of the push's
CPU (a few milliseconds per record at 3,629 items). Other databases (SQLite in development) use the
ORM's bulk methods: same rows, same single statement per unit.
"""

from __future__ import annotations

import json

from django.db import connection as db_connection

from ..models import ExternalLink, SyncEvent, SyncRun

LINK_FIELDS = [
    "remote_id",
    "remote_version",
    "remote_number",
    "pushed_hash",
    "attempted_hash",
    "status",
    "last_error",
    "attempts",
    "last_synced_at",
    "updated_at",
]
# The SQL type each value is cast to in the VALUES list (a column of NULLs would otherwise be text).
LINK_TYPES = {
    "remote_id": "varchar",
    "remote_version": "varchar",
    "remote_number": "varchar",
    "pushed_hash": "varchar",
    "attempted_hash": "varchar",
    "status": "varchar",
    "last_error": "text",
    "attempts": "integer",
    "last_synced_at": "timestamptz",
    "updated_at": "timestamptz",
}
EVENT_FIELDS = [
    "run_id",
    "connection_id",
    "kind",
    "local_id",
    "remote_id",
    "direction",
    "action",
    "outcome",
    "request",
    "response",
    "error",
    "duration_ms",
    "created_at",
]
RUN_FIELDS = ["done", "succeeded", "failed", "blocked", "requests", "batches", "throttled", "fallbacks", "total", "heartbeat_at"]


def _raw():
    return db_connection.vendor == "postgresql"


def links_save(links):
    """Saves LINK_FIELDS of `links` in one statement (raises IntegrityError, statement undone, when
    one of them takes a remote id another link has)."""
    if not links:
        return
    if not _raw():
        ExternalLink.objects.bulk_update(links, LINK_FIELDS)
        return
    row = "(" + ", ".join(["%s::bigint"] + [f"%s::{LINK_TYPES[f]}" for f in LINK_FIELDS]) + ")"
    params = []
    for link in links:
        params.append(link.pk)
        params.append(None if link.remote_id is None else str(link.remote_id))
        params.append(str(link.remote_version or ""))
        params.append(str(link.remote_number or ""))
        params.append(link.pushed_hash or "")
        params.append(link.attempted_hash or "")
        params.append(str(link.status))
        params.append(link.last_error or "")
        params.append(int(link.attempts))
        params.append(link.last_synced_at)
        params.append(link.updated_at)
    table = ExternalLink._meta.db_table
    columns = ", ".join(["id", *LINK_FIELDS])
    assignments = ", ".join(f"{f} = v.{f}" for f in LINK_FIELDS)
    values = ", ".join([row] * len(links))
    sql = f"UPDATE {table} AS t SET {assignments} FROM (VALUES {values}) AS v({columns}) WHERE t.id = v.id"  # noqa: S608 - names are ours, values are parameters
    with db_connection.cursor() as cursor:
        cursor.execute(sql, params)


def events_create(events):
    """Inserts `events` (dicts of EVENT_FIELDS but created_at; request and response JSON-safe) in one
    statement."""
    if not events:
        return
    if not _raw():
        SyncEvent.objects.bulk_create([SyncEvent(**e) for e in events])
        return
    from django.utils import timezone

    now = timezone.now()
    row = "(%s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s, %s, %s)"
    params = []
    for e in events:
        params.extend(
            (
                e["run_id"],
                e["connection_id"],
                e["kind"],
                e["local_id"],
                e["remote_id"],
                e["direction"],
                e["action"],
                e["outcome"],
                None if e["request"] is None else json.dumps(e["request"]),
                None if e["response"] is None else json.dumps(e["response"]),
                e["error"],
                e["duration_ms"],
                now,
            )
        )
    table = SyncEvent._meta.db_table
    sql = f"INSERT INTO {table} ({', '.join(EVENT_FIELDS)}) VALUES {', '.join([row] * len(events))}"  # noqa: S608 - names are ours, values are parameters
    with db_connection.cursor() as cursor:
        cursor.execute(sql, params)


def run_counters_save(run):
    """Saves the run's counters and heartbeat (RUN_FIELDS) as they are on `run`."""
    SyncRun.objects.filter(pk=run.pk).update(**{f: getattr(run, f) for f in RUN_FIELDS})
