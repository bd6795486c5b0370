"""A new Wave sandbox business's chart of accounts (the core calls `seed_company` on creation)."""

from django.utils import timezone

from .. import core, policies
from .engine import global_id

# policies.DEFAULT_ACCOUNTS kinds in Wave's words: (type, subtype)
WAVE_TYPES = {"income": ("INCOME", "INCOME"), "bank": ("ASSET", "CASH_AND_BANK")}
EXTRA_ACCOUNTS = (("Accounts Receivable", "120", "ASSET", "RECEIVABLE_INVOICES"),)


def seed_company(company):
    stamp = timezone.now().isoformat().replace("+00:00", "Z")
    accounts = [(name, code, *WAVE_TYPES[kind]) for name, code, kind in policies.DEFAULT_ACCOUNTS]
    for sequence, (name, code, account_type, subtype) in enumerate([*accounts, *EXTRA_ACCOUNTS], start=1):
        data = {
            "name": name,
            "displayId": code,
            "description": None,
            "type": account_type,
            "subtype": subtype,
            "isArchived": False,
            "sequence": sequence,
            "currency": company.currency,
            "createdAt": stamp,
            "modifiedAt": stamp,
        }
        core.object_create(
            company=company,
            kind="account",
            data=data,
            unique_key=name.lower(),
            object_id=lambda pk: global_id(company.external_id, "Account", pk),
        )
        row = core.object_find(company=company, kind="account", unique_key=name.lower())
        core.object_save(row, data={**data, "id": row.object_id}, bump=False)
