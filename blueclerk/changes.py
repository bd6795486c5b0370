"""The hook through which catalog/ and invoices/ announce changes, without knowing who listens.

Services call `announce_change(...)` inside their transaction; listeners (integrations/) receive
`record_changed` only after the transaction commits, so they never see a change that was rolled back.
"""

from django.db import transaction
from django.dispatch import Signal

# Sent with: organization_id, kind ("item", "customer", "invoice", "payment"), ids (list of local ids),
# action ("created", "updated", "sent", "paid", "voided", "recorded"), origin (None for local changes,
# or the provider name when the change was imported from that provider and must not be pushed back).
record_changed = Signal()


def announce_change(*, organization_id, kind, ids, action, origin=None):
    ids = list(ids)

    def send():
        record_changed.send(sender=kind, organization_id=organization_id, kind=kind, ids=ids, action=action, origin=origin)

    transaction.on_commit(send)
