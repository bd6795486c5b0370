"""`manage.py sync`: foreground until done, summary, exit status 0 / 1 / 2."""

import pytest
from django.core.management import call_command

from integrations.models import Connection, SyncRun
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db


def run_command(connection, *args):
    with pytest.raises(SystemExit) as exc:
        call_command("sync", "--org", connection.organization.slug, "--provider", connection.provider, *args)
    return exc.value.code


def test_it_syncs_everything_through_its_continuations_and_exits_0(connection, book, fake, enqueued, settings, capsys):
    settings.SYNC_TIME_BUDGET_SECONDS = 0
    ItemFactory.create_batch(70, organization=connection.organization)
    assert run_command(connection) == 0
    run = SyncRun.objects.get(trigger=SyncRun.Trigger.COMMAND)
    assert run.status == SyncRun.Status.SUCCEEDED and run.continuations >= 2
    assert enqueued == []  # no worker needed
    assert book.count("item") == 70
    out = capsys.readouterr().out
    assert "70 synced, 0 failed" in out and "Everything is synced." in out


def test_it_lists_failed_records_and_exits_1(connection, book, fake, capsys):
    ItemFactory(organization=connection.organization, name="Drain: Main line")
    ItemFactory(organization=connection.organization)
    assert run_command(connection, "--entities", "items") == 1
    err = capsys.readouterr().err
    assert "QuickBooks rejected item 'Drain: Main line': names cannot contain ':'" in err


def test_it_exits_2_with_the_friendly_message_when_the_connection_needs_reconnecting(connection, capsys):
    connection.status = Connection.Status.RECONNECT_REQUIRED
    connection.save()
    assert run_command(connection) == 2
    assert (
        "Your QuickBooks connection has expired. Go to Settings → Integrations → Reconnect QuickBooks." in capsys.readouterr().err
    )


def test_it_refuses_unknown_entities(connection):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Unknown entities: widgets"):
        call_command("sync", "--org", connection.organization.slug, "--provider", "quickbooks", "--entities", "widgets")
