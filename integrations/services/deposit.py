"""The bank account payments are deposited into, for providers that need one (Xero, Wave).

Kept in connection.details:
- "bank_accounts": the provider's accounts a payment can go into, as last fetched
  ([{"id", "name", "code"}], in the provider's order), and "bank_accounts_fetched_at";
- "deposit_account_id": the chosen one (what PaymentData.deposit_account_id carries: Xero's AccountID,
  or an account Code chosen before the list existed; Wave's account id);
- "deposit_account_chosen_by": "default" (chosen here: the first bank account) or "user".

When a Xero or Wave connection is made (connections.connection_save) the list is fetched and, when no
account is chosen yet, the first bank account becomes the default, so payments sync without anyone
knowing account codes. A choice is never overwritten by a fetch: the lock is taken after the HTTP call
and the choice re-read under it, so a person's choice made meanwhile wins. A person can only choose an
account of the fetched list.
"""

import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ..models import Connection, Provider
from ..providers.base import ProviderError, ReconnectRequired

NEEDS_DEPOSIT_ACCOUNT = (Provider.XERO, Provider.WAVE)
# Keys of connection.details that belong to the company the connection was made with.
DETAIL_KEYS = ("bank_accounts", "bank_accounts_fetched_at", "deposit_account_id", "deposit_account_chosen_by")
CHOSEN_BY_DEFAULT = "default"
CHOSEN_BY_USER = "user"

logger = logging.getLogger(__name__)


def _check_provider(connection):
    if connection.provider not in NEEDS_DEPOSIT_ACCOUNT:
        raise ValidationError(f"{connection.provider_name} does not need a deposit account.")


def bank_accounts_of(connection):
    """The bank accounts as last fetched: [{"id", "name", "code"}] ([] when never fetched)."""
    return list((connection.details or {}).get("bank_accounts") or [])


def deposit_account_of(connection):
    """{"id", "account", "chosen_by"} of the chosen deposit account, or None when none is chosen.
    `account` is the fetched bank account it is ({"id", "name", "code"}), or None when it is not among
    them (gone from the provider, or typed before the list existed). An account Code typed by hand
    matches the account of that code."""
    details = connection.details or {}
    chosen = str(details.get("deposit_account_id") or "")
    if not chosen:
        return None
    accounts = bank_accounts_of(connection)
    account = next((a for a in accounts if a["id"] == chosen), None) or next(
        (a for a in accounts if a.get("code") and a["code"] == chosen), None
    )
    return {"id": chosen, "account": account, "chosen_by": details.get("deposit_account_chosen_by", "")}


def bank_accounts_refresh(*, connection, adapter=None):
    """Fetch the provider's bank accounts and remember them; when no deposit account is chosen yet,
    choose the first one. Returns the updated connection. Raises ProviderError (ReconnectRequired
    when the grant is gone or the connection is known to need reconnecting) when the provider cannot
    be asked, ValidationError when the connection is not connected; nothing is changed then."""
    _check_provider(connection)
    if connection.status == Connection.Status.RECONNECT_REQUIRED:
        raise ReconnectRequired(connection.provider_name, provider=connection.provider)
    if not connection.is_usable:
        raise ValidationError(f"{connection.provider_name} is not connected.")
    if adapter is None:
        from .connections import adapter_for

        adapter = adapter_for(connection)
    # HTTP before the lock: a slow provider must not hold the connection row.
    fetched = [
        {"id": account.remote_id, "name": account.name[:255], "code": (account.code or "")[:50]}
        for account in adapter.bank_accounts()
        if account.remote_id
    ]
    with transaction.atomic():
        locked = Connection.objects.select_for_update().get(pk=connection.pk)
        details = dict(locked.details or {})
        details["bank_accounts"] = fetched
        details["bank_accounts_fetched_at"] = timezone.now().isoformat()
        if not details.get("deposit_account_id") and fetched:
            details["deposit_account_id"] = fetched[0]["id"]
            details["deposit_account_chosen_by"] = CHOSEN_BY_DEFAULT
        locked.details = details
        locked.save(update_fields=["details", "updated_at"])
    return locked


def deposit_account_default(*, connection, adapter=None):
    """After a connection is made: `bank_accounts_refresh` for Xero and Wave, best effort. A provider
    that cannot be asked leaves the connection as it is (the page offers Refresh list). Returns the
    connection."""
    if connection.provider not in NEEDS_DEPOSIT_ACCOUNT:
        return connection
    try:
        return bank_accounts_refresh(connection=connection, adapter=adapter)
    except ProviderError as exc:
        logger.warning("Bank accounts of %s connection %s not fetched: %s", connection.provider, connection.pk, exc.message)
        return connection


@transaction.atomic
def deposit_account_set(*, connection, account_id):
    """A person chooses the deposit account: `account_id` must be the id of one of the fetched bank
    accounts (ValidationError otherwise, nothing changed). Returns the connection."""
    _check_provider(connection)
    account_id = (account_id or "").strip()
    connection = Connection.objects.select_for_update().get(pk=connection.pk)
    name = connection.provider_name
    if not account_id:
        raise ValidationError(f"Choose the bank account {name} payments are deposited to.")
    if account_id not in {a["id"] for a in bank_accounts_of(connection)}:
        raise ValidationError(
            f"That is not one of {name}'s bank accounts. Choose one from the list (Refresh list if yours is missing)."
        )
    details = dict(connection.details or {})
    current = deposit_account_of(connection)
    # The account already chosen by its Code stays stored as it is: the payment payloads carry it,
    # and a different string for the same account would make every synced payment look changed.
    if not (current and current["account"] and current["account"]["id"] == account_id):
        details["deposit_account_id"] = account_id
    details["deposit_account_chosen_by"] = CHOSEN_BY_USER
    connection.details = details
    connection.save(update_fields=["details", "updated_at"])
    return connection
