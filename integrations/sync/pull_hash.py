"""The hashes the pull compares and stores, so a pulled change is never pushed back (no echo).

`local_payload_hash` must be the push engine's own hash of a local record's payload: the push sends a
record when that hash differs from the link's pushed_hash, and the pull sets pushed_hash to it after
applying a change.
"""

import dataclasses
import decimal
import hashlib
import json


def data_hash(data):
    """A stable hash of neutral data (CustomerData, ItemData, InvoiceData, PaymentData)."""
    plain = dataclasses.asdict(data) if dataclasses.is_dataclass(data) else data
    text = json.dumps(plain, sort_keys=True, default=_text, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _text(value):
    if isinstance(value, decimal.Decimal):
        return str(value.quantize(decimal.Decimal("0.01")))
    return str(value)


def local_payload_hash(connection, kind, obj):
    """The hash the push engine computes for `obj` (a Customer, Item, Invoice or Payment) on `connection`."""
    return data_hash(_interim_payload(kind, obj))


def _interim_payload(kind, obj):
    # INTERIM until integrations.sync.payloads (the push engine's) lands: the local record's fields.
    from catalog.services import ITEM_FIELDS
    from invoices.services import CUSTOMER_FIELDS

    if kind == "customer":
        return {f: getattr(obj, f) for f in CUSTOMER_FIELDS}
    if kind == "item":
        return {f: getattr(obj, f) for f in ITEM_FIELDS}
    if kind == "invoice":
        lines = [[line.item_id, line.description, line.quantity, line.unit_price] for line in obj.lines.all()]
        return {
            "number": obj.number,
            "customer": obj.customer_id,
            "status": obj.status,
            "issue_date": obj.issue_date,
            "due_date": obj.due_date,
            "notes": obj.notes,
            "lines": lines,
        }
    return {"invoice": obj.invoice_id, "amount": obj.amount, "date": obj.date, "method": obj.method, "reference": obj.reference}
