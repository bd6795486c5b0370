import datetime

import pytest
from django.utils import timezone

from integrations.models import Connection, ExternalLink
from integrations.sync.pull_hash import local_payload_hash
from tests.integrations.pull.fakes import FakeAdapter


@pytest.fixture
def connect(organization):
    """connect(provider="quickbooks", company_id="realm-1") -> a connected Connection."""

    def make(provider="quickbooks", company_id="realm-1", **fields):
        return Connection.objects.create(
            organization=organization,
            provider=provider,
            company_id=company_id,
            connected_at=timezone.now() - datetime.timedelta(days=1),
            **fields,
        )

    return make


@pytest.fixture
def connection(connect):
    return connect()


@pytest.fixture
def adapter():
    return FakeAdapter()


@pytest.fixture
def link():
    """link(connection, kind, obj, remote_id) -> an ExternalLink as a push would leave it (synced)."""

    def make(connection, kind, obj, remote_id, **fields):
        fields.setdefault("last_synced_at", timezone.now())
        return ExternalLink.objects.create(
            connection=connection,
            kind=kind,
            local_id=obj.pk,
            remote_id=str(remote_id),
            status=ExternalLink.Status.SYNCED,
            pushed_hash=local_payload_hash(connection, kind, obj),
            **fields,
        )

    return make


@pytest.fixture
def link_invoice(link):
    """link_invoice(connection, invoice, remote_id): the invoice, its customer (C<id>) and its items
    (I<id>) linked as a push would leave them, so the invoice's payload hash is a real one."""

    def make(connection, invoice, remote_id, **fields):
        link(connection, "customer", invoice.customer, f"C{invoice.customer_id}")
        for line in invoice.lines.all():
            if not ExternalLink.objects.filter(connection=connection, kind="item", local_id=line.item_id).exists():
                link(connection, "item", line.item, f"I{line.item_id}")
        invoice_link = link(connection, "invoice", invoice, remote_id, **fields)
        assert invoice_link.pushed_hash
        return invoice_link

    return make
