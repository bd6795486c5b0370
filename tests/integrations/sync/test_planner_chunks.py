"""The planner a chunk at a time: keyset by id, a fixed handful of queries per chunk, and a push that
plans its kind chunk by chunk while it sends."""

from decimal import Decimal

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from integrations.models import ExternalLink, SyncRun
from integrations.sync import planner
from integrations.sync.payloads import PayloadBuilder
from tests.factories import InvoiceFactory, ItemFactory

S = ExternalLink.Status
pytestmark = pytest.mark.django_db


def builder(connection):
    return PayloadBuilder(connection, requires_income_account=True)


def test_it_plans_a_kind_in_chunks_in_id_order_with_the_same_queries_per_chunk(connection):
    items = ItemFactory.create_batch(25, organization=connection.organization)
    chunks = planner.plan_chunks(connection, "item", builder(connection), size=10)
    sizes, ids, queries = [], [], []
    while True:
        with CaptureQueriesContext(db) as captured:
            chunk = next(chunks, None)
        if chunk is None:
            break
        sizes.append(len(chunk))
        ids.extend(c.local_id for c in chunk)
        queries.append(len(captured))
    assert sizes == [10, 10, 5]
    assert ids == sorted(item.pk for item in items)
    # Records and links per chunk (the first chunk also reads the income account mappings once).
    assert queries[1] == queries[2] == 2
    assert queries[0] <= 3


def test_a_chunk_holds_only_the_records_out_of_date(connection, sync):
    items = ItemFactory.create_batch(12, organization=connection.organization)
    sync(connection)
    changed = [items[1], items[11]]
    for item in changed:
        item.unit_price = Decimal("123.45")
        item.save()
    chunks = list(planner.plan_chunks(connection, "item", builder(connection), size=5))
    assert [[c.local_id for c in chunk] for chunk in chunks] == [[items[1].pk], [items[11].pk]]
    assert planner.count_out_of_date(connection, "item", builder(connection)) == 2


def test_counting_builds_only_the_records_whose_payload_decides(connection, sync, monkeypatch):
    items = ItemFactory.create_batch(6, organization=connection.organization)
    sync(connection)
    items[0].unit_price = Decimal("99.00")
    items[0].save()
    ExternalLink.objects.filter(connection=connection, local_id=items[1].pk).update(status=S.PENDING)
    fresh = ItemFactory.create_batch(3, organization=connection.organization)
    built = []
    counting = builder(connection)
    original = counting.build
    monkeypatch.setattr(counting, "build", lambda kind, obj: built.append(obj.pk) or original(kind, obj))

    # Changed, pending and never linked; the synced ones compared by payload, the rest counted unbuilt.
    assert planner.count_out_of_date(connection, "item", counting) == 2 + len(fresh)
    assert sorted(built) == sorted(i.pk for i in items if i.pk != items[1].pk)
    assert sum(len(c) for c in planner.plan_chunks(connection, "item", builder(connection))) == 2 + len(fresh)


def test_named_records_are_planned_in_chunks_of_the_names(connection):
    items = ItemFactory.create_batch(9, organization=connection.organization)
    wanted = [items[8].pk, items[0].pk, items[4].pk]
    chunks = list(planner.plan_chunks(connection, "item", builder(connection), ids=wanted, size=2))
    assert [[c.local_id for c in chunk] for chunk in chunks] == [[items[0].pk, items[4].pk], [items[8].pk]]


def test_the_sweep_sees_work_in_a_later_chunk(connection, sync, monkeypatch):
    items = ItemFactory.create_batch(7, organization=connection.organization)
    sync(connection)
    monkeypatch.setattr(planner, "CHUNK", 3)
    assert not planner.has_work(connection, builder(connection))
    items[-1].name = "Renamed"
    items[-1].save()
    assert planner.has_work(connection, builder(connection))


def test_a_push_planned_in_small_chunks_sends_every_record_once_in_full_batches(connection, book, sync, monkeypatch):
    monkeypatch.setattr(planner, "CHUNK", 7)
    ItemFactory.create_batch(95, organization=connection.organization)
    run = sync(connection)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert book.count("item") == 95
    assert sorted(book.batch_lengths) == [5, 30, 30, 30]
    assert run.succeeded == run.done == run.total == 95
    assert ExternalLink.objects.filter(connection=connection, kind="item", status=S.SYNCED).count() == 95


def test_a_record_blocked_in_a_later_chunk_is_recorded_as_blocked(connection, book, sync, monkeypatch):
    monkeypatch.setattr(planner, "CHUNK", 2)
    bad = ItemFactory(organization=connection.organization, name="Drain: Main line")
    good = [InvoiceFactory(organization=connection.organization) for _ in range(3)]
    blocked = InvoiceFactory(organization=connection.organization, lines=[(bad, Decimal("1"), Decimal("10.00"))])
    good.append(InvoiceFactory(organization=connection.organization))
    run = sync(connection)
    assert run.status == SyncRun.Status.PARTIAL
    link = ExternalLink.objects.get(connection=connection, kind="invoice", local_id=blocked.pk)
    assert link.status == S.BLOCKED and "Drain: Main line" in link.last_error
    assert book.count("invoice") == 4
    synced = ExternalLink.objects.filter(connection=connection, kind="invoice", status=S.SYNCED)
    assert sorted(synced.values_list("local_id", flat=True)) == sorted(i.pk for i in good)


def test_invoice_lines_come_with_their_items_in_one_query(connection):
    # Since Django 5.2, a prefetch hop from the lines to their items is one "id = ? OR ..." term per item
    # on SQLite, which refuses more than 1000 (the demo's 400 invoices reach that in `make run`).
    invoices = [InvoiceFactory(organization=connection.organization) for _ in range(3)]
    with CaptureQueriesContext(db) as captured:
        chunks = list(planner.plan_chunks(connection, "invoice", builder(connection)))
    assert sorted(c.local_id for chunk in chunks for c in chunk) == sorted(i.pk for i in invoices)
    assert not [q["sql"] for q in captured if q["sql"].startswith('SELECT "catalog_item"')]
