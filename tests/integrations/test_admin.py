import pytest
from django.urls import reverse

from tests.factories import ConnectionFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return client


@pytest.mark.parametrize("model", ["connection", "externallink", "syncrun", "syncevent", "incomeaccount", "notification"])
def test_each_integrations_changelist_opens(superuser_client, model):
    ConnectionFactory(organization=OrganizationFactory())
    response = superuser_client.get(reverse(f"admin:integrations_{model}_changelist"))
    assert response.status_code == 200


def test_a_connection_shows_no_tokens(superuser_client):
    connection = ConnectionFactory(organization=OrganizationFactory())
    response = superuser_client.get(reverse("admin:integrations_connection_change", args=[connection.pk]))
    assert response.status_code == 200
    assert b"access_token" not in response.content
