"""`python manage.py sync --org ORG --provider P [--entities items,customers,invoices,payments]`

Pushes every out-of-date record in this process until done, continuing past the time budget itself
(no worker needed), with a progress bar on a terminal and a summary. Exit status: 0 all synced,
1 some records failed or could not be sent (listed with their errors), 2 the connection needs
reconnecting (the friendly message is printed).
"""

import sys
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from tqdm import tqdm

from blueclerk.models import Organization
from integrations.models import Connection, ExternalLink, Kind, SyncRun
from integrations.providers.base import reconnect_message
from integrations.sync import runs

ENTITIES = {"customers": Kind.CUSTOMER, "items": Kind.ITEM, "invoices": Kind.INVOICE, "payments": Kind.PAYMENT}
NOT_SYNCED = (
    ExternalLink.Status.FAILED,
    ExternalLink.Status.BLOCKED,
    ExternalLink.Status.NEEDS_MAPPING,
    ExternalLink.Status.UNCERTAIN,
)
LISTED = 50


class Command(BaseCommand):
    help = "Push out-of-date records of one organization to one provider, in the foreground, until done."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug or id")
        parser.add_argument("--provider", required=True, choices=["quickbooks", "xero", "freshbooks", "wave"])
        parser.add_argument("--entities", default="", help="comma-separated: " + ",".join(ENTITIES) + " (default: all)")
        parser.add_argument("--pull", action="store_true", help="pull changes made in the provider instead of pushing")

    def handle(self, *args, org, provider, entities, pull=False, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None and org.isdigit():
            organization = Organization.objects.filter(pk=int(org)).first()
        if organization is None:
            raise CommandError(f"No organization '{org}'.")
        connection = Connection.objects.filter(organization=organization, provider=provider).first()
        if connection is None or connection.status == Connection.Status.DISCONNECTED:
            raise CommandError(f"{organization} is not connected to {provider}.")
        if connection.status == Connection.Status.RECONNECT_REQUIRED:
            self.stderr.write(reconnect_message(connection.provider_name))
            sys.exit(2)
        kinds = self._kinds(entities)
        if pull:
            sys.exit(self._pull(connection, kinds))
        with transaction.atomic():
            run, _ = runs.run_request(connection=connection, trigger=SyncRun.Trigger.COMMAND, scope=runs.make_scope(kinds=kinds))
        run = self._drive(run)
        sys.exit(self._summary(connection, run, kinds))

    def _kinds(self, entities):
        names = [e.strip().lower() for e in entities.split(",") if e.strip()]
        unknown = [n for n in names if n not in ENTITIES]
        if unknown:
            raise CommandError(f"Unknown entities: {', '.join(unknown)}. Choose from {', '.join(ENTITIES)}.")
        return [ENTITIES[n] for n in names] or list(ENTITIES.values())

    def _drive(self, run):
        """Execute the run here, budget after budget; if a worker is executing it, follow it."""
        bar = tqdm(total=run.total or None, unit="record", disable=not sys.stderr.isatty(), file=sys.stderr)

        def progress(r):
            bar.total = max(r.total, r.done)
            bar.n = r.done
            bar.set_postfix(failed=r.failed, requests=r.requests, refresh=False)
            bar.refresh()

        try:
            while True:
                claimed = runs.run_claim(run_id=run.pk)
                if claimed is not None:
                    if runs.run_execute(run=claimed, progress=progress):
                        return claimed
                    runs.run_checkpoint(run=claimed)
                    continue
                run.refresh_from_db()
                if not run.is_active:
                    return run
                progress(run)
                time.sleep(1)
        finally:
            bar.close()

    def _pull(self, connection, kinds):
        """Pull from the cursors until every kind is done (integrations.sync.pull); exit status as for a push."""
        from integrations.sync import pull

        while kinds:
            run = pull.pull_connection(connection=connection, kinds=kinds, trigger=SyncRun.Trigger.COMMAND)
            outcomes = ", ".join(f"{n} {o.replace('_', ' ')}" for o, n in sorted(run.scope.get("outcomes", {}).items()))
            self.stdout.write(f"{connection.provider_name}: pulled {run.done} record(s){': ' + outcomes if outcomes else ''}.")
            if run.status == SyncRun.Status.RECONNECT_REQUIRED:
                self.stderr.write(run.error)
                return 2
            if run.error or run.failed or run.status == SyncRun.Status.FAILED:
                self.stderr.write(run.error or f"{run.failed} record(s) could not be applied (see the sync history).")
                return 1
            kinds = run.scope.get("unfinished") or []
        return 0

    def _summary(self, connection, run, kinds):
        run.refresh_from_db()
        out = self.stdout
        out.write(
            f"{connection.provider_name}: {run.succeeded} synced, {run.failed} failed, {run.blocked} not sent "
            f"({run.requests} requests, {run.batches} batches, {run.fallbacks} fallbacks, {run.throttled} throttled, "
            f"{run.continuations} continuations)."
        )
        if run.status == SyncRun.Status.RECONNECT_REQUIRED:
            self.stderr.write(run.error or reconnect_message(connection.provider_name))
            return 2
        if run.status == SyncRun.Status.FAILED:
            self.stderr.write(run.error)
            return 1
        problems = ExternalLink.objects.filter(connection=connection, kind__in=kinds, status__in=NOT_SYNCED).order_by(
            "kind", "local_id"
        )
        count = problems.count()
        if not count:
            out.write("Everything is synced.")
            return 0
        self.stderr.write(f"{count} record(s) are not synced:")
        for link in problems[:LISTED]:
            self.stderr.write(f"  - {link.get_status_display()}: {link.last_error or link.kind + ' ' + str(link.local_id)}")
        if count > LISTED:
            self.stderr.write(f"  … and {count - LISTED} more.")
        return 1
