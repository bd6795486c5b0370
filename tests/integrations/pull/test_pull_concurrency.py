import datetime
import threading
from decimal import Decimal

import pytest
from django.db import connection as db_connection

from integrations.providers.base import PaymentData, RemoteRecord
from integrations.sync import pull_apply
from invoices.models import Invoice, Payment
from tests.factories import InvoiceFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_pulls_racing_on_one_payment_record_it_once(connection, link, organization):
    invoice = InvoiceFactory(organization=organization)
    link(connection, "invoice", invoice, "INV1")
    record = RemoteRecord(
        kind="payment", remote_id="P1", data=PaymentData("INV1", "C1", Decimal("100.00"), datetime.date(2026, 3, 2))
    )
    barrier = threading.Barrier(4)
    outcomes = []

    def apply():
        try:
            barrier.wait()
            outcomes.append(pull_apply.apply_remote_record(connection=connection, record=record))
        finally:
            db_connection.close()

    threads = [threading.Thread(target=apply) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(outcomes) == sorted([pull_apply.CREATED] + [pull_apply.UNCHANGED] * 3)
    assert Payment.objects.count() == 1
    assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.PAID
