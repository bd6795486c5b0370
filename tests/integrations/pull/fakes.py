"""An in-memory adapter for pull tests: records live in dicts, `changed` filters on updated_at."""

import datetime

from integrations.providers.base import NotFound, ProviderAdapter, ProviderConfig, RemoteRecord


class FakeAdapter(ProviderAdapter):
    name = "fake"
    display_name = "Fake"

    def __init__(self, provider="quickbooks"):
        super().__init__(
            config=ProviderConfig(provider, provider, "id", "secret", "", "", ""),
            company_id="c1",
            token_provider=lambda **kw: "t",
        )
        self.records = {}  # (kind, remote_id) -> RemoteRecord
        self.calls = []  # ("changed", kind, since) / ("fetch", kind, remote_id)
        self.failing = {}  # kind -> exception raised by changed()

    def put(self, kind, remote_id, data=None, *, updated_at=None, version="", deleted=False, invoice_remote_id="", number=""):
        record = RemoteRecord(
            kind=kind,
            remote_id=str(remote_id),
            data=data,
            version=version,
            updated_at=updated_at or datetime.datetime.now(datetime.UTC),
            deleted=deleted,
            invoice_remote_id=invoice_remote_id,
            number=number,
        )
        self.records[(kind, str(remote_id))] = record
        return record

    def changed(self, kind, since):
        self.calls.append(("changed", kind, since))
        self.stats.count("single")
        if kind in self.failing:
            raise self.failing[kind]
        for (k, _), record in list(self.records.items()):
            if k == kind and (since is None or record.updated_at >= since):
                yield record

    def fetch(self, kind, remote_id):
        self.calls.append(("fetch", kind, str(remote_id)))
        self.stats.count("single")
        try:
            return self.records[(kind, str(remote_id))]
        except KeyError:
            raise NotFound(f"{kind} {remote_id} not found") from None
