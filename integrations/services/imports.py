"""The post-connection wizard: import customers and items from the provider, fetch income accounts.

Matching instead of duplicating: a remote customer is matched to a local one by email (case-blind),
then by normalized name (case, punctuation and spacing ignored); a remote item by code, then by name.
A local record already linked to another remote record is not matched again. Matched and created
records get an ExternalLink (status synced), so the next sync updates them instead of creating them:
- created here: `pushed_hash` is the hash of the local payload (integrations.sync.payloads), so the
  record is not sent back unchanged; `pulled_hash` is the hash of what the provider had;
- matched: `pushed_hash` stays empty, so the next sync sends our version as an update of the remote
  record (ours is the record the business keeps; the remote one is linked, never duplicated).
Local records are created through the catalog/invoices services with `origin=<provider>`, so the change
is not echoed back to that provider (other connected providers do receive it).

Remote data is read before the transaction starts; the writes then run under the connection's row lock,
so two imports of one connection queue instead of both creating the same customer.
"""

import re
import unicodedata
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from catalog.models import Item
from catalog.services import item_create
from invoices.models import Customer
from invoices.services import CUSTOMER_FIELDS, customer_create

from ..models import Connection, ExternalLink, IncomeAccount, ItemAccountMapping, Kind
from ..sync import payloads
from ..sync.pull_hash import data_hash
from .connections import adapter_for

WIZARD_STEPS = ("customers", "items", "accounts")
STEP_DONE = "done"
STEP_SKIPPED = "skipped"
MAX_PROBLEMS = 20


@dataclass
class ImportCounts:
    created: int = 0
    matched: int = 0
    skipped: int = 0
    # Why records were skipped, in sentences (the first MAX_PROBLEMS).
    problems: list[str] = field(default_factory=list)

    def skip(self, reason=""):
        self.skipped += 1
        if reason and len(self.problems) < MAX_PROBLEMS:
            self.problems.append(reason)

    def as_dict(self):
        return {"created": self.created, "matched": self.matched, "skipped": self.skipped, "problems": self.problems}


def normalized_name(name):
    """'  ACME  Plumbing, Inc. ' -> 'acme plumbing inc' (accents, case, punctuation and spacing ignored)."""
    text = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode().casefold()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def wizard_steps(connection):
    """[(step, state)] in order; state is "done", "skipped" or "" (to do). Wave has no item/account step."""
    steps = WIZARD_STEPS if connection.provider != "wave" else ("customers",)
    return [(step, (connection.wizard or {}).get(step, "")) for step in steps]


@transaction.atomic
def wizard_step_mark(*, connection, step, state):
    """Record a wizard step as done or skipped (a skipped step can be run later)."""
    if step not in WIZARD_STEPS or state not in (STEP_DONE, STEP_SKIPPED, ""):
        raise ValidationError("Unknown wizard step.")
    locked = Connection.objects.select_for_update().get(pk=connection.pk)
    wizard = dict(locked.wizard or {})
    wizard[step] = state
    wizard[f"{step}_at"] = timezone.now().isoformat()
    locked.wizard = wizard
    locked.save(update_fields=["wizard", "updated_at"])
    connection.wizard = wizard
    return locked


def _remember(connection, step, counts):
    locked = Connection.objects.select_for_update().get(pk=connection.pk)
    wizard = dict(locked.wizard or {})
    wizard[step] = STEP_DONE
    wizard[f"{step}_at"] = timezone.now().isoformat()
    if counts is not None:
        wizard[f"{step}_counts"] = counts.as_dict()
    locked.wizard = wizard
    locked.save(update_fields=["wizard", "updated_at"])
    connection.wizard = wizard


def _linked(connection, kind):
    """{remote_id: local_id} and the set of local ids already linked to a remote record."""
    rows = ExternalLink.objects.filter(connection=connection, kind=kind, remote_id__isnull=False).values_list(
        "remote_id", "local_id"
    )
    by_remote = dict(rows)
    return by_remote, set(by_remote.values())


def _link(connection, kind, local, record, *, created):
    pushed = ""
    if created:
        pushed = payloads.local_payload_hash(connection, kind, local) or ""
    ExternalLink.objects.update_or_create(
        connection=connection,
        kind=kind,
        local_id=local.pk,
        defaults={
            "remote_id": record.remote_id,
            "remote_version": record.version or "",
            "remote_number": (record.number or "")[:100],
            "pushed_hash": pushed,
            "attempted_hash": "",
            "pulled_hash": data_hash(record.data),
            "status": ExternalLink.Status.SYNCED,
            "last_error": "",
            "last_synced_at": timezone.now(),
            "remote_updated_at": record.updated_at,
        },
    )


def _fetch(adapter, kind):
    return [r for r in adapter.changed(kind, None) if r.data is not None]


def _first_message(error):
    return "; ".join(error.messages) if hasattr(error, "messages") else str(error)


