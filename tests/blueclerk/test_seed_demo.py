"""seed_demo: a realistic, deterministic demo organization that a second run leaves exactly as it was."""

import datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Count

from blueclerk.demo import demo_customers, demo_items, item_universe, seed_demo
from blueclerk.models import Membership, Organization
from catalog.models import Item
from invoices.models import Customer, Invoice, InvoiceLine, Payment

TODAY = datetime.date(2025, 6, 15)
SMALL = {"items": 80, "customers": 15, "invoices": 60, "today": TODAY}


def _snapshot(organization):
    """Every row the seed writes for an organization, as plain values (ids and timestamps included)."""
    org = organization.pk
    return {
        "organization": list(Organization.objects.filter(pk=org).values()),
        "users": list(get_user_model().objects.values()),
        "permissions": sorted(get_user_model().user_permissions.through.objects.values_list("user_id", "permission_id")),
        "memberships": list(Membership.objects.filter(organization=org).values()),
        "items": list(Item.objects.filter(organization=org).order_by("pk").values()),
        "customers": list(Customer.objects.filter(organization=org).order_by("pk").values()),
        "invoices": list(Invoice.objects.filter(organization=org).order_by("pk").values()),
        "lines": list(InvoiceLine.objects.filter(invoice__organization=org).order_by("pk").values()),
        "payments": list(Payment.objects.filter(organization=org).order_by("pk").values()),
    }


def _content(organization):
    """What a person sees of the demo data, without ids and timestamps (for comparing two organizations)."""
    org = organization.pk
    return {
        "items": list(Item.objects.filter(organization=org).order_by("code").values_list("name", "code", "unit_price", "kind")),
        "customers": list(
            Customer.objects.filter(organization=org).order_by("email").values_list("display_name", "email", "phone")
        ),
        "invoices": list(
            Invoice.objects.filter(organization=org)
            .order_by("number")
            .values_list("number", "customer__email", "status", "issue_date", "due_date", "total")
        ),
        "lines": list(
            InvoiceLine.objects.filter(invoice__organization=org)
            .order_by("invoice__number", "position")
            .values_list("invoice__number", "item__code", "quantity", "unit_price")
        ),
        "payments": list(
            Payment.objects.filter(organization=org)
            .order_by("invoice__number", "date", "amount")
            .values_list("invoice__number", "amount", "date", "method", "reference")
        ),
    }


def test_the_catalog_has_3629_distinct_trade_items_with_codes_and_prices():
    items = demo_items(3629)
    assert len({i.name.lower() for i in items}) == 3629
    assert len({i.code for i in items}) == 3629
    assert all(i.unit_price > 0 and i.code[:3] in {"PLB", "HVC", "ELE", "CLN"} for i in items)
    assert {i.trade for i in items} == {"plumbing", "hvac", "electrical", "cleaning"}
    names = {i.name for i in item_universe()}
    assert {
        "Water heater flush (40 gal, gas)",
        "AC tune-up (central, standard hours)",
        "Commercial AC tune-up (heat pump, emergency)",
    } <= names
    assert demo_items(100) == items[:100]  # a smaller catalog is the start of the larger one


def test_it_refuses_more_items_than_the_catalog_knows():
    with pytest.raises(ValueError, match="distinct items"):
        demo_items(len(item_universe()) + 1)


def test_customers_have_unique_emails_at_reserved_domains_and_full_addresses():
    customers = demo_customers(250)
    assert len({c["email"] for c in customers}) == 250
    assert len({c["display_name"] for c in customers}) == 250
    assert all(
        c["email"].split("@")[1].rsplit(".", 2)[-2:] in (["example", "com"], ["example", "net"], ["example", "org"])
        for c in customers
    )
    assert all(c["phone"] and c["billing_line1"] and c["billing_city"] and c["billing_postal_code"] for c in customers)
    assert any(c["company"] for c in customers) and any(not c["company"] for c in customers)


@pytest.mark.django_db
def test_it_creates_an_organization_with_an_owner_who_can_log_in_and_use_the_admin(client):
    report = seed_demo(slug="demo", **SMALL)
    organization = Organization.objects.get(slug="demo")
    assert organization.name == "Demo Plumbing & HVAC" and report.organization_created
    user = get_user_model().objects.get(username="demo")
    assert user.is_staff and not user.is_superuser
    assert Membership.objects.get(user=user, organization=organization).role == Membership.Role.OWNER
    assert user.has_perm("invoices.change_invoice") and user.has_perm("catalog.view_item")
    assert client.login(username="demo", password="demo")


