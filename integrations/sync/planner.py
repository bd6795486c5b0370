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

Planning a kind goes in chunks of CHUNK records by id (keyset): each chunk loads its records and their
links in a fixed handful of queries whatever its size (the dependency links once per kind), and the
hash of every record is computed in memory. Only the chunk being sent is held, so memory stays flat
however large the catalog.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch

from catalog.models import Item
from invoices.models import Customer, Invoice, InvoiceLine, Payment

from ..models import ExternalLink, Kind
from .payloads import NotSendable, PayloadBuilder, idempotency_key, payload_hash
from .recording import links_create

KINDS = (Kind.CUSTOMER, Kind.ITEM, Kind.INVOICE, Kind.PAYMENT)  # dependency order
# Records planned at once: a chunk's records, links and payloads are held while it is sent, so the
# memory of a push does not grow with the catalog.
CHUNK = 500
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


def records(connection, kind):
    """The local records of `kind` that take part in sync on `connection`."""
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
            # The lines with their items joined: a second prefetch hop to the items would, since Django
            # 5.2, be one "id = ? OR ..." term per item on SQLite, past its expression depth of 1000.
            .prefetch_related(Prefetch("lines", queryset=InvoiceLine.objects.select_related("item")))
        )
    else:
        qs = (
            Payment.objects.filter(organization_id=org_id, source="")
            .exclude(invoice__status=Invoice.Status.DRAFT)
            .select_related("invoice__customer")
        )
    return qs.order_by("pk")


def plan_chunks(connection, kind, builder: PayloadBuilder, *, ids=None, size=None, counting=False):
    """Candidates of `kind` that are out of date, in local id order, one chunk of at most `size`
    records at a time (keyset by id): a chunk costs one query for its records (plus their prefetches)
    and one for their links, whatever its size, and only the chunk asked for is held. `counting`: the
    caller only counts them, so a record out of date whatever its payload (no link yet, pending,
    uncertain) is not built."""
    size = size or CHUNK
    qs = records(connection, kind)
    if ids is None:
        parts = _keyset(qs, size)
    else:
        wanted = sorted(set(ids))
        parts = (list(qs.filter(pk__in=wanted[i : i + size])) for i in range(0, len(wanted), size))
    for objs in parts:
        if not objs:
            continue
        links = ExternalLink.objects.filter(connection=connection, kind=kind, local_id__in=[obj.pk for obj in objs])
        by_id = {link.local_id: link for link in links}
        chunk = [
            cand for obj in objs if (cand := _candidate(connection, kind, builder, obj, by_id.get(obj.pk), counting=counting))
        ]
        if chunk:
            yield chunk


def _keyset(qs, size):
    after = None
    while True:
        objs = list((qs if after is None else qs.filter(pk__gt=after))[:size])
        if objs:
            yield objs
        if len(objs) < size:
            return
        after = objs[-1].pk


def count_out_of_date(connection, kind, builder: PayloadBuilder, *, ids=None):
    """How many records of `kind` are out of date, planned chunk by chunk without keeping them."""
    return sum(len(chunk) for chunk in plan_chunks(connection, kind, builder, ids=ids, counting=True))


def _candidate(connection, kind, builder, obj, link, counting=False):
    if kind == Kind.INVOICE and obj.status == Invoice.Status.VOID and not (link and link.remote_id):
        return None  # never sent: nothing to void remotely
    cand = Candidate(kind=kind, obj=obj, link=link)
    if counting and (link is None or link.status in (S.PENDING, S.UNCERTAIN)):
        return cand  # out of date whatever it would send (see _out_of_date)
    try:
        cand.data = builder.build(kind, obj)
    except NotSendable as exc:
        cand.not_sendable = exc
    else:
        cand.hash = payload_hash(cand.data)
        cand.key = idempotency_key(connection_id=connection.pk, kind=kind, local_id=obj.pk, payload_hash=cand.hash)
    return cand if _out_of_date(cand) else None


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
    by_id = links_create(connection, missing[0].kind, [c.local_id for c in missing])
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
    return any(next(plan_chunks(connection, kind, builder), None) for kind in kinds)
