"""Local record -> neutral payload (CustomerData, ItemData, InvoiceData, PaymentData), its stable hash
and its idempotency key.

The payload carries everything the provider's copy depends on, including the mapped income account
and the remote ids of the record's dependencies (an invoice's customer and items, a payment's invoice),
so re-mapping an item or re-linking a customer makes the dependent records out of date by hash alone.

A record that cannot be sent yet raises:
- Blocked(reason): a dependency has no remote copy (it failed, needs mapping, or was never sent);
- NeedsMapping(reason): an item needs an income account and neither a mapping nor the connection's
  default gives one. Nothing is guessed.

`PayloadBuilder` loads what it needs for many records at once (links and mappings by kind), so
building a batch's payloads costs no query per record.
"""

from __future__ import annotations

import dataclasses
import uuid
from decimal import Decimal

from invoices.models import Invoice

from ..models import ExternalLink, ItemAccountMapping, Kind
from ..providers.base import CustomerData, InvoiceData, ItemData, LineData, PaymentData
from .pull_hash import data_hash

KEY_NAMESPACE = uuid.UUID("6f1c3f0e-5b7a-4d0e-9a51-0d1f2b6c9e11")


class NotSendable(Exception):
    status = ""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class Blocked(NotSendable):
    status = ExternalLink.Status.BLOCKED


class NeedsMapping(NotSendable):
    status = ExternalLink.Status.NEEDS_MAPPING


def payload_hash(data):
    """Stable sha256 of a neutral payload (the same function the pull uses for no-echo).

    A payment's deposit account is left out: it is a setting of the connection that says where the
    money of payments not yet sent goes. Changing it must not send every recorded payment again (Xero
    refuses to change a recorded payment, and the money already went where it went)."""
    if isinstance(data, PaymentData) and data.deposit_account_id:
        data = dataclasses.replace(data, deposit_account_id="")
    return data_hash(data)


def idempotency_key(*, connection_id, kind, local_id, payload_hash):
    """36 characters (QuickBooks requestid in a batch allows 36), the same for the same payload, so a
    retry after a crash repeats the key and the provider answers with the first outcome."""
    return str(uuid.uuid5(KEY_NAMESPACE, f"{connection_id}:{kind}:{local_id}:{payload_hash}"))


def label(kind, obj):
    """How a person recognises the record in a message: "item 'Drain: Main line'"."""
    if kind == Kind.ITEM:
        return f"item '{obj.name}'"
    if kind == Kind.CUSTOMER:
        return f"customer '{obj.display_name}'"
    if kind == Kind.INVOICE:
        return f"invoice {obj.number}"
    return f"payment of {obj.amount} on invoice {obj.invoice.number}"


