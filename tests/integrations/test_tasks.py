"""The django-q2 entry points and schedules."""

import datetime

import pytest
from django.utils import timezone
from django_q.models import Schedule

from integrations import tasks
from integrations.models import Connection, SyncRun
from integrations.schedules import register_schedules
from integrations.sync import runs
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def enqueued(monkeypatch):
    ids = []
    monkeypatch.setattr(runs, "enqueue", lambda run: ids.append(run.pk))
    return ids


@pytest.fixture
def connection(organization):
    return Connection.objects.create(organization=organization, provider="freshbooks", company_id="acc-1")


def test_the_sweep_starts_a_run_only_where_something_is_out_of_date(connection, enqueued, organization):
    assert tasks.sync_sweep() == "0 run(s) enqueued"
    ItemFactory(organization=organization)
    assert tasks.sync_sweep() == "1 run(s) enqueued"
    assert tasks.sync_sweep() == "0 run(s) enqueued"  # the run is active: joined, not doubled
    assert SyncRun.objects.filter(trigger=SyncRun.Trigger.SCHEDULE).count() == 1


def test_the_sweep_revives_a_run_whose_task_was_lost(connection, enqueued, organization):
    ItemFactory(organization=organization)
    tasks.sync_sweep()
    SyncRun.objects.update(heartbeat_at=timezone.now() - datetime.timedelta(hours=2))
    assert tasks.sync_sweep() == "1 run(s) enqueued"
    assert len(set(enqueued)) == 1 and len(enqueued) == 2


def test_the_sweep_ignores_connections_that_are_not_usable(connection, enqueued, organization):
    connection.status = Connection.Status.RECONNECT_REQUIRED
    connection.save()
    ItemFactory(organization=organization)
    assert tasks.sync_sweep() == "0 run(s) enqueued"


def test_a_finished_run_is_not_executed_again(connection):
    run = SyncRun.objects.create(connection=connection, status=SyncRun.Status.SUCCEEDED)
    assert tasks.sync_run(run.pk).startswith("not claimed")


def test_schedules_are_registered_once():
    register_schedules()
    register_schedules()
    sweep = Schedule.objects.get(func="integrations.tasks.sync_sweep")
    assert (sweep.schedule_type, sweep.minutes) == (Schedule.MINUTES, 1)
    keep_alive = Schedule.objects.get(func="integrations.tasks.connections_keep_alive")
    assert keep_alive.minutes == 360
    for func in ("integrations.tasks.sync_sweep", "integrations.tasks.connections_keep_alive"):
        assert Schedule.objects.filter(func=func).count() == 1


def test_a_run_is_enqueued_on_the_broker_after_commit(connection, django_capture_on_commit_callbacks):
    from django_q.models import OrmQ

    before = OrmQ.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        run, must = runs.run_request(connection=connection, trigger=SyncRun.Trigger.MANUAL)
        runs.enqueue(run)
    assert must
    assert OrmQ.objects.count() == before + 1
    task = OrmQ.objects.latest("id").task
    assert task["func"] == "integrations.tasks.sync_run" and task["args"] == (run.pk,)
