"""The deposit account of Xero and Wave: fetched bank accounts, the default chosen when a connection is
made (never over a choice already made), and only listed accounts accepted."""

import pytest
import responses as responses_lib
from django.core.exceptions import ValidationError

from integrations.models import Connection
from integrations.providers.base import Company, ReconnectRequired, TokenSet
from integrations.providers.config import provider_config
from integrations.services.connections import connection_save
from integrations.services.deposit import (
    bank_accounts_of,
    bank_accounts_refresh,
    deposit_account_default,
    deposit_account_of,
    deposit_account_set,
)
from tests.factories import ConnectionFactory
from tests.integrations.providers.test_xero import XERO_CHART
from tests.integrations.sync.conftest import _close_throttle_connections  # noqa: F401

pytestmark = pytest.mark.django_db

XERO_ACCOUNTS = f"{provider_config('xero').api_url}/api.xro/2.0/Accounts"
WAVE_URL = provider_config("wave").api_url
SAVINGS = "ebd06280-af70-4bed-97c6-7451a454ad85"  # the first bank account of XERO_CHART
CARD = "5040915e-8ce7-4177-8d08-fde416232f18"
TENANT = "8f7e6d5c-1111-2222-3333-444455556666"


def wave_accounts(*nodes):
    edges = [
        {"node": {"id": id, "name": name, "displayId": code, "isArchived": False, "subtype": {"value": "CASH_AND_BANK"}}}
        for id, name, code in nodes
    ]
    return {"data": {"business": {"accounts": {"pageInfo": {"currentPage": 1, "totalPages": 1}, "edges": edges}}}}


@pytest.fixture
def mocked():
    with responses_lib.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def connect(organization, provider, company_id=TENANT):
    return connection_save(
        organization=organization,
        provider=provider,
        tokens=TokenSet(access_token="access", refresh_token="refresh", expires_in=3600),
        company=Company(id=company_id, name="Harbor Plumbing"),
    )


def test_connecting_xero_chooses_its_first_bank_account_for_payments(mocked, organization):
    mocked.get(XERO_ACCOUNTS, json=XERO_CHART)

    connection = connect(organization, "xero")

    connection.refresh_from_db()
    assert connection.details["deposit_account_id"] == SAVINGS
    assert deposit_account_of(connection)["chosen_by"] == "default"
    assert [(a["id"], a["name"], a["code"]) for a in bank_accounts_of(connection)] == [
        (SAVINGS, "Business Savings Account", "091"),
        (CARD, "Card Clearing", ""),
        ("ceef66a5-a545-413b-9312-78a53caadbc4", "Petty Cash Float", "610"),
    ]
    assert mocked.calls[0].request.headers["xero-tenant-id"] == TENANT


def test_connecting_wave_chooses_its_first_cash_and_bank_account(mocked, organization):
    mocked.post(WAVE_URL, json=wave_accounts(("QWNjb3VudDo1", "Cash on Hand", None), ("QWNjb3VudDo2", "Checking", "1010")))

    connection = connect(organization, "wave", company_id="QnVzaW5lc3M6MQ==")

    connection.refresh_from_db()
    assert connection.details["deposit_account_id"] == "QWNjb3VudDo1"
    assert [a["name"] for a in bank_accounts_of(connection)] == ["Cash on Hand", "Checking"]


def test_reconnecting_keeps_the_account_a_person_chose(mocked, organization):
    mocked.get(XERO_ACCOUNTS, json=XERO_CHART)
    connection = connect(organization, "xero")
    deposit_account_set(connection=connection, account_id=CARD)

    connection = connect(organization, "xero")

    connection.refresh_from_db()
    assert connection.details["deposit_account_id"] == CARD
    assert deposit_account_of(connection)["chosen_by"] == "user"
    assert len(mocked.calls) == 2  # the list was fetched again all the same


