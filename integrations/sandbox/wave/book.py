"""The Wave engine's storage port over the sandbox core's tables (one business = one SandboxCompany).

Records are SandboxObject rows of kinds `customer`, `product`, `invoice`, `payment` and `account`;
`data` holds the record in the engine's camelCase form. Invoice numbers are unique per business (the
row's alt_key), so of two simultaneous creates of one number exactly one wins.
"""

from django.db import transaction

from .. import core
from ..models import SandboxObject
from .engine import InputErrors, input_error


class WaveBook:
    """What `engine.WaveGraph` reads and writes, for the business `company`."""

    def __init__(self, *, company, rejects=None):
        self.company = company
        self.business_id = company.external_id
        created = company.created_at.isoformat().replace("+00:00", "Z")
        self.business = {"name": company.name, "currency": company.currency, "createdAt": created, "modifiedAt": created}
        self._rejects = rejects
        self._cache = {}

    def objects(self, kind):
        if kind not in self._cache:
            rows = core.object_list(company=self.company, kind=kind, include_deleted=True)
            self._cache[kind] = {row.object_id: row for row in rows}
        return [dict(row.data) for row in self._cache[kind].values()]

    def get(self, kind, object_id):
        self.objects(kind)
        row = self._cache[kind].get(str(object_id))
        return dict(row.data) if row else None

    def create(self, kind, data, finish, alt_key=None):
        """Inserts a record; `finish(data, number)` gives it its id from the row's number. A taken
        alt_key (an invoice number) is refused as Wave refuses it."""
        try:
            with transaction.atomic():
                row = core.object_create(
                    company=self.company,
                    kind=kind,
                    data=data,
                    alt_key=alt_key,
                    object_id=lambda pk: finish(dict(data), pk)["id"],
                )
                row = core.object_save(row, data=finish(dict(data), row.pk), bump=False)
        except core.Duplicate:
            raise InputErrors(input_error("DUPLICATE", f"Invoice number {alt_key} is already in use.", "invoiceNumber")) from None
        self._cache.get(kind, {})[row.object_id] = row
        return dict(row.data)

    def save(self, kind, data, alt_key=core._KEEP):
        self.objects(kind)
        row = self._cache[kind][data["id"]]
        row = core.object_save(row, data=data, alt_key=alt_key, status="archived" if data.get("isArchived") else "active")
        self._cache[kind][row.object_id] = row
        return dict(row.data)

    def lock(self, kind, object_id):
        """Locks a record until the transaction ends (payments against one invoice go one at a time)."""
        SandboxObject.objects.select_for_update().filter(company=self.company, kind=kind, object_id=str(object_id)).first()
        self._cache.pop(kind, None)
        self._cache.pop("payment", None)

    def rejects_name(self, name):
        if self._rejects and self._rejects(name):
            return f"The name {name!r} was rejected by the sandbox's reject_names fault."
        return None
