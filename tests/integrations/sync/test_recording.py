"""Writing a unit's outcomes in one statement each: links, events, the run's counters, new links."""

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from integrations.models import ExternalLink, SyncEvent, SyncRun
from integrations.sync import recording
from tests.factories import ItemFactory

S = ExternalLink.Status
pytestmark = pytest.mark.django_db


def link_for(connection, local_id, **fields):
    return ExternalLink.objects.create(connection=connection, kind="item", local_id=local_id, **fields)


def test_it_saves_every_field_of_many_links_in_one_statement(connection, django_assert_num_queries):
    synced_at = timezone.now() - datetime.timedelta(minutes=5)
    first = link_for(connection, 1, status=S.PENDING)
    second = link_for(connection, 2, status=S.SYNCED, remote_id="7", last_synced_at=synced_at, attempts=2)
    first.remote_id, first.remote_version, first.remote_number = "41", "3", "INV-9"
    first.pushed_hash, first.status, first.last_synced_at = "a" * 64, S.SYNCED, synced_at
    first.updated_at = synced_at
    second.remote_id, second.status, second.last_error = None, S.FAILED, "QuickBooks rejected item 'X': no"
    second.attempted_hash, second.attempts, second.last_synced_at = "b" * 64, 3, None
    with django_assert_num_queries(1):
        recording.links_save([first, second])
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.remote_id, first.remote_version, first.remote_number, first.status) == ("41", "3", "INV-9", S.SYNCED)
    assert (first.pushed_hash, first.last_synced_at, first.updated_at) == ("a" * 64, synced_at, synced_at)
    assert (second.remote_id, second.status, second.last_error) == (None, S.FAILED, "QuickBooks rejected item 'X': no")
    assert (second.attempted_hash, second.attempts, second.last_synced_at) == ("b" * 64, 3, None)


def test_a_remote_id_another_link_has_fails_the_whole_statement(connection):
    link_for(connection, 1, remote_id="7", status=S.SYNCED)
    taking = link_for(connection, 2)
    other = link_for(connection, 3)
    taking.remote_id, taking.status = "7", S.SYNCED
    other.remote_id, other.status = "8", S.SYNCED
    with pytest.raises(IntegrityError), transaction.atomic():
        recording.links_save([other, taking])
    assert set(ExternalLink.objects.filter(local_id__in=[2, 3]).values_list("remote_id", flat=True)) == {None}


def test_it_inserts_events_with_their_json_in_one_statement(connection, django_assert_num_queries):
    run = SyncRun.objects.create(connection=connection, trigger=SyncRun.Trigger.MANUAL)
    events = [
        {
            "run_id": run.pk,
            "connection_id": connection.pk,
            "kind": "item",
            "local_id": local_id,
            "remote_id": remote_id,
            "direction": "push",
            "action": "create",
            "outcome": outcome,
            "request": {"Name": "Pipe — ½ inch", "Price": "10.50", "Lines": [1, None]},
            "response": response,
            "error": error,
            "duration_ms": 12,
        }
        for local_id, remote_id, outcome, response, error in [
            (1, "41", "ok", {"Item": {"Id": "41"}}, ""),
            (2, "", "failed", None, "QuickBooks rejected item 'A': names cannot contain ':'"),
        ]
    ]
    with django_assert_num_queries(1):
        recording.events_create(events)
    ok, failed = SyncEvent.objects.filter(run=run).order_by("local_id")
    assert ok.request == {"Name": "Pipe — ½ inch", "Price": "10.50", "Lines": [1, None]}
    assert (ok.response, ok.remote_id, ok.outcome, ok.duration_ms) == ({"Item": {"Id": "41"}}, "41", "ok", 12)
    assert ok.created_at is not None
    assert failed.error == "QuickBooks rejected item 'A': names cannot contain ':'"
    assert SyncEvent.objects.filter(run=run, response__isnull=True).get() == failed


def test_it_saves_the_runs_counters(connection):
    run = SyncRun.objects.create(connection=connection, trigger=SyncRun.Trigger.MANUAL)
    run.done, run.succeeded, run.failed, run.requests, run.batches = 40, 38, 2, 3, 1
    run.heartbeat_at = timezone.now()
    recording.run_counters_save(run)
    saved = SyncRun.objects.get(pk=run.pk)
    assert (saved.done, saved.succeeded, saved.failed, saved.requests, saved.batches) == (40, 38, 2, 3, 1)
    assert saved.heartbeat_at == run.heartbeat_at


def test_it_creates_pending_links_and_reads_the_ones_another_process_made(connection):
    items = ItemFactory.create_batch(3, organization=connection.organization)
    ids = [item.pk for item in items]
    theirs = link_for(connection, ids[1], status=S.SYNCED, remote_id="9")
    links = recording.links_create(connection, "item", ids)
    assert sorted(links) == ids
    assert links[ids[1]].pk == theirs.pk and links[ids[1]].remote_id == "9"
    for local_id in (ids[0], ids[2]):
        link = links[local_id]
        stored = ExternalLink.objects.get(pk=link.pk)
        assert (stored.local_id, stored.kind, stored.status, stored.remote_id) == (local_id, "item", S.PENDING, None)
        assert (link.status, link.remote_id, link.attempts, link.connection_id) == (S.PENDING, None, 0, connection.pk)
        assert stored.created_at == link.created_at
    # What was created is what the push then updates.
    first = links[ids[0]]
    first.remote_id, first.status = "10", S.SYNCED
    recording.links_save([first])
    assert ExternalLink.objects.get(pk=first.pk).remote_id == "10"
