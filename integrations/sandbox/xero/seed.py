"""A new Xero sandbox organisation's chart of accounts: several REVENUE accounts and a BANK account."""

from .. import core, policies
from .entities import account_data

TYPES = {"income": "REVENUE", "bank": "BANK"}


def seed_company(company):
    for name, code, kind in policies.DEFAULT_ACCOUNTS:
        data = account_data(name, code, TYPES[kind])
        obj = core.object_create(company=company, kind="account", data=data, unique_key=name.lower(), alt_key=code.lower())
        data["AccountID"] = obj.object_id
        core.object_save(obj, data=data, bump=False)
