"""Signals inside integrations/ (the domain apps use blueclerk.changes.record_changed instead)."""

from django.dispatch import Signal

# An item's income-account mapping changed on a connection: sent with connection_id and item_ids, after
# commit. The sync engine pushes those items again (their payload now carries another account).
mapping_changed = Signal()
