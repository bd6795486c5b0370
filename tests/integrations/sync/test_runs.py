"""Run lifecycle: one run per connection, joining, take-over, budget and continuations, notifications."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from integrations import tasks
from integrations.models import ExternalLink, Notification, SyncRun
from integrations.providers.base import Limit, ReconnectRequired
from integrations.services.sync import sync_now
from integrations.sync import runs
from tests.factories import CustomerFactory, InvoiceFactory, ItemFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def test_a_second_request_joins_the_active_run(connection, enqueued):
    first, must = runs.run_request(connection=connection, trigger=SyncRun.Trigger.MANUAL)
    second, again = runs.run_request(
        connection=connection, trigger=SyncRun.Trigger.AUTOMATIC, scope=runs.make_scope(ids={"item": [1]})
    )
    assert first.pk == second.pk and must and not again
    assert SyncRun.objects.filter(connection=connection).count() == 1
    assert "ids" not in SyncRun.objects.get(pk=first.pk).scope  # all records stays all records


def test_a_double_click_starts_one_run_and_enqueues_it_once(connection, enqueued):
    one = sync_now(connection=connection)
    two = sync_now(connection=connection)
    assert one.pk == two.pk
    assert enqueued == [one.pk]


def test_a_retried_task_does_not_execute_a_run_twice(connection, fake, book, enqueued):
    ItemFactory.create_batch(3, organization=connection.organization)
    run, _ = runs.run_request(connection=connection, trigger=SyncRun.Trigger.MANUAL)
    claimed = runs.run_claim(run_id=run.pk)
    assert claimed is not None
    assert runs.run_claim(run_id=run.pk) is None  # the broker delivered the task again meanwhile
    assert tasks.sync_run(run.pk).startswith("not claimed")
    runs.run_execute(run=claimed)
    assert tasks.sync_run(run.pk).startswith("not claimed")
    assert book.count("item") == 3 and len(book.creates) == 3


def test_a_run_whose_worker_died_is_taken_over(connection, fake, book, enqueued):
    ItemFactory.create_batch(2, organization=connection.organization)
    run, _ = runs.run_request(connection=connection, trigger=SyncRun.Trigger.MANUAL)
    runs.run_claim(run_id=run.pk)
    SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - datetime.timedelta(hours=1))
    again, must = runs.run_request(connection=connection, trigger=SyncRun.Trigger.SCHEDULE)
    assert again.pk == run.pk and must
    tasks.sync_run(run.pk)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED
    assert book.count("item") == 2


def test_a_request_joining_a_running_run_is_planned_before_it_finishes(connection, fake, book, enqueued):
    ItemFactory(organization=connection.organization)
    run, _ = runs.run_request(connection=connection, trigger=SyncRun.Trigger.SELECTED, scope=runs.make_scope(kinds=["customer"]))
    claimed = runs.run_claim(run_id=run.pk)
    runs.run_request(connection=connection, trigger=SyncRun.Trigger.AUTOMATIC, scope=runs.make_scope(kinds=["item"]))
    assert runs.run_execute(run=claimed)
    assert book.count("item") == 1


def test_an_exhausted_budget_continues_in_a_new_task_and_completes(connection, book, sync, enqueued, settings):
    settings.SYNC_TIME_BUDGET_SECONDS = 0
    ItemFactory.create_batch(75, organization=connection.organization)
    run = sync(connection)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.continuations >= 2
    assert enqueued.count(run.pk) == run.continuations
    assert book.count("item") == 75 and len(book.creates) == 75
    assert run.done == run.succeeded == 75


def test_the_scheduler_spends_the_single_request_budget_when_the_batch_window_is_full(connection, book, sync, fake):
    fake.adapter_class = type(
        "TwoBatchesAMinute", (fake.adapter_class,), {"limits": (Limit("batch", 2, 60), Limit("any", 500, 60))}
    )
    ItemFactory.create_batch(100, organization=connection.organization)
    run = sync(connection)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert book.batch_lengths == [30, 30]  # the batch window allowed two
    assert sum(1 for what, _ in book.requests if what == "single") == 40  # the rest went alone, at once
    assert book.count("item") == 100


def test_a_run_with_failures_notifies_the_organization_once(connection, book, sync):
    admin = MembershipFactory(organization=connection.organization, role="admin").user
    MembershipFactory(organization=connection.organization, role="staff")
    ItemFactory(organization=connection.organization, name="Drain: Main line")
    run = sync(connection)
    assert run.failed == 1
    runs.notify_failures(run=run, connection=connection)
    note = Notification.objects.get(run=run)
    assert "1 record failed" in note.title
    assert "names cannot contain ':'" in note.message
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [admin.email]


def test_reconnect_required_stops_the_run_with_the_friendly_message(connection, book, sync, fake):
    class Expired(fake.adapter_class):
        def push_batch(self, kind, requests):
            raise ReconnectRequired("QuickBooks", provider="quickbooks")

    fake.adapter_class = Expired
    CustomerFactory.create_batch(2, organization=connection.organization)
    run = sync(connection)
    assert run.status == SyncRun.Status.RECONNECT_REQUIRED
    assert run.error == "Your QuickBooks connection has expired. Go to Settings → Integrations → Reconnect QuickBooks."
    assert not ExternalLink.objects.filter(status=ExternalLink.Status.SYNCED).exists()


def test_progress_counts_what_the_run_did(connection, book, sync):
    InvoiceFactory(organization=connection.organization)
    run = sync(connection)
    assert (run.total, run.done, run.succeeded, run.failed) == (3, 3, 3, 0)
    assert run.requests == 3 and run.batches == 0  # one record of each kind: single requests
    assert run.percent == 100 and run.finished_at is not None


def test_worker_threads_share_one_token_and_refresh_it_once_for_simultaneous_401s():
    calls = []

    def provider(force_refresh=False):
        calls.append(force_refresh)
        return f"token-{len(calls)}"

    shared = runs.SharedToken(provider)
    assert [shared() for _ in range(3)] == ["token-1"] * 3
    assert shared(force_refresh=True) == "token-2"
    assert shared(force_refresh=True) == "token-2"  # a second thread's 401 on the old token
    assert calls == [False, True]


def test_an_unexpected_error_ends_the_run_visibly_and_the_sweep_finds_the_work_again(connection, book, sync, fake):
    class Broken(fake.adapter_class):
        def push_batch(self, kind, requests):
            raise RuntimeError("bug")

    fake.adapter_class = Broken
    ItemFactory.create_batch(3, organization=connection.organization)
    run = sync(connection)
    assert run.status == SyncRun.Status.FAILED
    assert run.error.startswith("The sync stopped unexpectedly (RuntimeError)")
    assert Notification.objects.filter(run=run).count() == 1
    fake.adapter_class = Broken.__mro__[1]
    assert sync(connection).succeeded == 3
