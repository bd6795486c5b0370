"""Catalog services: item validation, uniqueness within an organization, and change announcements."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from blueclerk.changes import record_changed
from catalog.models import Item
from catalog.services import item_create, item_update
from tests.factories import ItemFactory, OrganizationFactory


@pytest.fixture
def announced():
    received = []

    def receiver(sender, organization_id, kind, ids, action, origin, **kwargs):
        received.append((organization_id, kind, action, ids, origin))

    record_changed.connect(receiver, weak=False, dispatch_uid="tests-catalog-announced")
    yield received
    record_changed.disconnect(dispatch_uid="tests-catalog-announced")


@pytest.mark.django_db
def test_it_creates_an_item_and_announces_it_after_commit(organization, announced, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        item = item_create(
            organization=organization, name="  AC tune-up ", code=" HVC-S0001 ", unit_price="89.00", kind=Item.Kind.SERVICE
        )
        assert announced == []
    item.refresh_from_db()
    assert (item.name, item.code, item.unit_price, item.kind, item.active) == (
        "AC tune-up",
        "HVC-S0001",
        Decimal("89.00"),
        "service",
        True,
    )
    assert announced == [(organization.id, "item", "created", [item.id], None)]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"name": "  "}, {"name": ["An item needs a name."]}),
        ({"name": "Drain cleaning", "unit_price": "-1"}, {"unit_price": ["Ensure this value is greater than or equal to 0."]}),
        ({"name": "Drain cleaning", "unit_price": "cheap"}, {"unit_price": ["“cheap” value must be a decimal number."]}),
        ({"name": "Drain cleaning", "kind": "subscription"}, {"kind": ["Value 'subscription' is not a valid choice."]}),
    ],
)
def test_it_refuses_an_item_with_a_clear_message(organization, fields, error):
    with pytest.raises(ValidationError) as excinfo:
        item_create(organization=organization, **fields)
    assert excinfo.value.message_dict == error
    assert not Item.objects.exists()


@pytest.mark.django_db
def test_it_refuses_a_duplicate_name_in_the_same_organization_whatever_the_case(organization):
    item_create(organization=organization, name="Water heater flush (40 gal)")
    with pytest.raises(ValidationError) as excinfo:
        item_create(organization=organization, name="WATER HEATER FLUSH (40 GAL)")
    assert excinfo.value.message_dict == {"name": ["An item named 'WATER HEATER FLUSH (40 GAL)' already exists."]}
    assert Item.objects.count() == 1


@pytest.mark.django_db
def test_it_refuses_a_duplicate_code_in_the_same_organization(organization):
    item_create(organization=organization, name="AC tune-up", code="HVC-1")
    with pytest.raises(ValidationError) as excinfo:
        item_create(organization=organization, name="Furnace tune-up", code="HVC-1")
    assert excinfo.value.message_dict == {"code": ["An item with code 'HVC-1' already exists."]}
    assert Item.objects.count() == 1


@pytest.mark.django_db
def test_items_without_a_code_do_not_clash(organization):
    item_create(organization=organization, name="Trip charge")
    item_create(organization=organization, name="Diagnostic fee", code="  ")
    assert list(Item.objects.values_list("code", flat=True)) == ["", ""]


@pytest.mark.django_db
def test_the_same_name_and_code_are_allowed_in_another_organization(organization):
    other = OrganizationFactory()
    item_create(organization=organization, name="AC tune-up", code="HVC-1")
    item_create(organization=other, name="AC tune-up", code="HVC-1")
    assert Item.objects.filter(name="AC tune-up", code="HVC-1").count() == 2


@pytest.mark.django_db
def test_updating_an_item_announces_only_real_changes(organization, announced, django_capture_on_commit_callbacks):
    item = ItemFactory(organization=organization, name="Drain cleaning (kitchen sink)", unit_price=Decimal("129.00"))
    with django_capture_on_commit_callbacks(execute=True):
        item_update(item=item, unit_price=Decimal("129.00"), name="Drain cleaning (kitchen sink)")
    assert announced == []
    with django_capture_on_commit_callbacks(execute=True):
        updated = item_update(item=item, unit_price=Decimal("139.00"), active=False, origin="quickbooks")
    assert (updated.unit_price, updated.active) == (Decimal("139.00"), False)
    assert announced == [(organization.id, "item", "updated", [item.id], "quickbooks")]


@pytest.mark.django_db
def test_an_item_may_change_the_case_of_its_own_name(organization):
    item = item_create(organization=organization, name="ac tune-up", code="HVC-1")
    assert item_update(item=item, name="AC tune-up", code="HVC-1").name == "AC tune-up"


@pytest.mark.django_db
def test_it_refuses_renaming_an_item_to_another_items_name_or_code(organization):
    item_create(organization=organization, name="AC tune-up", code="HVC-1")
    furnace = item_create(organization=organization, name="Furnace tune-up", code="HVC-2")
    with pytest.raises(ValidationError, match="An item named 'ac tune-up' already exists"):
        item_update(item=furnace, name="ac tune-up")
    with pytest.raises(ValidationError, match="An item with code 'HVC-1' already exists"):
        item_update(item=furnace, code="HVC-1")
    furnace.refresh_from_db()
    assert (furnace.name, furnace.code) == ("Furnace tune-up", "HVC-2")


@pytest.mark.django_db
def test_it_refuses_unknown_item_fields(organization):
    item = ItemFactory(organization=organization)
    with pytest.raises(TypeError, match="unexpected fields: organization"):
        item_update(item=item, organization=OrganizationFactory())


@pytest.mark.django_db
def test_an_item_created_in_a_rolled_back_transaction_is_never_announced(
    organization, announced, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            item_create(organization=organization, name="Gutter cleaning (1 story)")
            raise RuntimeError("the request failed after the write")
    assert callbacks == [] and announced == []
    assert not Item.objects.exists()
