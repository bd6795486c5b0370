"""`manage.py seed_demo`: the demo organization, its owner login, catalog, customers and invoices."""

import time

from django.core.management.base import BaseCommand, CommandError

from blueclerk.demo import DEMO_NAME, seed_demo


class Command(BaseCommand):
    help = (
        f"Create the demo organization '{DEMO_NAME}' with a login, a service-trade catalog, customers and invoices "
        "in every status. Deterministic; running it again only adds what is missing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", default="demo", help="Slug of the demo organization (default: demo).")
        parser.add_argument("--items", type=int, default=3629, help="Catalog items (default: 3629).")
        parser.add_argument("--customers", type=int, default=250, help="Customers (default: 250).")
        parser.add_argument("--invoices", type=int, default=400, help="Invoices (default: 400).")
        parser.add_argument("--username", default="demo", help="Login of the demo owner (default: demo).")
        parser.add_argument("--password", default="demo", help="Password of the demo owner (default: demo).")

    def handle(self, *args, org, items, customers, invoices, username, password, **options):
        if min(items, customers, invoices) < 0:
            raise CommandError("Counts cannot be negative.")
        if invoices and not (items and customers):
            raise CommandError("Invoices need at least one item and one customer.")
        started = time.monotonic()
        try:
            report = seed_demo(
                slug=org, items=items, customers=customers, invoices=invoices, username=username, password=password
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        for line in report.lines(username, password):
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready in {time.monotonic() - started:.1f} s."))
