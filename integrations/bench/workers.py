"""Several organizations at once: W organizations, each connected to its own sandbox company with
its own catalog, synced by a `manage.py qcluster` subprocess of W workers (the production path:
runs enqueued on the django-q2 broker, throttle shared through the database or Redis)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager

from django.conf import settings
from django.db import transaction

from integrations.models import SyncRun
from integrations.sync import runs

from .catalog import catalog_create
from .sandbox import organization_connect

STARTUP_SECONDS = 5


def companies_ensure(*, provider, count):
    """At least `count` sandbox companies of `provider` (the sandbox starts with two)."""
    from integrations.sandbox import core

    existing = core.companies(provider)
    for index in range(len(existing), count):
        core.company_create(provider=provider, name=f"Benchmark company {index + 1}", index=index)
    return [c.external_id for c in core.companies(provider)][:count]


@contextmanager
def qcluster(*, workers, base_url):
    env = {**os.environ, "PROVIDER_SANDBOX": "true", "SITE_URL": base_url, "Q_WORKERS": str(workers)}
    process = subprocess.Popen(  # our own manage.py
        [sys.executable, "manage.py", "qcluster"],
        env=env,
        cwd=settings.BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def workers_run(*, base_url, provider, workers, items, poll=0.5, timeout=3600):
    """Connects `workers` organizations (one sandbox company each), `items` items each, then starts a
    run for each on the broker and waits for all. Returns (wall seconds, runs, organizations)."""
    company_ids = companies_ensure(provider=provider, count=workers)
    organizations, connections = [], []
    for company_id in company_ids:
        organization, connection, _ = organization_connect(base_url=base_url, provider=provider, company=company_id)
        catalog_create(organization=organization, count=items, provider=provider)
        organizations.append(organization)
        connections.append(connection)
    with qcluster(workers=workers, base_url=base_url):
        time.sleep(STARTUP_SECONDS)  # the cluster's start-up is not the sync's time
        started = time.monotonic()
        run_ids = []
        for connection in connections:
            with transaction.atomic():
                run, _ = runs.run_request(
                    connection=connection, trigger=SyncRun.Trigger.COMMAND, scope=runs.make_scope(kinds=["item"])
                )
                runs.enqueue(run)
            run_ids.append(run.pk)
        while True:
            finished = list(SyncRun.objects.filter(pk__in=run_ids))
            if all(not r.is_active for r in finished):
                break
            if time.monotonic() - started > timeout:
                raise RuntimeError("The workers did not finish within the time limit.")
            time.sleep(poll)
        wall = time.monotonic() - started
    return wall, finished, organizations
