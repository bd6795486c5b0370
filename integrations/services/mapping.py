"""Account mapping: which income account each item is sold into, per connection.

The connection's default income account applies to every item without its own choice; a per-item
mapping overrides it. After the change commits, `integrations.signals.mapping_changed` is sent with the
items whose account changed, and the sync engine pushes them again (their payload carries the account).
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from catalog.models import Item

from ..models import Connection, IncomeAccount, ItemAccountMapping
from ..signals import mapping_changed

UNCHANGED = object()


def _account(connection, account_id):
    if account_id in (None, ""):
        return None
    account = IncomeAccount.objects.filter(connection=connection, pk=account_id).first()
    if account is None:
        raise ValidationError(f"Choose one of the income accounts fetched from {connection.provider_name}.")
    return account


@transaction.atomic
def mapping_save(*, connection, default_account_id=UNCHANGED, item_accounts=None):
    """Set the default income account (an IncomeAccount id, None to clear; leave out to keep it) and
    per-item accounts ({item id: IncomeAccount id, or None to fall back to the default}).
    Returns the sorted ids of the items whose effective account changed."""
    locked = Connection.objects.select_for_update().get(pk=connection.pk)
    item_accounts = {int(k): v for k, v in (item_accounts or {}).items()}
    current = dict(ItemAccountMapping.objects.filter(connection=locked).values_list("item_id", "income_account_id"))
    old_default = locked.default_income_account_id
    new_default = old_default
    if default_account_id is not UNCHANGED:
        account = _account(locked, default_account_id)
        new_default = account.pk if account else None
    if item_accounts:
        found = set(
            Item.objects.filter(organization_id=locked.organization_id, pk__in=list(item_accounts)).values_list("pk", flat=True)
        )
        if len(found) != len(item_accounts):
            raise ValidationError("Some of these items are not in your catalog.")
    changed = set()
    for item_id, account_id in item_accounts.items():
        account = _account(locked, account_id)
        before = current.get(item_id)
        if account is None:
            if before is not None:
                ItemAccountMapping.objects.filter(connection=locked, item_id=item_id).delete()
                current.pop(item_id)
                if before != new_default:
                    changed.add(item_id)
            continue
        if before == account.pk:
            continue
        ItemAccountMapping.objects.update_or_create(connection=locked, item_id=item_id, defaults={"income_account": account})
        current[item_id] = account.pk
        if (before or old_default) != account.pk:
            changed.add(item_id)
    if new_default != old_default:
        locked.default_income_account_id = new_default
        locked.save(update_fields=["default_income_account", "updated_at"])
        # Every item without its own mapping now sells into another account.
        changed.update(
            Item.objects.filter(organization_id=locked.organization_id).exclude(pk__in=list(current)).values_list("pk", flat=True)
        )
    wizard = dict(locked.wizard or {})
    if wizard.get("accounts") != "done" and locked.default_income_account_id:
        wizard["accounts"] = "done"
        wizard["accounts_at"] = timezone.now().isoformat()
        Connection.objects.filter(pk=locked.pk).update(wizard=wizard)
    connection.default_income_account_id = locked.default_income_account_id
    connection.wizard = wizard
    item_ids = sorted(changed)
    if item_ids:
        transaction.on_commit(lambda: mapping_changed.send(sender=Connection, connection_id=locked.pk, item_ids=item_ids))
    return item_ids


def item_account_set(*, connection, item_id, account_id):
    """One item's account (the mapping grid saves one select at a time); None: use the default."""
    return mapping_save(connection=connection, item_accounts={item_id: account_id})


def grid_items(connection):
    """The items the mapping grid shows (and Map All Unmapped covers): the organization's active ones."""
    return Item.objects.filter(organization_id=connection.organization_id, active=True)


def has_own_account(connection):
    """Filter: the item has an account of its own on `connection` (not the default)."""
    return Exists(ItemAccountMapping.objects.filter(connection=connection, item_id=OuterRef("pk")))


@transaction.atomic
def items_map_unmapped(*, connection, account_id):
    """Map All Unmapped (the grid's button and the API): every active item without its own account on
    this connection gets `account_id`. Inactive items are not in the grid and keep the default.
    Returns (ids of the items mapped, ids of the items whose effective account changed)."""
    if account_id in (None, ""):
        raise ValidationError("Choose the income account to map the items to.")
    # The lock mapping_save takes, taken before listing, so an item mapped meanwhile keeps its choice.
    locked = Connection.objects.select_for_update().get(pk=connection.pk)
    item_ids = list(grid_items(locked).exclude(has_own_account(locked)).order_by("pk").values_list("pk", flat=True))
    _account(locked, account_id)  # refused even when there is nothing to map
    changed = mapping_save(connection=connection, item_accounts=dict.fromkeys(item_ids, account_id))
    return item_ids, changed
