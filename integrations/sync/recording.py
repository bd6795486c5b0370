"""Writing what a unit of pushed records came to: its links, its events and the run's counters, one
statement each.

On PostgreSQL the links go in one `UPDATE … FROM json_to_recordset(…)` and the events in one
`INSERT … SELECT … FROM json_to_recordset(…)`, from plain values: the ORM's `bulk_update` builds a
CASE WHEN per field and record, and `bulk_create` prepares every field of every object, which
together cost most of the push's CPU (a few milliseconds per record at 3,629 items). Other databases
(SQLite in development) use the ORM's bulk methods: same rows, same single statement.
"""

from __future__ import annotations

import json

from django.db import connection as db_connection
from django.utils import timezone

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


def _record_type(fields, types):
    return ", ".join(f"{f} {types[f]}" for f in fields)


def _iso(moment):
    return None if moment is None else moment.isoformat()


# The statements' text never changes (so psycopg parses it once): the rows travel as one JSON
# parameter, which json.dumps builds in C, and PostgreSQL unpacks it with json_to_recordset.
LINKS_UPDATE = (
    f"UPDATE {ExternalLink._meta.db_table} AS t SET {', '.join(f'{f} = v.{f}' for f in LINK_FIELDS)} "  # noqa: S608 - names are ours
    f"FROM json_to_recordset(%s::json) AS v(id bigint, {_record_type(LINK_FIELDS, LINK_TYPES)}) WHERE t.id = v.id"
)


def links_save(links):
    """Saves LINK_FIELDS of `links` in one statement (raises IntegrityError, statement undone, when
    one of them takes a remote id another link has)."""
    if not links:
        return
    if not _raw():
        ExternalLink.objects.bulk_update(links, LINK_FIELDS)
        return
    rows = [
        {
            "id": link.pk,
            "remote_id": None if link.remote_id is None else str(link.remote_id),
            "remote_version": str(link.remote_version or ""),
            "remote_number": str(link.remote_number or ""),
            "pushed_hash": link.pushed_hash or "",
            "attempted_hash": link.attempted_hash or "",
            "status": str(link.status),
            "last_error": link.last_error or "",
            "attempts": int(link.attempts),
            "last_synced_at": _iso(link.last_synced_at),
            "updated_at": _iso(link.updated_at),
        }
        for link in links
    ]
    with db_connection.cursor() as cursor:
        cursor.execute(LINKS_UPDATE, [json.dumps(rows)])


EVENT_TYPES = {
    "run_id": "bigint",
    "connection_id": "bigint",
    "kind": "varchar",
    "local_id": "bigint",
    "remote_id": "varchar",
    "direction": "varchar",
    "action": "varchar",
    "outcome": "varchar",
    "request": "jsonb",
    "response": "jsonb",
    "error": "text",
    "duration_ms": "integer",
}
EVENTS_INSERT = (
    f"INSERT INTO {SyncEvent._meta.db_table} ({', '.join(EVENT_FIELDS)}) "  # noqa: S608 - names are ours
    f"SELECT {', '.join(EVENT_TYPES)}, %s FROM json_to_recordset(%s::json) AS v({_record_type(EVENT_TYPES, EVENT_TYPES)})"
)


def events_create(events):
    """Inserts `events` (dicts of EVENT_FIELDS but created_at; request and response JSON-safe, as
    audit.redact makes them) in one statement."""
    if not events:
        return
    if not _raw():
        SyncEvent.objects.bulk_create([SyncEvent(**e) for e in events])
        return
    with db_connection.cursor() as cursor:
        cursor.execute(EVENTS_INSERT, [timezone.now(), json.dumps(events)])


RUN_UPDATE = f"UPDATE {SyncRun._meta.db_table} SET {', '.join(f'{f} = %s' for f in RUN_FIELDS)} WHERE id = %s"  # noqa: S608 - names are ours


def run_counters_save(run):
    """Saves the run's counters and heartbeat (RUN_FIELDS) as they are on `run`."""
    if not _raw():
        SyncRun.objects.filter(pk=run.pk).update(**{f: getattr(run, f) for f in RUN_FIELDS})
        return
    with db_connection.cursor() as cursor:
        cursor.execute(RUN_UPDATE, [*(getattr(run, f) for f in RUN_FIELDS), run.pk])


def links_create(connection, kind, local_ids):
    """Pending links for `local_ids`, which had none when planned: created in one statement (another
    process may have created some meanwhile: those are read). Returns {local_id: ExternalLink}."""
    if not local_ids:
        return {}
    pending = ExternalLink.Status.PENDING
    if not _raw():
        ExternalLink.objects.bulk_create(
            [ExternalLink(connection=connection, kind=kind, local_id=i, status=pending) for i in local_ids],
            ignore_conflicts=True,
            batch_size=1000,
        )
        rows = ExternalLink.objects.filter(connection=connection, kind=kind, local_id__in=list(local_ids))
        return {link.local_id: link for link in rows}
    template = ExternalLink(connection=connection, kind=kind, local_id=0, status=pending)
    fields = [f for f in ExternalLink._meta.concrete_fields if not f.primary_key and f.attname != "local_id"]
    values = [f.get_db_prep_save(f.pre_save(template, True), db_connection) for f in fields]
    columns = ", ".join(f.column for f in fields)
    sql = (
        f"INSERT INTO {ExternalLink._meta.db_table} ({columns}, local_id) "  # noqa: S608 - names are ours
        f"SELECT {', '.join(['%s'] * len(fields))}, v.local_id::bigint FROM json_array_elements_text(%s::json) AS v(local_id) "
        "ON CONFLICT DO NOTHING RETURNING id, local_id"
    )
    with db_connection.cursor() as cursor:
        cursor.execute(sql, [*values, json.dumps([int(i) for i in local_ids])])
        created = cursor.fetchall()
    state = {f.attname: getattr(template, f.attname) for f in fields if f.attname != "connection_id"}
    links = {}
    for pk, local_id in created:
        link = ExternalLink(id=pk, local_id=local_id, connection=connection, **state)
        link._state.adding = False
        link._state.db = db_connection.alias
        links[local_id] = link
    missing = [i for i in local_ids if i not in links]
    if missing:
        links.update(
            (link.local_id, link) for link in ExternalLink.objects.filter(connection=connection, kind=kind, local_id__in=missing)
        )
    return links
