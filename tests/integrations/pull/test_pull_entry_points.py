import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django_q.models import OrmQ, Schedule
from django_q.signing import SignedPackage

from integrations import tasks
from integrations.models import Connection, SyncCursor
from integrations.providers.base import ItemData, PaymentData
from integrations.schedules import register_schedules
from invoices.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def use(monkeypatch):
    def install(adapter):
        monkeypatch.setattr("integrations.sync.pull.adapter_for", lambda connection: adapter)

    return install


def queued():
    return [SignedPackage.loads(t.payload) for t in OrmQ.objects.all()]


def test_sync_pull_pulls_every_kind_and_moves_the_cursors(connection, adapter, use, capsys):
    use(adapter)
    adapter.put(
        "customer", "C9", __import__("integrations.providers.base", fromlist=["CustomerData"]).CustomerData("Harbor Dental")
    )

    with pytest.raises(SystemExit) as exit:
        call_command("sync", "--org", connection.organization.slug, "--provider", "quickbooks", "--pull")

    assert exit.value.code == 0
    assert Customer.objects.filter(display_name="Harbor Dental").exists()
    assert SyncCursor.objects.filter(connection=connection).count() == 4
    assert "QuickBooks: pulled 1 record(s): 1 created." in capsys.readouterr().out


def test_sync_pull_exits_1_when_a_record_could_not_be_applied(connection, adapter, use, link_invoice, organization, capsys):
    from tests.factories import InvoiceFactory

    invoice = InvoiceFactory(organization=organization)
    link_invoice(connection, invoice, "INV1")
    adapter.put("payment", "P1", PaymentData("INV1", "C1", Decimal("500.00"), datetime.date(2026, 3, 2)))
    use(adapter)

    with pytest.raises(SystemExit) as exit:
        call_command(
            "sync", "--org", connection.organization.slug, "--provider", "quickbooks", "--pull", "--entities", "payments"
        )

    assert exit.value.code == 1


def test_the_scheduled_pull_enqueues_one_pull_per_connected_connection(connect):
    first = connect()
    connect(provider="xero", company_id="t-1", status=Connection.Status.RECONNECT_REQUIRED)

    tasks.pull_all_connections()

    assert [(p["func"], p["args"][0]) for p in queued()] == [("integrations.tasks.pull_connection", first.pk)]


def test_the_pull_is_scheduled_every_15_minutes():
    register_schedules()

    schedule = Schedule.objects.get(func="integrations.tasks.pull_all_connections")
    assert (schedule.schedule_type, schedule.minutes) == (Schedule.MINUTES, 15)


def test_a_pull_out_of_time_continues_in_a_new_task(connection, adapter, use, settings):
    settings.SYNC_TIME_BUDGET_SECONDS = 0
    adapter.put("item", "I1", ItemData(name="Flush"))
    use(adapter)

    tasks.pull_connection(connection.pk)

    [package] = queued()
    assert package["func"] == "integrations.tasks.pull_connection"
    assert package["args"] == (connection.pk, ["customer", "item", "invoice", "payment"], "pull")
