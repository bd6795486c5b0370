import pytest
from django.conf import settings

from tests.factories import MembershipFactory, OrganizationFactory


def pytest_collection_modifyitems(config, items):
    if getattr(settings, "POSTGRES", True):
        return
    reason = f"PostgreSQL not reachable ({settings.POSTGRES_ERROR}); set TEST_DATABASE_URL"
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_report_header(config):
    db = settings.DATABASES["default"]
    return f"database: {db['ENGINE'].rsplit('.', 1)[-1]} {db.get('HOST') or ''} {db.get('NAME')}"


@pytest.fixture
def organization(db):
    return OrganizationFactory()


@pytest.fixture
def member(db, organization):
    """An owner of `organization`."""
    return MembershipFactory(organization=organization, role="owner").user


@pytest.fixture
def staff_client(client, member):
    client.force_login(member)
    return client
