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
    """The hash the push engine computes for `obj` (a Customer, Item, Invoice or Payment) on
    `connection`, or "" when the push could not send it yet (a dependency is not synced)."""
    from . import payloads

    return payloads.local_payload_hash(connection, kind, obj) or ""


def local_payload(connection, kind, obj):
    """The push engine's neutral payload of `obj`, or None when it could not be sent yet."""
    from ..providers.registry import adapter_class
    from . import payloads

    builder = payloads.PayloadBuilder(
        connection, requires_income_account=adapter_class(connection.provider).requires_income_account
    )
    try:
        return builder.build(kind, obj)
    except payloads.NotSendable:
        return None


def invoice_content(data):
    """What an invoice says (customer, dates, lines, notes), without its status and totals, comparable
    between our payload and the provider's copy."""
    cent = decimal.Decimal("0.01")
    lines = [
        (str(line.item_remote_id), decimal.Decimal(line.quantity).quantize(cent), decimal.Decimal(line.unit_price).quantize(cent))
        for line in data.lines
    ]
    return (str(data.customer_remote_id), data.issue_date, data.due_date, lines, (data.notes or "").strip())
