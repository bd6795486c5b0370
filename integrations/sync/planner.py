"""What is out of date on a connection: the records the push must send, kind by kind.

A record is out of date when
- it has no ExternalLink on the connection, or
- its link is pending (changed, or asked to retry) or uncertain (a create whose outcome is unknown), or
- its link is synced and the hash of its current payload differs from `pushed_hash`, or
- its link failed, is blocked or needs mapping and its payload is not the one last attempted
  (`attempted_hash`), or it could not be built last time and now can (a dependency synced, a mapping
  was added). Failed records are not tried again every minute: only when they change or on retry.

Which records take part: customers and items all; invoices once SENT or PAID (drafts stay local), and
VOID invoices only when they already have a remote copy (that copy is voided; a void invoice never
sent is skipped); payments recorded here (Payment.source == "": imported payments are never pushed).

Planning a kind loads its records, their links and the dependency links in a few queries whatever the
number of records; the hash of every record is computed in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from catalog.models import Item
from invoices.models import Customer, Invoice, Payment

from ..models import ExternalLink, Kind
from .payloads import NotSendable, PayloadBuilder, idempotency_key, payload_hash

KINDS = (Kind.CUSTOMER, Kind.ITEM, Kind.INVOICE, Kind.PAYMENT)  # dependency order
S = ExternalLink.Status


@dataclass
class Candidate:
    kind: str
    obj: Any
    link: ExternalLink | None
    data: Any = None
    hash: str = ""
    key: str = ""
    not_sendable: NotSendable | None = None

    @property
    def local_id(self):
        return self.obj.pk

    @property
    def unchanged(self):
        """Marked pending but its payload is what the provider already has: nothing to send."""
        link = self.link
        return bool(link and link.status == S.PENDING and link.remote_id and self.hash and self.hash == link.pushed_hash)

    @property
    def uncertain(self):
        return bool(self.link and self.link.status == S.UNCERTAIN and not self.link.remote_id)


def records(connection, kind, ids=None):
    """The local records of `kind` that take part in sync on `connection` (optionally only `ids`)."""
    org_id = connection.organization_id
    if kind == Kind.CUSTOMER:
        qs = Customer.objects.filter(organization_id=org_id)
    elif kind == Kind.ITEM:
        qs = Item.objects.filter(organization_id=org_id)
    elif kind == Kind.INVOICE:
        qs = (
            Invoice.objects.filter(
                organization_id=org_id, status__in=[Invoice.Status.SENT, Invoice.Status.PAID, Invoice.Status.VOID]
            )
            .select_related("customer")
            .prefetch_related("lines__item")
        )
    else:
        qs = (
            Payment.objects.filter(organization_id=org_id, source="")
            .exclude(invoice__status=Invoice.Status.DRAFT)
            .select_related("invoice__customer")
        )
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.order_by("pk")


def plan_kind(connection, kind, builder: PayloadBuilder, *, ids=None):
    """Candidates of `kind` that are out of date, in local id order."""
    links = {link.local_id: link for link in ExternalLink.objects.filter(connection=connection, kind=kind)}
    out = []
    for obj in records(connection, kind, ids):
        link = links.get(obj.pk)
        if kind == Kind.INVOICE and obj.status == Invoice.Status.VOID and not (link and link.remote_id):
            continue  # never sent: nothing to void remotely
        cand = Candidate(kind=kind, obj=obj, link=link)
        try:
            cand.data = builder.build(kind, obj)
        except NotSendable as exc:
            cand.not_sendable = exc
        else:
            cand.hash = payload_hash(cand.data)
            cand.key = idempotency_key(connection_id=connection.pk, kind=kind, local_id=obj.pk, payload_hash=cand.hash)
        if _out_of_date(cand):
            out.append(cand)
    return out


def _out_of_date(cand):
    link = cand.link
    if link is None or link.status in (S.PENDING, S.UNCERTAIN):
        return True
    if link.status == S.DELETED_REMOTE:
        return False  # deleted in the provider: the pull decides; retry re-links on request
    if cand.not_sendable is not None:
        # Still cannot be sent: worth recording only when the reason is new.
        return link.status != cand.not_sendable.status or link.last_error != cand.not_sendable.reason
    if link.status == S.SYNCED:
        return cand.hash != link.pushed_hash
    # failed, blocked, needs mapping: again when the payload changed or it can now be built.
    return link.status in (S.BLOCKED, S.NEEDS_MAPPING) or cand.hash != link.attempted_hash


def ensure_links(connection, candidates):
    """Create the missing links (pending) in one statement, so the push only ever updates links."""
    missing = [c for c in candidates if c.link is None]
    if not missing:
        return
    ExternalLink.objects.bulk_create(
        [ExternalLink(connection=connection, kind=c.kind, local_id=c.local_id, status=S.PENDING) for c in missing],
        ignore_conflicts=True,
        batch_size=1000,
    )
    kind = missing[0].kind
    created = ExternalLink.objects.filter(connection=connection, kind=kind, local_id__in=[c.local_id for c in missing])
    by_id = {link.local_id: link for link in created}
    for c in missing:
        c.link = by_id[c.local_id]


def expand_ids(connection, ids):
    """Add the dependencies of the named records: an invoice's customer and items, a payment's
    invoice (and so its customer and items). `ids`: {kind: [local ids]}; returns the same shape."""
    ids = {k: set(v) for k, v in (ids or {}).items()}
    if ids.get(Kind.PAYMENT):
        invoice_ids = Payment.objects.filter(pk__in=ids[Kind.PAYMENT]).values_list("invoice_id", flat=True)
        ids.setdefault(Kind.INVOICE, set()).update(invoice_ids)
    if ids.get(Kind.INVOICE):
        invoices = Invoice.objects.filter(pk__in=ids[Kind.INVOICE], organization_id=connection.organization_id)
        ids.setdefault(Kind.CUSTOMER, set()).update(invoices.values_list("customer_id", flat=True))
        ids.setdefault(Kind.ITEM, set()).update(invoices.values_list("lines__item_id", flat=True))
    return {k: sorted(i for i in v if i is not None) for k, v in ids.items()}


def has_work(connection, builder: PayloadBuilder, kinds=KINDS):
    """True when any record of `kinds` is out of date (what the sweep asks before starting a run)."""
    return any(plan_kind(connection, kind, builder) for kind in kinds)
