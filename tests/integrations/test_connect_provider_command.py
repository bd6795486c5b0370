"""`connect_provider`: the OAuth flow without a browser against the sandbox, existing grants, exit 2."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from integrations import crypto
from integrations.models import Connection, Credential
from tests.integrations import connecting

sandbox = connecting.sandbox
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


@pytest.mark.parametrize("provider", connecting.PROVIDERS)
def test_it_completes_the_flow_against_the_sandbox(sandbox, organization, provider, capsys):
    first = connecting.control(sandbox, provider)["companies"][0]

    call_command("connect_provider", org=organization.slug, provider=provider, sandbox=True)

    connection = Connection.objects.get(organization=organization, provider=provider)
    assert (connection.status, connection.company_id, connection.company_name) == ("connected", first["id"], first["name"])
    assert crypto.decrypt(Credential.objects.get(connection=connection).refresh_token_encrypted)
    assert f"is connected to {first['name']}" in capsys.readouterr().out


def test_it_connects_the_chosen_tenant(sandbox, organization):
    second = connecting.control(sandbox, "xero")["companies"][1]

    call_command("connect_provider", org=organization.slug, provider="xero", sandbox=True, tenant_id=second["id"])

    assert Connection.objects.get(organization=organization).company_id == second["id"]


def test_it_stores_an_existing_grant_and_proves_it_by_refreshing(sandbox, organization):
    minted = connecting.control(sandbox, "wave", method="post", mint_token=True)

    call_command(
        "connect_provider",
        org=organization.slug,
        provider="wave",
        tenant_id=minted["company"],
        refresh_token=minted["refresh_token"],
    )

    connection = Connection.objects.get(organization=organization, provider="wave")
    credential = Credential.objects.get(connection=connection)
    # Refreshed at once: the stored refresh token is the rotated one, not the one given.
    assert crypto.decrypt(credential.refresh_token_encrypted) not in ("", minted["refresh_token"])
    assert connecting.control(sandbox, "wave")["refreshes"] == 1
    assert connection.company_name


def test_a_revoked_grant_exits_with_status_2_and_the_friendly_message(sandbox, organization, capsys):
    minted = connecting.control(sandbox, "quickbooks", method="post", mint_token=True)
    connecting.control(sandbox, "quickbooks", method="post", revoke_refresh_token=True)

    with pytest.raises(SystemExit) as exit_:
        call_command(
            "connect_provider",
            org=organization.slug,
            provider="quickbooks",
            tenant_id=minted["company"],
            refresh_token=minted["refresh_token"],
        )

    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "Your QuickBooks connection has expired. Go to Settings → Integrations → Reconnect QuickBooks." in err
    assert "invalid_grant" not in err and "Traceback" not in err
    assert not Connection.objects.exists()


def test_it_says_when_the_web_server_is_not_running(organization, settings):
    settings.SITE_URL = "http://127.0.0.1:9"  # nothing listens there

    with pytest.raises(CommandError, match="start the web server"):
        call_command("connect_provider", org=organization.slug, provider="quickbooks", sandbox=True)


def test_it_refuses_an_unknown_organization(sandbox):
    with pytest.raises(CommandError, match="No organization 'nope'"):
        call_command("connect_provider", org="nope", provider="quickbooks", sandbox=True)
