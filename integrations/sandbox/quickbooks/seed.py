"""A new QuickBooks sandbox company's chart of accounts: several income accounts and a bank account."""

from .. import core, policies
from .entities import account_data

TYPES = {"income": ("Income", "ServiceFeeIncome"), "bank": ("Bank", "Checking")}


def seed_company(company):
    for name, code, kind in policies.DEFAULT_ACCOUNTS:
        account_type, sub_type = TYPES[kind]
        core.object_create(
            company=company,
            kind="account",
            data=account_data(name, account_type, sub_type, code, company.currency),
            unique_key=name.lower(),
            unique_scope="account",
        )
    core.object_create(
        company=company,
        kind="account",
        data=account_data("Undeposited Funds", "Other Current Asset", "UndepositedFunds", None, company.currency),
        unique_key="undeposited funds",
        unique_scope="account",
    )
