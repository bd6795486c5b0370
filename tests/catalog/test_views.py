from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import Item
from tests.factories import ItemFactory, MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


def test_it_lists_items_with_search(staff_client, organization):
    ItemFactory(organization=organization, name="Water heater flush", code="WH-1")
    ItemFactory(organization=organization, name="Drain snaking", code="DR-9")
    ItemFactory(name="Water heater flush at someone else")  # another organization

    response = staff_client.get(reverse("item_list"), {"q": "water"})

    assert response.status_code == 200
    page = list(response.context["page"])
    assert [i.name for i in page] == ["Water heater flush"]
    response = staff_client.get(reverse("item_list"), {"q": "dr-9"})
    assert [i.code for i in response.context["page"]] == ["DR-9"]


def test_it_pages_the_catalog_and_keeps_the_filters_in_the_links(staff_client, organization):
    ItemFactory.create_batch(30, organization=organization, kind=Item.Kind.PRODUCT)

    first = staff_client.get(reverse("item_list"), {"kind": "product"})
    second = staff_client.get(reverse("item_list"), {"kind": "product", "page": 2})

    assert len(first.context["page"]) == 25
    assert len(second.context["page"]) == 5
    assert "kind=product&amp;page=2" in first.content.decode()
    assert not set(i.pk for i in first.context["page"]) & set(i.pk for i in second.context["page"])


def _queries_for_item_list(client):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("item_list")).status_code == 200
    return len(queries)


def test_the_item_list_query_count_does_not_grow_with_the_catalog(staff_client, organization):
    ItemFactory.create_batch(3, organization=organization)
    small = _queries_for_item_list(staff_client)
    ItemFactory.create_batch(80, organization=organization)
    large = _queries_for_item_list(staff_client)
    assert small == large


def test_it_creates_an_item_through_the_service(staff_client, organization, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = staff_client.post(
            reverse("item_create"),
            {"name": "Sump pump install", "code": "SP-1", "kind": "service", "unit_price": "450.00", "active": "on"},
        )
    item = Item.objects.get(organization=organization, code="SP-1")
    assert response.status_code == 302
    assert response.url == reverse("item_detail", args=[item.pk])
    assert item.unit_price == Decimal("450.00")
    assert callbacks, "the service announces the change after commit"


def test_it_shows_a_name_clash_on_the_form_and_writes_nothing(staff_client, organization):
    ItemFactory(organization=organization, name="Sump pump install")

    response = staff_client.post(reverse("item_create"), {"name": "sump pump INSTALL", "kind": "service", "unit_price": "1"})

    assert response.status_code == 200
    assert "already exists" in " ".join(response.context["form"].errors["name"])
    assert "already exists" in response.content.decode()
    assert Item.objects.filter(organization=organization).count() == 1


def test_it_edits_an_item_through_the_service(staff_client, organization):
    item = ItemFactory(organization=organization, name="Faucet repair", code="FR-1")

    response = staff_client.post(
        reverse("item_edit", args=[item.pk]),
        {"name": "Faucet repair (kitchen)", "code": "FR-1", "kind": "service", "unit_price": "95.50"},
    )

    assert response.status_code == 302
    item.refresh_from_db()
    assert item.name == "Faucet repair (kitchen)"
    assert item.unit_price == Decimal("95.50")
    assert item.active is False  # the unchecked box


def test_it_refuses_an_edit_that_takes_another_items_code(staff_client, organization):
    ItemFactory(organization=organization, code="TAKEN")
    item = ItemFactory(organization=organization, code="MINE")

    response = staff_client.post(
        reverse("item_edit", args=[item.pk]), {"name": item.name, "code": "TAKEN", "kind": "service", "unit_price": "1"}
    )

    assert response.status_code == 200
    assert "already exists" in " ".join(response.context["form"].errors["code"])
    item.refresh_from_db()
    assert item.code == "MINE"


def test_item_pages_render(staff_client, organization):
    item = ItemFactory(organization=organization)
    for url in [
        reverse("item_list"),
        reverse("item_create"),
        reverse("item_detail", args=[item.pk]),
        reverse("item_edit", args=[item.pk]),
    ]:
        assert staff_client.get(url).status_code == 200, url


def test_suggestions_offer_only_active_items_of_the_organization(staff_client, organization):
    ItemFactory(organization=organization, name="Toilet reset", code="TR-1")
    ItemFactory(organization=organization, name="Toilet old", code="TR-0", active=False)
    ItemFactory(name="Toilet elsewhere")

    response = staff_client.get(reverse("item_suggest"), {"lines-0-item": "toilet"}, HTTP_HX_REQUEST="true")

    body = response.content.decode()
    assert response.status_code == 200
    assert 'value="TR-1 · Toilet reset"' in body
    assert "Toilet old" not in body
    assert "elsewhere" not in body


def test_another_organizations_item_answers_404(staff_client):
    other = ItemFactory(organization=OrganizationFactory())
    for name in ["item_detail", "item_edit"]:
        assert staff_client.get(reverse(name, args=[other.pk])).status_code == 404
    response = staff_client.post(
        reverse("item_edit", args=[other.pk]), {"name": "Hijacked", "kind": "service", "unit_price": "1"}
    )
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.name != "Hijacked"


def test_a_user_without_an_organization_sees_a_clear_page(client):
    user = MembershipFactory().user
    user.memberships.all().delete()
    client.force_login(user)

    response = client.get(reverse("item_list"))

    assert response.status_code == 403
    assert "not part of an organization" in response.content.decode()


def test_suggestions_put_names_starting_with_the_query_first(staff_client, organization):
    ItemFactory(organization=organization, name="Electrical box (triple-gang)", code="EB-3")
    ItemFactory(organization=organization, name="Trip charge", code="TC")

    response = staff_client.get(reverse("item_suggest"), {"q": "trip"})

    assert [i.name for i in response.context["items"]] == ["Trip charge", "Electrical box (triple-gang)"]