def customers_import(*, connection, adapter=None):
    """Import the provider's customers into the organization (see the module docstring). Returns
    ImportCounts; marks the wizard's customers step done."""
    adapter = adapter or adapter_for(connection)
    remote = _fetch(adapter, Kind.CUSTOMER)
    counts = ImportCounts()
    with transaction.atomic():
        Connection.objects.select_for_update().get(pk=connection.pk)
        by_remote, linked = _linked(connection, Kind.CUSTOMER)
        by_email, by_name = {}, {}
        for customer in Customer.objects.filter(organization_id=connection.organization_id).order_by("id"):
            if customer.pk in linked:
                continue
            if customer.email:
                by_email.setdefault(customer.email.strip().lower(), []).append(customer)
            by_name.setdefault(normalized_name(customer.display_name), []).append(customer)
        for record in remote:
            data = record.data
            if record.remote_id in by_remote:
                counts.skip()  # linked already (an earlier import or sync)
                continue
            if record.deleted:
                counts.skip()
                continue
            local = _take(by_email.get((data.email or "").strip().lower()), linked) if data.email else None
            local = local or _take(by_name.get(normalized_name(data.display_name)), linked)
            if local is not None:
                _link(connection, Kind.CUSTOMER, local, record, created=False)
                counts.matched += 1
                continue
            if not data.active:
                counts.skip()  # inactive in the provider: nothing to bring over
                continue
            fields = {f: getattr(data, f) for f in CUSTOMER_FIELDS if f not in ("display_name",) and hasattr(data, f)}
            fields["billing_country"] = (fields.get("billing_country") or "").strip().upper()
            if len(fields["billing_country"]) != 2:
                fields["billing_country"] = ""
            try:
                with transaction.atomic():
                    local = customer_create(
                        organization=connection.organization, display_name=data.display_name, origin=connection.provider, **fields
                    )
            except ValidationError as exc:
                counts.skip(f"Customer '{data.display_name}' was not imported: {_first_message(exc)}")
                continue
            linked.add(local.pk)
            _link(connection, Kind.CUSTOMER, local, record, created=True)
            counts.created += 1
        _remember(connection, "customers", counts)
    return counts


def _take(candidates, linked):
    """The first candidate not linked yet (and mark it linked)."""
    for candidate in candidates or ():
        if candidate.pk not in linked:
            linked.add(candidate.pk)
            return candidate
    return None


def items_import(*, connection, adapter=None):
    """Import the provider's items into the catalog, matching by code then name. Income accounts are
    fetched first, so an imported item keeps the account it has in the provider as its mapping.
    Returns ImportCounts; marks the wizard's items step done."""
    adapter = adapter or adapter_for(connection)
    if adapter.requires_income_account:
        income_accounts_fetch(connection=connection, adapter=adapter)
    remote = _fetch(adapter, Kind.ITEM)
    counts = ImportCounts()
    with transaction.atomic():
        Connection.objects.select_for_update().get(pk=connection.pk)
        by_remote, linked = _linked(connection, Kind.ITEM)
        accounts = dict(IncomeAccount.objects.filter(connection=connection).values_list("remote_id", "pk"))
        by_code, by_name = {}, {}
        for item in Item.objects.filter(organization_id=connection.organization_id).order_by("id"):
            if item.pk in linked:
                continue
            if item.code:
                by_code.setdefault(item.code.strip().lower(), []).append(item)
            by_name.setdefault(item.name.strip().lower(), []).append(item)
        for record in remote:
            data = record.data
            if record.remote_id in by_remote or record.deleted:
                counts.skip()
                continue
            local = _take(by_code.get((data.code or "").strip().lower()), linked) if data.code else None
            local = local or _take(by_name.get((data.name or "").strip().lower()), linked)
            created = False
            if local is None:
                if not data.active:
                    counts.skip()
                    continue
                try:
                    with transaction.atomic():
                        local = item_create(
                            organization=connection.organization,
                            name=data.name,
                            code=data.code or "",
                            description=data.description or "",
                            unit_price=data.unit_price,
                            kind=data.kind if data.kind in Item.Kind.values else Item.Kind.SERVICE,
                            origin=connection.provider,
                        )
                except ValidationError as exc:
                    counts.skip(f"Item '{data.name}' was not imported: {_first_message(exc)}")
                    continue
                linked.add(local.pk)
                created = True
            account_pk = accounts.get(str(data.income_account_id or ""))
            if account_pk:
                ItemAccountMapping.objects.get_or_create(
                    connection=connection, item=local, defaults={"income_account_id": account_pk}
                )
            _link(connection, Kind.ITEM, local, record, created=created)
            if created:
                counts.created += 1
            else:
                counts.matched += 1
        _remember(connection, "items", counts)
    return counts


def income_accounts_fetch(*, connection, adapter=None):
    """Refresh the connection's IncomeAccount rows from the provider (new ones added, names updated,
    vanished ones marked inactive). Returns the number of active accounts."""
    adapter = adapter or adapter_for(connection)
    fetched = adapter.income_accounts()
    with transaction.atomic():
        Connection.objects.select_for_update().get(pk=connection.pk)
        seen = []
        for account in fetched:
            if not account.remote_id:
                continue
            IncomeAccount.objects.update_or_create(
                connection=connection,
                remote_id=account.remote_id,
                defaults={
                    "name": account.name[:255],
                    "code": (account.code or "")[:50],
                    "account_type": (account.account_type or "")[:60],
                    "active": account.active,
                },
            )
            seen.append(account.remote_id)
        IncomeAccount.objects.filter(connection=connection).exclude(remote_id__in=seen).update(active=False)
    return IncomeAccount.objects.filter(connection=connection, active=True).count()
