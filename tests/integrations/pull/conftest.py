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
