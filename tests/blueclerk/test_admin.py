from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from catalog.models import Item
from invoices.models import Customer, Invoice
from tests.factories import (
    CustomerFactory,
    InvoiceFactory,
    ItemFactory,
    MembershipFactory,
    OrganizationFactory,
    PaymentFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

APPS = ["blueclerk", "catalog", "invoices", "auth"]


@pytest.fixture
def org_a():
    return OrganizationFactory(name="Alpha Plumbing")


@pytest.fixture
def org_b():
    return OrganizationFactory(name="Bravo Electric")


@pytest.fixture
def admin_client(client, org_a):
    """A staff (not superuser) user of org A holding every model permission of the apps."""
    user = MembershipFactory(organization=org_a, role="admin").user
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label__in=APPS))
    client.force_login(user)
    return client


def _change_url(obj):
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def _changelist(obj_or_model):
    meta = obj_or_model._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")


def test_a_staff_admin_user_only_sees_their_own_organizations_rows(admin_client, org_a, org_b):
    mine = [ItemFactory(organization=org_a), CustomerFactory(organization=org_a), InvoiceFactory(organization=org_a)]
    mine.append(PaymentFactory(invoice=mine[2]))
    theirs = [ItemFactory(organization=org_b), CustomerFactory(organization=org_b), InvoiceFactory(organization=org_b)]
    theirs.append(PaymentFactory(invoice=theirs[2]))

    for own, other in zip(mine, theirs, strict=True):
        response = admin_client.get(_changelist(own))
        assert response.status_code == 200
        shown = {obj.pk for obj in response.context["cl"].result_list}
        assert own.pk in shown
        assert other.pk not in shown, type(other).__name__

    organizations = admin_client.get(_changelist(org_a)).context["cl"].result_list
    assert [o.pk for o in organizations] == [org_a.pk]


def test_another_organizations_admin_change_page_answers_404(admin_client, org_b):
    invoice = InvoiceFactory(organization=org_b)
    payment = PaymentFactory(invoice=invoice)
    membership = MembershipFactory(organization=org_b)
    for obj in [ItemFactory(organization=org_b), invoice.customer, invoice, payment, membership, org_b, membership.user]:
        url = _change_url(obj)
        assert admin_client.get(url).status_code == 404, url
        assert admin_client.get(url.replace("/change/", "/delete/")).status_code in (403, 404), url
        assert admin_client.get(url.replace("/change/", "/history/")).status_code == 404, url


def test_own_change_pages_render_and_invoices_are_read_only(admin_client, org_a):
    invoice = InvoiceFactory(organization=org_a, lines=[(None, Decimal("3"), Decimal("20.00"))])
    PaymentFactory(invoice=invoice, amount=Decimal("15.00"))
    for obj in [invoice, invoice.customer, invoice.lines.get().item, invoice.payments.get(), org_a]:
        assert admin_client.get(_change_url(obj)).status_code == 200

    response = admin_client.post(_change_url(invoice), {"status": "VOID", "notes": "edited"})
    assert response.status_code == 403
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.SENT


def test_foreign_key_choices_are_limited_to_the_users_organizations(admin_client, org_a, org_b):
    response = admin_client.get(reverse("admin:catalog_item_add"))
    choices = {str(value) for value, _ in response.context["adminform"].form.fields["organization"].choices if value}
    assert choices == {str(org_a.pk)}


def test_item_saves_go_through_the_service_and_show_its_errors(admin_client, org_a, org_b, django_capture_on_commit_callbacks):
    ItemFactory(organization=org_a, name="Panel upgrade", code="PU")
    form = {
        "organization": org_a.pk,
        "name": "panel UPGRADE",
        "code": "",
        "kind": "service",
        "unit_price": "10.00",
        "active": "on",
    }

    response = admin_client.post(reverse("admin:catalog_item_add"), form)
    assert response.status_code == 200
    assert "already exists" in str(response.context["adminform"].form.errors)
    assert Item.objects.filter(organization=org_a).count() == 1

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post(reverse("admin:catalog_item_add"), form | {"name": "Panel inspection", "code": "PI"})
    assert response.status_code == 302
    assert Item.objects.filter(organization=org_a, code="PI").exists()
    assert callbacks, "the item service announced the change"

    response = admin_client.post(reverse("admin:catalog_item_add"), form | {"organization": org_b.pk, "name": "Sneaky"})
    assert response.status_code == 200
    assert not Item.objects.filter(name="Sneaky").exists()


def test_item_edit_in_admin_goes_through_the_service(admin_client, org_a):
    item = ItemFactory(organization=org_a, name="Outlet install", code="OI")
    ItemFactory(organization=org_a, code="TAKEN")
    form = {"name": "Outlet install", "code": "TAKEN", "kind": "service", "unit_price": "80.00", "active": "on"}

    response = admin_client.post(_change_url(item), form)
    assert response.status_code == 200
    assert "already exists" in str(response.context["adminform"].form.errors)

    response = admin_client.post(_change_url(item), form | {"code": "OI"})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.unit_price == Decimal("80.00")
    assert item.organization_id == org_a.pk


def test_customer_saves_go_through_the_service(admin_client, org_a):
    form = {
        "organization": org_a.pk,
        "display_name": "  Rosa Diaz  ",
        "email": "ROSA@EXAMPLE.COM",
        "billing_country": "US",
        "active": "on",
    }

    response = admin_client.post(reverse("admin:invoices_customer_add"), form)

    assert response.status_code == 302
    customer = Customer.objects.get(organization=org_a)
    assert (customer.display_name, customer.email) == ("Rosa Diaz", "rosa@example.com")


def test_admin_actions_mark_sent_and_void_through_the_services(admin_client, org_a, org_b):
    draft = InvoiceFactory(organization=org_a, status=Invoice.Status.DRAFT)
    paid = InvoiceFactory(organization=org_a)
    PaymentFactory(invoice=paid)
    foreign = InvoiceFactory(organization=org_b, status=Invoice.Status.DRAFT)
    url = reverse("admin:invoices_invoice_changelist")

    admin_client.post(url, {"action": "mark_sent", "_selected_action": [draft.pk, foreign.pk]})
    draft.refresh_from_db()
    foreign.refresh_from_db()
    assert draft.status == Invoice.Status.SENT
    assert foreign.status == Invoice.Status.DRAFT  # not in the user's rows: untouched

    response = admin_client.post(url, {"action": "void", "_selected_action": [draft.pk, paid.pk]}, follow=True)
    text = [str(m) for m in response.context["messages"]]
    assert any("has payments recorded; it cannot be voided" in m for m in text), text
    assert any("1 invoice(s) voided" in m for m in text), text
    draft.refresh_from_db()
    paid.refresh_from_db()
    assert (draft.status, paid.status) == (Invoice.Status.VOID, Invoice.Status.SENT)


def test_a_superuser_sees_every_organization(client, org_a, org_b):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    ItemFactory(organization=org_a)
    ItemFactory(organization=org_b)
    response = client.get(reverse("admin:catalog_item_changelist"))
    assert response.context["cl"].result_count == 2
    assert client.get(_change_url(org_b)).status_code == 200
