"""Fault drills (issue 8) on PostgreSQL against the sandbox over HTTP: the provider unavailable, the refresh
token revoked mid-run, a worker killed (SIGKILL) mid-run and restarted, a crash after the provider created records but before our commit."""

import datetime
import os
import signal
import subprocess
import sys
import time

import pytest
from django.db import connection as db
from django.utils import timezone

from integrations import health
from integrations.models import Connection, ExternalLink, SyncRun
from integrations.services.sync import sync_now
from integrations.sync import push
from tests.drills.sandbox import control, make_items, remote_count, run_to_end, store_fresh_tokens

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
S = ExternalLink.Status


def statuses(connection, kind="item"):
    return sorted(ExternalLink.objects.filter(connection=connection, kind=kind).values_list("status", flat=True))


def test_the_provider_unavailable_keeps_records_pending_then_all_sync_once_it_is_back(
    connect, enqueued, organization, live_server
):
    # Two minutes in the drill description; a few seconds here.
    connection = connect("quickbooks")
    items = make_items(organization, 8)
    control(live_server.url, "quickbooks", method="post", unavailable_seconds=3)
    started = time.monotonic()

    run = run_to_end(sync_now(connection=connection).pk)

    assert run.status in (SyncRun.Status.PARTIAL, SyncRun.Status.FAILED)
    assert statuses(connection) == [S.PENDING] * len(items)
    assert remote_count(connection, "item") == 0
    amber = health.connection_health(connection)
    assert amber.level == health.AMBER
    assert amber.message == "8 items aren't synced yet to QuickBooks (8 waiting to be sent)."
    assert "503" not in amber.message

    time.sleep(max(0.0, 3.2 - (time.monotonic() - started)))  # the outage ends
    run = run_to_end(sync_now(connection=connection).pk)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert statuses(connection) == [S.SYNCED] * len(items)
    assert remote_count(connection, "item") == len(items)
    assert health.connection_health(connection).level == health.GREEN


def test_a_refresh_token_revoked_mid_run_stops_cleanly_and_the_rest_syncs_after_reconnecting(
    connect, enqueued, organization, live_server
):
    connection = connect("quickbooks")
    items = make_items(organization, 8)
    control(live_server.url, "quickbooks", method="post", revoke_refresh_token=True, expire_access_tokens=True)

    run = run_to_end(sync_now(connection=connection).pk)
    connection.refresh_from_db()

    assert run.status == SyncRun.Status.RECONNECT_REQUIRED
    assert run.error == "Your QuickBooks connection has expired. Go to Settings → Integrations → Reconnect QuickBooks."
    assert connection.status == Connection.Status.RECONNECT_REQUIRED
    assert statuses(connection) == [S.PENDING] * len(items)
    banner = health.banner_list(organization)[0]
    assert banner["level"] == health.RED and banner["action_label"] == "Reconnect QuickBooks"

    # Reconnecting: a new grant stored and the connection connected again (what the callback does).
    store_fresh_tokens(connection)
    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.CONNECTED, reconnect_required_at=None)
    connection.refresh_from_db()
    run = run_to_end(sync_now(connection=connection).pk)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert statuses(connection) == [S.SYNCED] * len(items)
    assert remote_count(connection, "item") == len(items)
    assert len(set(ExternalLink.objects.filter(connection=connection).values_list("remote_id", flat=True))) == len(items)
    assert health.banner_list(organization)[0]["level"] == health.GREEN


def test_a_crash_after_the_provider_created_records_but_before_our_commit_links_them_on_retry(
    connect, enqueued, organization, live_server, monkeypatch
):
    connection = connect("quickbooks")
    items = make_items(organization, 8)
    real = push.Pusher._save_links
    crashes = []

    def crash_once(self, links, outcomes, now):
        if not crashes:
            crashes.append(1)
            raise SystemExit("worker died")  # not an Exception: nothing in the engine may swallow it
        return real(self, links, outcomes, now)

    monkeypatch.setattr(push.Pusher, "_save_links", crash_once)
    run_id = sync_now(connection=connection).pk
    with pytest.raises(SystemExit):
        run_to_end(run_id)
    # The provider holds all 8, we recorded none of them.
    assert remote_count(connection, "item") == len(items)
    assert statuses(connection) == [S.PENDING] * len(items)

    # The worker comes back: the stale run is taken over (or a new one starts) and links the 8 it finds.
    monkeypatch.setattr(push.Pusher, "_save_links", real)
    long_ago = timezone.now() - datetime.timedelta(hours=1)  # its heartbeat stopped with the worker
    SyncRun.objects.filter(pk=run_id).update(heartbeat_at=long_ago, created_at=long_ago)
    run = run_to_end(sync_now(connection=connection).pk)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert statuses(connection) == [S.SYNCED] * len(items)
    assert remote_count(connection, "item") == len(items)  # linked, not created a second time
    assert len(set(ExternalLink.objects.filter(connection=connection).values_list("remote_id", flat=True))) == len(items)


WORKER = "import django, sys; django.setup(); from integrations import tasks; tasks.sync_run(int(sys.argv[1]))"


def test_a_worker_killed_mid_run_and_restarted_completes_with_nothing_duplicated_or_lost(
    connect, enqueued, organization, live_server
):
    connection = connect("quickbooks")
    items = make_items(organization, 95)  # four batches of 30 or fewer
    control(live_server.url, "quickbooks", method="post", batch_latency_ms=400)
    run_id = sync_now(connection=connection).pk
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="tests.settings",
        TEST_DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{db.settings_dict['NAME']}",
        SITE_URL=live_server.url,
    )
    worker = subprocess.Popen([sys.executable, "-c", WORKER, str(run_id)], env=env, cwd=os.getcwd())
    try:
        for _ in range(300):  # until the worker has recorded some of the work, then kill it mid-run
            if ExternalLink.objects.filter(connection=connection, status=S.SYNCED).exists() or worker.poll() is not None:
                break
            time.sleep(0.05)
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.wait(timeout=10)
    assert worker.returncode == -signal.SIGKILL, "the worker must die mid-run, not finish"
    synced_when_killed = ExternalLink.objects.filter(connection=connection, status=S.SYNCED).count()
    assert 0 < synced_when_killed < len(items)
    assert SyncRun.objects.get(pk=run_id).status == SyncRun.Status.RUNNING

    # Restarted: the dead run (its heartbeat stopped) is taken over and finishes the work.
    control(live_server.url, "quickbooks", method="post", batch_latency_ms=0)
    long_ago = timezone.now() - datetime.timedelta(hours=1)
    SyncRun.objects.filter(pk=run_id).update(heartbeat_at=long_ago, created_at=long_ago)
    run = run_to_end(sync_now(connection=connection).pk)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert statuses(connection) == [S.SYNCED] * len(items)
    assert remote_count(connection, "item") == len(items)
    assert len(set(ExternalLink.objects.filter(connection=connection).values_list("remote_id", flat=True))) == len(items)
