"""A user of one organization never reaches another's data through the staff pages."""

import pytest
from django.urls import reverse

from blueclerk.tenancy import SESSION_KEY
from tests.factories import CustomerFactory, InvoiceFactory, ItemFactory, MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_orgs():
    a, b = OrganizationFactory(), OrganizationFactory()
    return a, b


def test_a_user_of_org_a_gets_404_on_org_b_invoice_customer_and_item_pages(client, two_orgs):
    org_a, org_b = two_orgs
    client.force_login(MembershipFactory(organization=org_a).user)
    invoice = InvoiceFactory(organization=org_b)
    urls = [
        reverse("invoice_detail", args=[invoice.pk]),
        reverse("invoice_edit", args=[invoice.pk]),
        reverse("customer_detail", args=[invoice.customer_id]),
        reverse("customer_edit", args=[invoice.customer_id]),
        reverse("item_detail", args=[invoice.lines.get().item_id]),
        reverse("item_edit", args=[invoice.lines.get().item_id]),
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url


def test_lists_only_show_the_current_organizations_rows(client, two_orgs):
    org_a, org_b = two_orgs
    client.force_login(MembershipFactory(organization=org_a).user)
    mine = InvoiceFactory(organization=org_a)
    InvoiceFactory(organization=org_b)
    CustomerFactory(organization=org_b)
    ItemFactory(organization=org_b)

    assert [i.pk for i in client.get(reverse("invoice_list")).context["page"]] == [mine.pk]
    assert [c.pk for c in client.get(reverse("customer_list")).context["page"]] == [mine.customer_id]
    assert [i.pk for i in client.get(reverse("item_list")).context["page"]] == [mine.lines.get().item_id]


def test_a_member_of_two_organizations_acts_for_the_one_chosen_in_the_session(client, two_orgs):
    org_a, org_b = two_orgs
    user = MembershipFactory(organization=org_a).user
    MembershipFactory(organization=org_b, user=user)
    theirs = InvoiceFactory(organization=org_b)
    client.force_login(user)

    assert client.get(reverse("invoice_detail", args=[theirs.pk])).status_code == 404
    session = client.session
    session[SESSION_KEY] = org_b.pk
    session.save()
    assert client.get(reverse("invoice_detail", args=[theirs.pk])).status_code == 200


def test_a_user_without_a_membership_sees_a_clear_page_on_every_staff_page(client):
    client.force_login(UserFactory())
    for name in ["invoice_list", "customer_list", "item_list", "settings", "invoice_create"]:
        response = client.get(reverse(name))
        assert response.status_code == 403, name
        assert "not part of an organization" in response.content.decode()


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get(reverse("invoice_list"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert client.get(reverse("login")).status_code == 200
