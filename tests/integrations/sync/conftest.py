import datetime

import pytest
from django.utils import timezone

from integrations.models import Connection, IncomeAccount, SyncRun
from integrations.sync import runs, throttle
from tests.integrations.sync.fakes import FakeAdapter, FakeBook

# What each sandbox calls our kinds (keys of its `_control` report).
OBJECT_KIND = {
    "quickbooks": {"item": "item", "customer": "customer", "invoice": "invoice", "payment": "payment"},
    "xero": {"item": "item", "customer": "contact", "invoice": "invoice", "payment": "payment"},
    "freshbooks": {"item": "item", "customer": "client", "invoice": "invoice", "payment": "payment"},
    "wave": {"item": "product", "customer": "customer", "invoice": "invoice", "payment": "payment"},
}


@pytest.fixture(autouse=True)
def _close_throttle_connections():
    yield
    throttle.close_all_connections()


@pytest.fixture
def connection(organization):
    """A connected QuickBooks connection with a default income account."""
    conn = Connection.objects.create(
        organization=organization,
        provider="quickbooks",
        company_id="realm-1",
        connected_at=timezone.now() - datetime.timedelta(days=1),
    )
    conn.default_income_account = IncomeAccount.objects.create(connection=conn, remote_id="79", name="Sales")
    conn.save(update_fields=["default_income_account"])
    return conn


@pytest.fixture
def book():
    return FakeBook()


@pytest.fixture
def fake(monkeypatch, book):
    """Every run talks to `book` through FakeAdapter (or the class set on `fake.adapter_class`)."""

    class Installed:
        adapter_class = FakeAdapter
        adapters = []

    def factory_for(connection):
        cls = Installed.adapter_class

        def make():
            adapter = cls(book, throttle=throttle.throttle_for(connection, adapter_class=cls))
            Installed.adapters.append(adapter)
            return adapter

        return cls, make

    monkeypatch.setattr(runs, "adapter_factory_for", factory_for)
    return Installed


@pytest.fixture
def enqueued(monkeypatch):
    """Run ids enqueued (instead of django-q2), in order."""
    ids = []
    monkeypatch.setattr(runs, "enqueue", lambda run: ids.append(run.pk))
    return ids


@pytest.fixture
def sync(fake, enqueued):
    """sync(connection, trigger=...) -> the finished SyncRun, executing every continuation the way the
    task does (by calling the task function)."""
    from integrations import tasks

    def go(connection, trigger=SyncRun.Trigger.MANUAL, scope=None, budget=None, settings=None):
        run, _ = runs.run_request(connection=connection, trigger=trigger, scope=scope)
        for _ in range(500):
            tasks.sync_run(run.pk)
            run.refresh_from_db()
            if not run.is_active:
                return run
        raise AssertionError("the run did not finish")

    return go
