"""The post-connection wizard against the sandbox: import customers and items without duplicating the
organization's own, fetch income accounts, skip and resume steps."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from catalog.models import Item
from integrations.models import Connection, ExternalLink, IncomeAccount, ItemAccountMapping
from integrations.providers.base import CustomerData, ItemData, PushRequest
from integrations.services import customers_import, income_accounts_fetch, items_import
from integrations.services.imports import normalized_name
from invoices.models import Customer
from tests.factories import CustomerFactory, ItemFactory, MembershipFactory
from tests.integrations import connecting

sandbox = connecting.sandbox
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def connected(organization, provider):
    call_command("connect_provider", org=organization.slug, provider=provider, sandbox=True)
    return Connection.objects.get(organization=organization, provider=provider)


def remote_create(connection, kind, data, n):
    """What a bookkeeper typed into the provider (made through the adapter, over HTTP)."""
    from integrations.services import adapter_for

    result = adapter_for(connection).push_one(kind, PushRequest(kind=kind, local_id=n, data=data))
    assert result.ok, result.error
    return result.remote_id


def test_normalized_name_ignores_case_punctuation_spacing_and_accents():
    assert normalized_name("  ACME  Plumbing, Inc. ") == normalized_name("acme plumbing inc") == "acme plumbing inc"
    assert normalized_name("Café Zoë") == "cafe zoe"


@pytest.mark.parametrize("provider", connecting.PROVIDERS)
def test_customers_import_matches_existing_ones_instead_of_duplicating(sandbox, organization, provider):
    connection = connected(organization, provider)
    harbor = CustomerFactory(organization=organization, display_name="Harbor Dental", email="front@harbor.example")
    acme = CustomerFactory(organization=organization, display_name="Acme Plumbing, Inc.", email="")
    untouched = CustomerFactory(organization=organization, display_name="Only Here", email="only@here.example")
    by_email = remote_create(
        connection, "customer", CustomerData(display_name="Harbor Dental Clinic", email="FRONT@harbor.example"), 1
    )
    by_name = remote_create(connection, "customer", CustomerData(display_name="ACME plumbing inc"), 2)
    new = remote_create(connection, "customer", CustomerData(display_name="Northside Bakery", email="hi@northside.example"), 3)

    counts = customers_import(connection=connection)

    assert (counts.created, counts.matched) == (1, 2)
    assert Customer.objects.filter(organization=organization).count() == 4
    links = {link.remote_id: link for link in ExternalLink.objects.filter(connection=connection, kind="customer")}
    assert links[by_email].local_id == harbor.pk
    assert links[by_name].local_id == acme.pk
    created = Customer.objects.get(pk=links[new].local_id)
    assert (created.display_name, created.email) == ("Northside Bakery", "hi@northside.example")
    assert all(link.status == "synced" for link in links.values())
    # Matched ones will be updated with our version by the next sync; the created one is up to date.
    assert links[by_email].pushed_hash == "" and links[new].pushed_hash != ""
    assert (
        not ExternalLink.objects.filter(connection=connection, kind="customer", local_id=untouched.pk)
        .exclude(remote_id=None)
        .exists()
    )
    assert Connection.objects.get(pk=connection.pk).wizard["customers"] == "done"

    again = customers_import(connection=connection)

    assert (again.created, again.matched) == (0, 0)
    assert again.skipped >= 3
    assert Customer.objects.filter(organization=organization).count() == 4


@pytest.mark.parametrize("provider", ["quickbooks", "xero", "freshbooks"])
def test_items_import_matches_by_code_then_name(sandbox, organization, provider):
    connection = connected(organization, provider)
    if provider != "freshbooks":
        income_accounts_fetch(connection=connection)
    account = IncomeAccount.objects.filter(connection=connection).first()
    account_id = account.remote_id if account else ""
    by_code_local = ItemFactory(organization=organization, name="Drain cleaning", code="DRN-1")
    by_name_local = ItemFactory(organization=organization, name="Water heater flush", code="")
    # FreshBooks items carry no code: match those by name only.
    code = "drn-1" if provider != "freshbooks" else ""
    by_code = remote_create(
        connection,
        "item",
        ItemData(
            name="Drain cleaning" if provider == "freshbooks" else "Drain clean (main line)",
            code=code,
            unit_price=Decimal("99.00"),
            income_account_id=account_id,
        ),
        1,
    )
    by_name = remote_create(
        connection,
        "item",
        ItemData(
            name="WATER HEATER FLUSH", code="WHF-9" if code else "", unit_price=Decimal("150.00"), income_account_id=account_id
        ),
        2,
    )
    new = remote_create(
        connection,
        "item",
        ItemData(
            name="Sump pump install", code="SMP-1" if code else "", unit_price=Decimal("480.00"), income_account_id=account_id
        ),
        3,
    )

    counts = items_import(connection=connection)

    assert (counts.created, counts.matched) == (1, 2)
    assert Item.objects.filter(organization=organization).count() == 3
    links = {link.remote_id: link.local_id for link in ExternalLink.objects.filter(connection=connection, kind="item")}
    assert links[by_code] == by_code_local.pk
    assert links[by_name] == by_name_local.pk
    created = Item.objects.get(pk=links[new])
    assert (created.name, created.unit_price) == ("Sump pump install", Decimal("480.00"))
    if account:
        # The provider's account of each item becomes its mapping.
        assert ItemAccountMapping.objects.filter(connection=connection, item=created, income_account=account).exists()


def test_income_accounts_come_from_the_provider(sandbox, organization):
    connection = connected(organization, "quickbooks")

    n = income_accounts_fetch(connection=connection)

    assert n == IncomeAccount.objects.filter(connection=connection, active=True).count() > 0
    assert all(a.account_type == "Income" for a in IncomeAccount.objects.filter(connection=connection))


def test_the_wizard_steps_can_be_skipped_and_run_later(sandbox, organization, client):
    user = MembershipFactory(organization=organization, role="admin").user
    client.force_login(user)
    connection = connected(organization, "xero")
    remote_create(connection, "customer", CustomerData(display_name="Harbor Dental"), 1)
    url = reverse("integrations:wizard", args=["xero"])

    client.post(url, {"step": "customers", "action": "skip"})
    assert Connection.objects.get(pk=connection.pk).wizard["customers"] == "skipped"
    assert not Customer.objects.filter(organization=organization).exists()
    page = client.get(url).content.decode()
    assert "Skipped" in page and "Import customers" in page

    response = client.post(url, {"step": "customers", "action": "run"}, follow=True)

    assert Connection.objects.get(pk=connection.pk).wizard["customers"] == "done"
    assert Customer.objects.filter(organization=organization, display_name="Harbor Dental").count() == 1
    assert "Imported customers: 1 created, 0 matched" in response.content.decode()

    response = client.post(url, {"step": "accounts", "action": "run"})
    assert response["Location"] == reverse("integrations:mapping", args=["xero"])
    assert IncomeAccount.objects.filter(connection=connection).exists()


def test_staff_cannot_run_the_wizard(sandbox, organization, client):
    connected(organization, "wave")
    client.force_login(MembershipFactory(organization=organization, role="staff").user)

    response = client.post(reverse("integrations:wizard", args=["wave"]), {"step": "customers", "action": "run"})

    assert response.status_code == 403
