"""Health: red/amber/green, the banner on every staff page, ReconnectRequired on pages and in the API."""

import pytest
from django.urls import include, path, reverse
from rest_framework.decorators import api_view

from integrations.health import AMBER, GREEN, RED, banner_list, connection_health
from integrations.models import Connection, ExternalLink
from integrations.providers.base import ReconnectRequired, TokenSet
from integrations.tokens import credential_store, get_access_token
from tests.factories import ConnectionFactory
from tests.integrations import connecting

sandbox = connecting.sandbox
MESSAGE = "Your QuickBooks connection has expired. Go to Settings → Integrations → Reconnect QuickBooks."


def boom(request):
    raise ReconnectRequired("QuickBooks", provider="quickbooks")


@api_view(["GET"])
def api_boom(request):
    raise ReconnectRequired("Xero", provider="xero")


urlpatterns = [path("boom/", boom), path("api/boom/", api_boom), path("", include("blueclerk.urls"))]


def test_a_revoked_grant_turns_into_the_red_banner_on_every_staff_page(transactional_db, sandbox, organization, staff_client):
    minted = connecting.control(sandbox, "quickbooks", method="post", mint_token=True)
    connection = ConnectionFactory(organization=organization, provider="quickbooks", company_id=minted["company"])
    credential_store(
        connection=connection,
        tokens=TokenSet(access_token=minted["access_token"], refresh_token=minted["refresh_token"], expires_in=-1),
    )
    connecting.control(sandbox, "quickbooks", method="post", revoke_refresh_token=True)
    assert MESSAGE not in staff_client.get(reverse("invoice_list")).content.decode()

    with pytest.raises(ReconnectRequired):
        get_access_token(connection)

    for page in ("invoice_list", "customer_list", "item_list", "settings"):
        html = staff_client.get(reverse(page)).content.decode()
        assert 'class="banner banner-red" role="alert"' in html
        assert MESSAGE in html
        assert f'href="{reverse("integrations:index")}#quickbooks">Reconnect QuickBooks</a>' in html
        assert "invalid_grant" not in html
    assert connecting.control(sandbox, "quickbooks")["invalid_grants"] == 1


@pytest.mark.django_db
def test_records_that_could_not_be_synced_make_it_amber_with_counts(organization):
    connection = ConnectionFactory(organization=organization, provider="xero")
    for n, status in enumerate(["failed", "failed", "needs_mapping", "synced", "pending"]):
        ExternalLink.objects.create(connection=connection, kind="item", local_id=n, status=status)

    health = connection_health(connection)

    assert health.level == AMBER
    assert health.message == "3 items aren't synced yet to Xero (2 failed, 1 waiting for an income account)."
    assert health.sync_url == reverse("integrations:sync_now", args=["xero"])
    assert health.counts == {"failed": 2, "needs_mapping": 1, "synced": 1, "pending": 1}
    assert banner_list(organization)[0]["level"] == AMBER


@pytest.mark.django_db
def test_a_healthy_connection_is_green_with_its_last_sync_time(organization):
    connection = ConnectionFactory(organization=organization, provider="wave")
    ExternalLink.objects.create(connection=connection, kind="customer", local_id=1, status="synced")

    assert connection_health(connection).level == GREEN
    assert banner_list(organization) == [
        {
            "level": GREEN,
            "message": "Wave is connected and in sync. Last sync: never.",
            "action_url": reverse("integrations:index") + "#wave",
            "action_label": "",
            "sync_url": "",
        }
    ]


@pytest.mark.django_db
def test_red_comes_first_and_disconnected_connections_show_nothing(organization):
    ConnectionFactory(organization=organization, provider="freshbooks", status=Connection.Status.DISCONNECTED)
    amber = ConnectionFactory(organization=organization, provider="xero")
    ExternalLink.objects.create(connection=amber, kind="item", local_id=1, status="blocked")
    ConnectionFactory(organization=organization, provider="quickbooks", status=Connection.Status.RECONNECT_REQUIRED)

    assert [b["level"] for b in banner_list(organization)] == [RED, AMBER]


@pytest.mark.django_db
def test_another_organizations_trouble_is_not_shown(staff_client):
    ConnectionFactory(provider="quickbooks", status=Connection.Status.RECONNECT_REQUIRED)

    assert MESSAGE not in staff_client.get(reverse("invoice_list")).content.decode()


@pytest.mark.urls(__name__)
@pytest.mark.django_db
def test_a_view_raising_reconnect_required_shows_the_message_instead_of_a_traceback(staff_client):
    response = staff_client.get("/boom/", follow=True)

    assert response.status_code == 200
    assert response.redirect_chain[0][0] == reverse("integrations:index")
    assert MESSAGE in response.content.decode()


@pytest.mark.urls(__name__)
@pytest.mark.django_db
def test_the_api_answers_401_with_the_message_and_code(staff_client):
    response = staff_client.get("/api/boom/")

    assert response.status_code == 401
    assert response.json() == {
        "detail": "Your Xero connection has expired. Go to Settings → Integrations → Reconnect Xero.",
        "code": "reconnect_required",
    }
