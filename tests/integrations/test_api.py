import pytest

from tests.factories import ConnectionFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


def test_connections_lists_only_the_users_organization(staff_client, organization):
    mine = ConnectionFactory(organization=organization)
    ConnectionFactory(organization=OrganizationFactory())
    response = staff_client.get("/api/connections/")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [mine.pk]


def test_the_api_refuses_anonymous_users(client):
    assert client.get("/api/connections/").status_code in (401, 403)


def test_the_schema_is_served(staff_client):
    response = staff_client.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/connections/" in response.content


def test_another_organizations_connection_answers_404(staff_client, organization):
    mine = ConnectionFactory(organization=organization)
    theirs = ConnectionFactory(organization=OrganizationFactory())
    assert staff_client.get(f"/api/connections/{mine.pk}/").json()["id"] == mine.pk
    assert staff_client.get(f"/api/connections/{theirs.pk}/").status_code == 404
