"""The account payments are deposited into, for providers that need one (Xero, Wave).

Stored in connection.details["deposit_account_id"]; the payment payloads read it and the Xero and Wave
adapters refuse a payment without it, with a clear message.
"""

from django.core.exceptions import ValidationError
from django.db import transaction

from ..models import Connection, Provider

NEEDS_DEPOSIT_ACCOUNT = (Provider.XERO, Provider.WAVE)


@transaction.atomic
def deposit_account_set(*, connection, account_id):
    """Remember the deposit account (Xero: an account code or AccountID; Wave: the account id).
    An empty `account_id` forgets it. Returns the connection."""
    if connection.provider not in NEEDS_DEPOSIT_ACCOUNT:
        raise ValidationError(f"{connection.provider_name} does not need a deposit account.")
    account_id = (account_id or "").strip()
    if len(account_id) > 100:
        raise ValidationError("The deposit account is at most 100 characters.")
    connection = Connection.objects.select_for_update().get(pk=connection.pk)
    details = dict(connection.details or {})
    if account_id:
        details["deposit_account_id"] = account_id
    else:
        details.pop("deposit_account_id", None)
    connection.details = details
    connection.save(update_fields=["details", "updated_at"])
    return connection