class PayloadBuilder:
    """Builds payloads for one connection. Links of dependency kinds are loaded once per kind and can
    be refreshed (`forget(kind)`) after that kind was pushed."""

    def __init__(self, connection, *, requires_income_account):
        self.connection = connection
        self.requires_income_account = requires_income_account
        self.currency = connection.organization.currency
        self._links = {}
        self._mappings = None
        default = connection.default_income_account
        self.default_account = default.remote_id if default else ""
        self.deposit_account = (connection.details or {}).get("deposit_account_id", "")

    def links(self, kind):
        if kind not in self._links:
            rows = ExternalLink.objects.filter(connection=self.connection, kind=kind).only(
                "local_id", "remote_id", "status", "last_error"
            )
            self._links[kind] = {link.local_id: link for link in rows}
        return self._links[kind]

    def forget(self, kind):
        self._links.pop(kind, None)

    def mappings(self):
        if self._mappings is None:
            rows = ItemAccountMapping.objects.filter(connection=self.connection).values_list(
                "item_id", "income_account__remote_id"
            )
            self._mappings = dict(rows)
        return self._mappings

    def income_account(self, item):
        return self.mappings().get(item.id) or self.default_account

    def build(self, kind, obj):
        return getattr(self, f"_{kind}")(obj)

    # --- per kind -------------------------------------------------------------------------------

    def _customer(self, c):
        return CustomerData(
            display_name=c.display_name,
            company=c.company,
            email=c.email,
            phone=c.phone,
            billing_line1=c.billing_line1,
            billing_line2=c.billing_line2,
            billing_city=c.billing_city,
            billing_region=c.billing_region,
            billing_postal_code=c.billing_postal_code,
            billing_country=c.billing_country,
            active=c.active,
        )

    def _item(self, item):
        account = self.income_account(item)
        if self.requires_income_account and not account:
            raise NeedsMapping(
                f"Item '{item.name}' needs an income account: map it in Settings → Integrations → Account mapping, "
                f"or choose a default income account for {self.connection.provider_name}."
            )
        return ItemData(
            name=item.name,
            code=item.code,
            description=item.description,
            unit_price=Decimal(item.unit_price),
            kind=item.kind,
            active=item.active,
            income_account_id=account,
        )

    def _remote(self, kind, local_id, what):
        link = self.links(kind).get(local_id)
        if link is not None and link.remote_id:
            return link.remote_id
        if link is not None and link.status in (
            ExternalLink.Status.FAILED,
            ExternalLink.Status.NEEDS_MAPPING,
            ExternalLink.Status.BLOCKED,
        ):
            raise Blocked(f"Not sent because {what} did not sync: {link.last_error or link.get_status_display()}")
        raise Blocked(f"Not sent yet: {what} has not been synced to {self.connection.provider_name}.")

    def _invoice(self, invoice):
        customer_id = self._remote(Kind.CUSTOMER, invoice.customer_id, label(Kind.CUSTOMER, invoice.customer))
        lines = []
        for line in invoice.lines.all():
            item = line.item
            lines.append(
                LineData(
                    item_remote_id=self._remote(Kind.ITEM, item.id, label(Kind.ITEM, item)),
                    description=line.description,
                    quantity=Decimal(line.quantity),
                    unit_price=Decimal(line.unit_price),
                    item_code=item.code,
                    income_account_id=self.income_account(item),
                )
            )
        return InvoiceData(
            number=invoice.number,
            customer_remote_id=customer_id,
            issue_date=invoice.issue_date,
            due_date=invoice.due_date,
            lines=lines,
            # Paid is what the provider derives from the payments we push, never a flag we send: a PAID
            # invoice goes up as SENT and its payments settle it there. So recording the payment that
            # settles an invoice does not re-send the invoice (Xero even refuses edits to invoices
            # with payments applied).
            status=Invoice.Status.VOID if invoice.status == Invoice.Status.VOID else Invoice.Status.SENT,
            currency=self.currency,
            notes=invoice.notes,
            total=Decimal(invoice.total),
        )

    def _payment(self, payment):
        invoice = payment.invoice
        invoice_id = self._remote(Kind.INVOICE, invoice.id, label(Kind.INVOICE, invoice))
        customer_id = self._remote(Kind.CUSTOMER, invoice.customer_id, f"customer of invoice {invoice.number}")
        return PaymentData(
            invoice_remote_id=invoice_id,
            customer_remote_id=customer_id,
            amount=Decimal(payment.amount),
            date=payment.date,
            method=payment.method,
            reference=payment.reference,
            currency=self.currency,
            deposit_account_id=self.deposit_account,
        )


def local_payload_hash(connection, kind, obj):
    """The hash the push compares with `pushed_hash` for one record (None when it cannot be sent).
    For callers outside the push (the pull's no-echo); the push builds many at once."""
    from ..providers.registry import adapter_class

    builder = PayloadBuilder(connection, requires_income_account=adapter_class(connection.provider).requires_income_account)
    try:
        return payload_hash(builder.build(kind, obj))
    except NotSendable:
        return None
