"""One run per connection when requests and tasks race (PostgreSQL row locks, real threads)."""

import threading

import pytest
from django.db import connections

from integrations import tasks
from integrations.models import SyncRun
from integrations.services.sync import sync_now
from integrations.sync import runs
from tests.factories import ItemFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(n, target):
    barrier = threading.Barrier(n)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            results.append(target())
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


def test_simultaneous_clicks_start_one_run(connection, enqueued):
    ids = race(6, lambda: sync_now(connection=connection).pk)
    assert len(set(ids)) == 1
    assert SyncRun.objects.filter(connection=connection).count() == 1
    assert enqueued == [ids[0]]


def test_a_task_delivered_twice_at_once_executes_once(connection, fake, book, enqueued):
    ItemFactory.create_batch(40, organization=connection.organization)
    run, _ = runs.run_request(connection=connection, trigger=SyncRun.Trigger.MANUAL)
    outcomes = race(3, lambda: tasks.sync_run(run.pk))
    assert sum(1 for o in outcomes if o.startswith("not claimed")) == 2
    assert book.count("item") == 40 and len(book.creates) == 40
