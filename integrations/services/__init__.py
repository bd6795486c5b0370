"""What views, admin actions, the API, tasks and commands call to change integrations.

One module a concern: connections (connect, reconnect, choose the company, disconnect), imports (the
post-connection wizard), mapping (income accounts of items) and sync (requesting pushes).
"""

from .connections import (
    ConnectOutcome,
    adapter_for,
    connection_begin,
    connection_choose,
    connection_disconnect,
    connection_finish,
    connection_save,
    pending_choices,
)
from .imports import ImportCounts, customers_import, income_accounts_fetch, items_import, wizard_step_mark, wizard_steps
from .mapping import item_account_set, items_map_unmapped, mapping_save
from .sync import invoice_sync, items_sync_selected, items_sync_unmapped, sync_now, sync_retry

__all__ = [
    "ConnectOutcome",
    "ImportCounts",
    "adapter_for",
    "connection_begin",
    "connection_choose",
    "connection_disconnect",
    "connection_finish",
    "connection_save",
    "customers_import",
    "income_accounts_fetch",
    "invoice_sync",
    "item_account_set",
    "items_import",
    "items_map_unmapped",
    "items_sync_selected",
    "items_sync_unmapped",
    "mapping_save",
    "pending_choices",
    "sync_now",
    "sync_retry",
    "wizard_step_mark",
    "wizard_steps",
]
