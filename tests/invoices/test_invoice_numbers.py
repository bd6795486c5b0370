"""Invoice numbers: unique per organization, consecutive, and safe when many invoices are created at once."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from blueclerk.models import Organization
from invoices.models import Invoice
from invoices.services import invoice_create
from tests.factories import CustomerFactory, ItemFactory, OrganizationFactory


def _create(organization, customer, item, **kwargs):
    return invoice_create(organization=organization, customer=customer, lines=[{"item": item, "quantity": 1}], **kwargs)


@pytest.fixture
def customer(organization):
    return CustomerFactory(organization=organization)


@pytest.fixture
def item(organization):
    return ItemFactory(organization=organization)


@pytest.mark.django_db
def test_numbers_are_consecutive_with_the_organization_prefix(organization, customer, item):
    numbers = [_create(organization, customer, item).number for _ in range(3)]
    assert numbers == ["INV-0001", "INV-0002", "INV-0003"]
    organization.refresh_from_db()
    assert organization.next_invoice_number == 4


@pytest.mark.django_db
def test_each_organization_counts_on_its_own(organization, customer, item):
    other = OrganizationFactory(invoice_number_prefix="B-")
    other_customer, other_item = CustomerFactory(organization=other), ItemFactory(organization=other)
    assert _create(organization, customer, item).number == "INV-0001"
    assert _create(other, other_customer, other_item).number == "B-0001"
    assert _create(organization, customer, item).number == "INV-0002"


@pytest.mark.django_db
def test_it_skips_a_number_that_was_typed_by_hand(organization, customer, item):
    assert _create(organization, customer, item, number="INV-0002").number == "INV-0002"
    assert _create(organization, customer, item).number == "INV-0001"
    assert _create(organization, customer, item).number == "INV-0003"


@pytest.mark.django_db
def test_it_refuses_a_number_already_used_in_the_organization(organization, customer, item):
    _create(organization, customer, item, number="A-100")
    with pytest.raises(ValidationError, match="Invoice number A-100 is already used"):
        _create(organization, customer, item, number="A-100")
    assert Invoice.objects.filter(organization=organization).count() == 1


@pytest.mark.django_db
def test_a_failed_creation_does_not_use_up_a_number(organization, customer, item):
    with pytest.raises(ValidationError):
        invoice_create(organization=organization, customer=customer, lines=[{"item": item, "quantity": None}])
    assert _create(organization, customer, item).number == "INV-0001"


@pytest.mark.postgres
def test_eight_invoices_created_at_once_get_distinct_consecutive_numbers(transactional_db):
    organization = OrganizationFactory()
    customer = CustomerFactory(organization=organization)
    item = ItemFactory(organization=organization)
    start = threading.Barrier(8)
    numbers, errors = [], []

    def create():
        try:
            start.wait(timeout=10)
            numbers.append(_create(organization, customer, item).number)
        except Exception as exc:
            errors.append(repr(exc))
        finally:
            connection.close()  # each thread has its own connection; leave none open on the test database

    threads = [threading.Thread(target=create) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert errors == []
    assert sorted(numbers) == [f"INV-{n:04d}" for n in range(1, 9)]
    assert Invoice.objects.filter(organization=organization).count() == 8
    assert Organization.objects.get(pk=organization.pk).next_invoice_number == 9