@pytest.mark.django_db
def test_it_creates_invoices_in_every_status_with_full_and_partial_payments():
    seed_demo(slug="demo", **SMALL)
    organization = Organization.objects.get(slug="demo")
    assert Item.objects.filter(organization=organization).count() == 80
    assert Customer.objects.filter(organization=organization).count() == 15
    invoices = list(
        Invoice.objects.filter(organization=organization).with_amounts().annotate(n_lines=Count("lines", distinct=True))
    )
    assert len(invoices) == 60
    assert {i.status for i in invoices} == {"DRAFT", "SENT", "PAID", "VOID"}
    assert max(i.n_lines for i in invoices) >= 3 and min(i.n_lines for i in invoices) >= 2

    for invoice in invoices:
        assert invoice.total == sum((line.amount for line in invoice.lines.all()), Decimal("0.00"))
        assert invoice.issue_date <= TODAY and invoice.due_date >= invoice.issue_date
        if invoice.status == "PAID":
            assert invoice.amount_paid == invoice.total and invoice.balance == 0
        elif invoice.status == "SENT":
            assert 0 <= invoice.amount_paid < invoice.total
        else:
            assert invoice.amount_paid == 0
        for payment in invoice.payments.all():
            assert invoice.issue_date <= payment.date <= TODAY

    partly_paid = [i for i in invoices if i.status == "SENT" and i.amount_paid > 0]
    paid_in_instalments = [i for i in invoices if i.status == "PAID" and i.payments.count() > 1]
    assert partly_paid and paid_in_instalments
    numbers = sorted(int(i.number.removeprefix("INV-")) for i in invoices)
    assert numbers == list(range(1, 61))


@pytest.mark.django_db
def test_running_it_twice_changes_nothing():
    first = seed_demo(slug="demo", **SMALL)
    before = _snapshot(first.organization)
    again = seed_demo(slug="demo", **SMALL)
    assert _snapshot(first.organization) == before
    assert (again.organization_created, again.user_created, again.password_reset, again.membership_created) == (False,) * 4
    assert (again.items_created, again.customers_created, again.invoices_created, again.payments_created) == (0, 0, 0, 0)
    assert (again.items_existing, again.customers_existing, again.invoices_existing) == (80, 15, 60)


@pytest.mark.django_db
def test_the_same_arguments_give_the_same_data():
    seed_demo(slug="demo-a", **SMALL)
    seed_demo(slug="demo-b", **SMALL)
    a, b = (_content(Organization.objects.get(slug=slug)) for slug in ("demo-a", "demo-b"))
    assert a == b
    assert len(a["payments"]) > 0


@pytest.mark.django_db
def test_an_interrupted_or_smaller_run_is_completed_by_a_larger_one():
    seed_demo(slug="grown", items=40, customers=10, invoices=25, today=TODAY)
    seed_demo(slug="grown", **SMALL)
    seed_demo(slug="whole", **SMALL)
    grown, whole = (Organization.objects.get(slug=slug) for slug in ("grown", "whole"))
    assert _content(grown)["items"] == _content(whole)["items"]
    assert _content(grown)["customers"] == _content(whole)["customers"]
    assert Invoice.objects.filter(organization=grown).count() == 60


@pytest.mark.django_db
def test_it_resets_a_changed_demo_password_and_keeps_the_user():
    seed_demo(slug="demo", **SMALL)
    user = get_user_model().objects.get(username="demo")
    user.set_password("something else")
    user.save()
    report = seed_demo(slug="demo", **SMALL)
    assert report.password_reset and not report.user_created
    user.refresh_from_db()
    assert user.check_password("demo")


@pytest.mark.django_db
def test_the_command_prints_what_it_did():
    out = StringIO()
    call_command("seed_demo", "--org", "demo", "--items", "30", "--customers", "5", "--invoices", "8", stdout=out)
    text = out.getvalue()
    assert "Organization 'Demo Plumbing & HVAC' (slug demo): created" in text
    assert "Login demo / demo: created, added as owner" in text
    assert "Items: 30 created, 0 already there" in text
    assert "Customers: 5 created, 0 already there" in text
    assert "Invoices: 8 created" in text

    out = StringIO()
    call_command("seed_demo", "--org", "demo", "--items", "30", "--customers", "5", "--invoices", "8", stdout=out)
    assert "Items: 0 created, 30 already there" in out.getvalue()
    assert "Invoices: 0 created (0 payments), 8 already there" in out.getvalue()


@pytest.mark.django_db
def test_the_command_refuses_invoices_without_items_or_customers():
    with pytest.raises(CommandError, match="at least one item and one customer"):
        call_command("seed_demo", "--items", "0", "--invoices", "5", stdout=StringIO())
    assert not Organization.objects.exists()