def test_an_account_code_typed_before_the_list_existed_is_kept(mocked, organization):
    connection = ConnectionFactory(organization=organization, provider="xero", company_id=TENANT)
    connection.details = {"deposit_account_id": "091"}
    connection.save()
    mocked.get(XERO_ACCOUNTS, json=XERO_CHART)

    connection = connect(organization, "xero")

    connection.refresh_from_db()
    assert connection.details["deposit_account_id"] == "091"
    assert deposit_account_of(connection)["account"]["id"] == SAVINGS  # recognised by its code
    # Choosing the same account from the list keeps "091": a different string would change every payment's payload.
    deposit_account_set(connection=connection, account_id=SAVINGS)
    connection.refresh_from_db()
    assert connection.details["deposit_account_id"] == "091"
    assert deposit_account_of(connection)["chosen_by"] == "user"


def test_a_provider_that_cannot_be_reached_does_not_undo_the_connection(mocked, organization):
    mocked.get(XERO_ACCOUNTS, status=503, body="Service Unavailable")

    connection = connect(organization, "xero")

    connection.refresh_from_db()
    assert connection.status == Connection.Status.CONNECTED
    assert "deposit_account_id" not in connection.details and bank_accounts_of(connection) == []

    mocked.replace(responses_lib.GET, XERO_ACCOUNTS, json=XERO_CHART)
    connection = bank_accounts_refresh(connection=connection)
    assert connection.details["deposit_account_id"] == SAVINGS


def test_an_organisation_without_bank_accounts_gets_no_default(mocked, organization):
    mocked.get(XERO_ACCOUNTS, json={"Accounts": [XERO_CHART["Accounts"][0]]})

    connection = connect(organization, "xero")

    connection.refresh_from_db()
    assert "deposit_account_id" not in connection.details
    assert connection.details["bank_accounts"] == [] and connection.details["bank_accounts_fetched_at"]


def test_quickbooks_is_not_asked_for_bank_accounts(mocked, organization):
    connection = connect(organization, "quickbooks", company_id="9130350000000000")

    assert len(mocked.calls) == 0
    assert "bank_accounts" not in connection.details
    with pytest.raises(ValidationError, match="QuickBooks does not need a deposit account"):
        bank_accounts_refresh(connection=connection)


def test_connecting_another_company_forgets_the_first_ones_deposit_account(mocked, organization):
    mocked.get(XERO_ACCOUNTS, json=XERO_CHART)
    connection = connect(organization, "xero")
    deposit_account_set(connection=connection, account_id=CARD)
    mocked.replace(responses_lib.GET, XERO_ACCOUNTS, json={"Accounts": [XERO_CHART["Accounts"][1]]})

    connection = connect(organization, "xero", company_id="0a1b2c3d-1111-2222-3333-444455556666")

    connection.refresh_from_db()
    assert connection.details["deposit_account_id"] == "ceef66a5-a545-413b-9312-78a53caadbc4"
    assert deposit_account_of(connection)["chosen_by"] == "default"
    assert [a["name"] for a in bank_accounts_of(connection)] == ["Petty Cash Float"]


@pytest.mark.parametrize("tampered", ["not-an-account", "7d05a53d-613d-4eb2-a2fc-dcb6adb80b80", "", "  "])
def test_only_a_fetched_bank_account_can_be_chosen(mocked, organization, tampered):
    mocked.get(XERO_ACCOUNTS, json=XERO_CHART)
    connection = connect(organization, "xero")

    with pytest.raises(ValidationError):
        deposit_account_set(connection=connection, account_id=tampered)

    connection.refresh_from_db()
    assert connection.details["deposit_account_id"] == SAVINGS
    assert deposit_account_of(connection)["chosen_by"] == "default"


def test_a_dead_grant_is_reported_by_refresh_and_swallowed_on_connect(organization):
    connection = ConnectionFactory(organization=organization, provider="wave", status=Connection.Status.RECONNECT_REQUIRED)

    with pytest.raises(ReconnectRequired):
        bank_accounts_refresh(connection=connection)
    assert deposit_account_default(connection=connection) == connection
    connection.refresh_from_db()
    assert "bank_accounts" not in connection.details


def test_refresh_refuses_a_disconnected_connection_without_asking_the_provider(mocked, organization):
    connection = ConnectionFactory(organization=organization, provider="xero", status=Connection.Status.DISCONNECTED)

    with pytest.raises(ValidationError, match="Xero is not connected"):
        bank_accounts_refresh(connection=connection)
    assert not mocked.calls
