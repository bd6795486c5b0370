"""The scheduler's economy: it asks the throttle again only once the wait it gave is over, and it
records finished requests together instead of one statement set per request."""

import time

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from integrations.models import ExternalLink, SyncEvent, SyncRun
from integrations.providers.base import Limit
from integrations.sync import push
from tests.factories import ItemFactory
from tests.integrations.sync.fakes import FakeAdapter

pytestmark = pytest.mark.django_db


class BatchLimited(FakeAdapter):
    limits = (Limit("batch", 40, 60),)


class BatchWindowFull:
    """The batch window is full for the next minute; single requests are free."""

    def __init__(self):
        self.asked = []

    def try_acquire(self, kind):
        self.asked.append(kind)
        return (None, 60.0) if kind == "batch" else (f"slot-{len(self.asked)}", 0.0)

    def release(self, token):
        pass


def pusher(connection, book, throttle):
    run = SyncRun.objects.create(connection=connection, trigger=SyncRun.Trigger.MANUAL)
    return run, push.Pusher(
        connection=connection,
        run=run,
        adapter_factory=lambda: BatchLimited(book),
        adapter_class=BatchLimited,
        throttle=throttle,
        deadline=time.monotonic() + 300,
    )


def test_a_full_batch_window_is_not_asked_about_again_before_its_wait_is_over(connection, book):
    ItemFactory.create_batch(45, organization=connection.organization)
    throttle = BatchWindowFull()
    _, p = pusher(connection, book, throttle)
    tally = p.push(kinds=["item"])
    assert tally.complete
    assert throttle.asked.count("batch") == 1
    assert throttle.asked.count("single") == 45
    assert book.batch_lengths == [] and len(book.creates) == 45
    assert ExternalLink.objects.filter(connection=connection, kind="item", status="synced").count() == 45


@pytest.mark.parametrize("every,most", [(1000, 1), (10, 5)])
def test_finished_single_requests_are_recorded_together(connection, book, monkeypatch, every, most):
    monkeypatch.setattr(push, "RECORD_SECONDS", 3600.0)
    monkeypatch.setattr(push, "RECORD_RECORDS", every)
    ItemFactory.create_batch(45, organization=connection.organization)
    run, p = pusher(connection, book, BatchWindowFull())
    with CaptureQueriesContext(db) as captured:
        p.push(kinds=["item"])
    statements = [q["sql"] for q in captured.captured_queries]
    updates = [sql for sql in statements if sql.startswith("UPDATE integrations_externallink")]
    assert 1 <= len(updates) <= most
    run.refresh_from_db()
    assert (run.done, run.succeeded, run.requests) == (45, 45, 45)
    assert SyncEvent.objects.filter(run=run, outcome="ok").count() == 45
    assert ExternalLink.objects.filter(connection=connection, kind="item", status="synced").count() == 45


class OnePerRequest(FakeAdapter):
    batch_sizes = {"item": 1}
    limits = (Limit("any", 3, 60),)


class AlwaysFree:
    def __init__(self):
        self.asked = 0

    def try_acquire(self, kind):
        self.asked += 1
        return f"slot-{self.asked}", 0.0

    def release(self, token):
        pass


def test_the_throttle_is_not_asked_when_our_own_requests_fill_a_window(connection, book):
    """Three a minute: after three requests of ours the answer can only be no, so it is not asked;
    the budget ends the execution and the rest is left for the continuation."""
    ItemFactory.create_batch(10, organization=connection.organization)
    throttle = AlwaysFree()
    run = SyncRun.objects.create(connection=connection, trigger=SyncRun.Trigger.MANUAL)
    p = push.Pusher(
        connection=connection,
        run=run,
        adapter_factory=lambda: OnePerRequest(book),
        adapter_class=OnePerRequest,
        throttle=throttle,
        deadline=time.monotonic() + 5,
    )
    tally = p.push(kinds=["item"])
    assert not tally.complete
    assert throttle.asked == 3
    assert len(book.creates) == 3
    assert ExternalLink.objects.filter(connection=connection, kind="item", status="synced").count() == 3
