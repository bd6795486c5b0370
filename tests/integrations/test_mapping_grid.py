"""The account mapping grid: search, filters, bulk actions, and a page cost that does not grow with the catalog."""

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import Item
from integrations.models import ExternalLink, IncomeAccount, ItemAccountMapping, Kind, SyncRun
from tests.factories import ConnectionFactory, ItemFactory, MembershipFactory

pytestmark = pytest.mark.django_db
URL = reverse("integrations:mapping", args=["quickbooks"])
BULK = reverse("integrations:mapping_bulk", args=["quickbooks"])


@pytest.fixture
def connection(organization):
    return ConnectionFactory(organization=organization, provider="quickbooks")


@pytest.fixture
def accounts(connection):
    return [
        IncomeAccount.objects.create(connection=connection, remote_id=str(n), name=name)
        for n, name in enumerate(["Services", "Parts"], start=1)
    ]


@pytest.fixture
def admin_client(client, organization):
    client.force_login(MembershipFactory(organization=organization, role="admin").user)
    return client


def _names(response):
    return [row["item"].name for row in response.context["rows"]]


def _catalog(organization, n, connection=None):
    """`n` items; with `connection`, the first 30 of them failed to sync there."""
    items = Item.objects.bulk_create(
        [Item(organization=organization, name=f"Item {i:05d}", code=f"C{i:05d}", unit_price=10) for i in range(n)]
    )
    if connection:
        ExternalLink.objects.bulk_create(
            [
                ExternalLink(connection=connection, kind=Kind.ITEM, local_id=i.pk, status=ExternalLink.Status.FAILED)
                for i in items[:30]
            ]
        )


def test_it_searches_by_name_or_code(admin_client, organization, connection, accounts):
    ItemFactory(organization=organization, name="Drain cleaning", code="DRN")
    ItemFactory(organization=organization, name="Water heater", code="WH-40")

    assert _names(admin_client.get(URL, {"q": "drain"})) == ["Drain cleaning"]
    assert _names(admin_client.get(URL, {"q": "wh-4"})) == ["Water heater"]


def test_it_filters_mapped_unmapped_and_failed(admin_client, organization, connection, accounts):
    mapped = ItemFactory(organization=organization, name="Mapped")
    failed = ItemFactory(organization=organization, name="Failed")
    ItemAccountMapping.objects.create(connection=connection, item=mapped, income_account=accounts[0])
    ExternalLink.objects.create(
        connection=connection, kind=Kind.ITEM, local_id=failed.pk, status=ExternalLink.Status.FAILED, last_error="Duplicate name."
    )

    assert _names(admin_client.get(URL, {"show": "mapped"})) == ["Mapped"]
    assert _names(admin_client.get(URL, {"show": "unmapped"})) == ["Failed"]
    page = admin_client.get(URL, {"show": "failed"})
    assert _names(page) == ["Failed"] and "Duplicate name." in page.content.decode()


def test_the_page_says_the_limit_before_the_click(admin_client, connection, accounts):
    text = admin_client.get(URL).content.decode()
    assert "at most 100 items per click" in text and "Sync Selected to QuickBooks" in text


def test_map_selected_maps_only_the_ticked_items(admin_client, organization, connection, accounts):
    a, _b, c = (ItemFactory(organization=organization) for _ in range(3))

    admin_client.post(BULK, {"action": "map_selected", "bulk_account": accounts[1].pk, "item": [a.pk, c.pk]})

    assert dict(ItemAccountMapping.objects.values_list("item_id", "income_account_id")) == {
        a.pk: accounts[1].pk,
        c.pk: accounts[1].pk,
    }


def test_map_all_unmapped_keeps_the_items_own_choices(admin_client, organization, connection, accounts):
    own = ItemFactory(organization=organization)
    ItemAccountMapping.objects.create(connection=connection, item=own, income_account=accounts[0])
    others = [ItemFactory(organization=organization) for _ in range(2)]

    admin_client.post(BULK, {"action": "map_unmapped", "bulk_account": accounts[1].pk})

    mapping = dict(ItemAccountMapping.objects.values_list("item_id", "income_account_id"))
    assert mapping == {own.pk: accounts[0].pk, others[0].pk: accounts[1].pk, others[1].pk: accounts[1].pk}


def test_map_selected_without_an_account_says_so(admin_client, organization, connection, accounts):
    item = ItemFactory(organization=organization)

    page = admin_client.post(BULK, {"action": "map_selected", "item": [item.pk]}, follow=True)

    assert "Choose the income account to map the items to." in page.content.decode()
    assert not ItemAccountMapping.objects.exists()


def test_sync_selected_starts_a_run_for_the_ticked_items(admin_client, organization, connection, accounts):
    items = [ItemFactory(organization=organization) for _ in range(2)]

    admin_client.post(BULK, {"action": "sync_selected", "item": [i.pk for i in items]})

    run = SyncRun.objects.get(connection=connection)
    assert run.trigger == SyncRun.Trigger.SELECTED
    assert run.scope["ids"] == {Kind.ITEM: sorted(i.pk for i in items)}


def test_sync_selected_refuses_more_than_100(admin_client, organization, connection, accounts):
    _catalog(organization, 101)

    page = admin_client.post(
        BULK, {"action": "sync_selected", "item": list(Item.objects.values_list("pk", flat=True))}, follow=True
    )

    assert "at most 100 items at a time" in page.content.decode()
    assert not SyncRun.objects.exists()


def test_staff_cannot_use_the_bulk_actions(client, organization, connection, accounts):
    client.force_login(MembershipFactory(organization=organization, role="staff").user)
    item = ItemFactory(organization=organization)

    response = client.post(BULK, {"action": "map_selected", "bulk_account": accounts[0].pk, "item": [item.pk]})

    assert response.status_code == 403 and not ItemAccountMapping.objects.exists()


def _queries(client, params):
    with CaptureQueriesContext(db) as captured:
        assert client.get(URL, params).status_code == 200
    return len(captured)


@pytest.mark.parametrize("params", [{}, {"show": "unmapped", "page": "2"}, {"show": "failed"}, {"q": "Item 0"}])
def test_queries_per_page_do_not_grow_with_the_catalog(admin_client, organization, connection, accounts, params):
    _catalog(organization, 60, connection)
    small = _queries(admin_client, params)
    Item.objects.filter(organization=organization).delete()
    ExternalLink.objects.all().delete()
    _catalog(organization, 3000, connection)

    assert _queries(admin_client, params) == small
