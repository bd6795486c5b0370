"""The FreshBooks engine's storage port over the sandbox core's tables (one account = one SandboxCompany).

Records are SandboxObject rows of kinds `client`, `item`, `invoice` and `payment`, numbered by the
row (FreshBooks ids are integers); `data` holds the record in FreshBooks' own field names. A record
with `vis_state: 1` is kept with status "deleted" (FreshBooks deletes softly).
"""

from django.db import transaction

from .. import core
from ..models import SandboxObject


class FreshBooksBook:
    """What `engine.FreshBooksAccount` reads and writes, for the account `company`."""

    def __init__(self, *, company, rejects=None):
        self.company = company
        self.account_id = company.external_id
        self.currency = company.currency
        self._rejects = rejects
        self._cache = {}

    def objects(self, kind):
        if kind not in self._cache:
            rows = core.object_list(company=self.company, kind=kind, include_deleted=True)
            self._cache[kind] = {row.object_id: row for row in rows}
        return [dict(row.data) for row in self._cache[kind].values()]

    def get(self, kind, object_id):
        self.objects(kind)
        row = self._cache[kind].get(str(object_id).strip())
        return dict(row.data) if row else None

    @staticmethod
    def status(data):
        return {1: "deleted", 2: "archived"}.get(data.get("vis_state"), "active")

    def create(self, kind, data, finish):
        """Inserts a record; `finish(data, number)` gives it its id from the row's number."""
        with transaction.atomic():
            row = core.object_create(company=self.company, kind=kind, data=data, status=self.status(data))
            row = core.object_save(row, data=finish(dict(data), int(row.object_id)), bump=False)
        self._cache.get(kind, {})[row.object_id] = row
        return dict(row.data)

    def save(self, kind, data):
        self.objects(kind)
        row = self._cache[kind][str(data["id"])]
        row = core.object_save(row, data=data, status=self.status(data))
        self._cache[kind][row.object_id] = row
        return dict(row.data)

    def lock(self, kind, object_id):
        """Locks a record until the transaction ends (payments against one invoice go one at a time)."""
        SandboxObject.objects.select_for_update().filter(company=self.company, kind=kind, object_id=str(object_id)).first()
        self._cache.clear()

    def rejects_name(self, name):
        if self._rejects and self._rejects(name):
            return f"The name {name!r} was rejected by the sandbox's reject_names fault."
        return None
