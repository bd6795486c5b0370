"""CSRF is enforced on every staff form: a post without the token is refused (403) and changes nothing."""

import pytest
from django.test import Client
from django.urls import reverse

from catalog.models import Item
from invoices.models import Customer, Invoice, Payment
from tests.factories import CustomerFactory, InvoiceFactory, ItemFactory, MembershipFactory

pytestmark = pytest.mark.django_db

FORMS = [
    ("item_create", None),
    ("item_edit", "item"),
    ("customer_create", None),
    ("customer_edit", "customer"),
    ("invoice_create", None),
    ("invoice_edit", "invoice"),
    ("invoice_mark_sent", "invoice"),
    ("invoice_mark_paid", "invoice"),
    ("invoice_void", "invoice"),
    ("payment_create", "invoice"),
    ("integrations:connect", "quickbooks"),
    ("integrations:disconnect", "quickbooks"),
    ("integrations:choose", "quickbooks"),
    ("integrations:wizard", "quickbooks"),
    ("integrations:mapping", "quickbooks"),
    ("logout", None),
]


@pytest.fixture
def strict_client(organization):
    user = MembershipFactory(organization=organization, role="owner").user
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


@pytest.mark.parametrize("url_name,arg", FORMS)
def test_a_form_posted_without_the_csrf_token_is_refused(strict_client, organization, url_name, arg):
    records = {
        "item": ItemFactory(organization=organization),
        "customer": CustomerFactory(organization=organization),
    }
    records["invoice"] = InvoiceFactory(organization=organization, customer=records["customer"])
    args = [] if arg is None else [records[arg].pk if arg in records else arg]
    before = (Item.objects.count(), Customer.objects.count(), Invoice.objects.count(), Payment.objects.count())

    response = strict_client.post(reverse(url_name, args=args), {"name": "Sneaky", "display_name": "Sneaky", "amount": "1"})

    assert response.status_code == 403
    assert (Item.objects.count(), Customer.objects.count(), Invoice.objects.count(), Payment.objects.count()) == before


def test_the_same_form_with_the_token_goes_through(strict_client):
    page = strict_client.get(reverse("item_create"))
    token = page.cookies["csrftoken"].value if "csrftoken" in page.cookies else strict_client.cookies["csrftoken"].value
    response = strict_client.post(
        reverse("item_create"), {"name": "Drain cleaning", "unit_price": "90.00", "kind": "service", "csrfmiddlewaretoken": token}
    )
    assert response.status_code in (200, 302)
    assert Item.objects.filter(name="Drain cleaning").exists()
