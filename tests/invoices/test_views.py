import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from invoices.models import Customer, Invoice, Payment
from tests.factories import CustomerFactory, InvoiceFactory, ItemFactory, OrganizationFactory, PaymentFactory

pytestmark = pytest.mark.django_db


def _line_data(rows, initial=0):
    data = {
        "lines-TOTAL_FORMS": str(len(rows)),
        "lines-INITIAL_FORMS": str(initial),
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"lines-{index}-{key}"] = value
    return data


# Pages -----------------------------------------------------------------------------------------------


def test_every_staff_page_renders_for_an_organization_with_data(staff_client, organization):
    customer = CustomerFactory(organization=organization)
    draft = InvoiceFactory(organization=organization, customer=customer, status=Invoice.Status.DRAFT)
    sent = InvoiceFactory(organization=organization, customer=customer)
    PaymentFactory(invoice=sent, amount=Decimal("30.00"))
    item = ItemFactory(organization=organization)
    urls = [
        reverse("home"),
        reverse("invoice_list"),
        reverse("invoice_list") + "?status=SENT&q=T-",
        reverse("invoice_create"),
        reverse("invoice_detail", args=[draft.pk]),
        reverse("invoice_detail", args=[sent.pk]),
        reverse("invoice_edit", args=[sent.pk]),
        reverse("customer_list"),
        reverse("customer_create"),
        reverse("customer_detail", args=[customer.pk]),
        reverse("customer_edit", args=[customer.pk]),
        reverse("item_list"),
        reverse("item_detail", args=[item.pk]),
        reverse("settings"),
    ]
    for url in urls:
        response = staff_client.get(url, follow=True)
        assert response.status_code == 200, url


def test_the_invoice_list_shows_total_paid_and_balance_from_the_payments(staff_client, organization):
    invoice = InvoiceFactory(organization=organization, lines=[(None, Decimal("2"), Decimal("150.00"))])
    PaymentFactory(invoice=invoice, amount=Decimal("100.00"))
    PaymentFactory(invoice=invoice, amount=Decimal("25.50"))

    response = staff_client.get(reverse("invoice_list"))

    (row,) = response.context["page"]
    assert (row.total, row.amount_paid, row.balance) == (Decimal("300.00"), Decimal("125.50"), Decimal("174.50"))
    body = response.content.decode()
    assert "125.50" in body and "174.50" in body


def test_the_invoice_list_filters_by_status_and_searches_by_customer(staff_client, organization):
    alice = CustomerFactory(organization=organization, display_name="Alice Rivera")
    bob = CustomerFactory(organization=organization, display_name="Bob Chen")
    InvoiceFactory(organization=organization, customer=alice, status=Invoice.Status.DRAFT)
    paid = InvoiceFactory(organization=organization, customer=alice, status=Invoice.Status.PAID)
    InvoiceFactory(organization=organization, customer=bob, status=Invoice.Status.PAID)

    response = staff_client.get(reverse("invoice_list"), {"status": "PAID", "q": "rivera"})

    assert [i.pk for i in response.context["page"]] == [paid.pk]


def test_the_invoice_list_pages(staff_client, organization):
    customer = CustomerFactory(organization=organization)
    for _ in range(27):
        InvoiceFactory(organization=organization, customer=customer)

    second = staff_client.get(reverse("invoice_list"), {"page": 2})

    assert len(second.context["page"]) == 2
    assert second.context["page"].paginator.count == 27


def test_the_customer_list_searches_and_pages(staff_client, organization):
    CustomerFactory.create_batch(26, organization=organization, company="Harbor Property Management")
    CustomerFactory(organization=organization, display_name="Dana Whitfield", company="")
    CustomerFactory(display_name="Dana at another business")

    found = staff_client.get(reverse("customer_list"), {"q": "dana"})
    assert [c.display_name for c in found.context["page"]] == ["Dana Whitfield"]

    second = staff_client.get(reverse("customer_list"), {"q": "harbor", "page": 2})
    assert len(second.context["page"]) == 1
    assert "q=harbor&amp;page=1" in second.content.decode()


# Customers -------------------------------------------------------------------------------------------


def test_it_creates_and_edits_a_customer_through_the_services(staff_client, organization):
    response = staff_client.post(
        reverse("customer_create"),
        {"display_name": "  Lena Ortiz ", "email": "LENA@Example.com", "billing_country": "US", "active": "on"},
    )
    customer = Customer.objects.get(organization=organization)
    assert response.status_code == 302
    assert (customer.display_name, customer.email) == ("Lena Ortiz", "lena@example.com")  # cleaned by the service

    response = staff_client.post(
        reverse("customer_edit", args=[customer.pk]),
        {"display_name": "Lena Ortiz", "company": "Ortiz Dental", "billing_country": "US", "active": "on"},
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.company == "Ortiz Dental"


def test_it_shows_a_customer_error_in_place(staff_client, organization):
    response = staff_client.post(reverse("customer_create"), {"display_name": "   ", "billing_country": "US"})

    assert response.status_code == 200
    assert response.context["form"].errors["display_name"]
    assert not Customer.objects.filter(organization=organization).exists()


# Invoices --------------------------------------------------------------------------------------------


def test_it_creates_an_invoice_with_several_lines_through_the_service(staff_client, organization):
    customer = CustomerFactory(organization=organization)
    pump = ItemFactory(organization=organization, name="Sump pump", code="SP-1", unit_price=Decimal("400.00"))
    labor = ItemFactory(organization=organization, name="Labor hour", code="", unit_price=Decimal("90.00"))
    data = {"customer": customer.pk, "issue_date": "2025-03-01", "due_date": "2025-03-31", "notes": ""}
    data |= _line_data(
        [
            {"item": "SP-1 · Sump pump", "description": "", "quantity": "1", "unit_price": ""},
            {"item": "labor hour", "description": "Install", "quantity": "2.5", "unit_price": "95.00"},
            {"item": "", "description": "", "quantity": "1", "unit_price": ""},  # left blank: ignored
        ]
    )

    response = staff_client.post(reverse("invoice_create"), data)

    invoice = Invoice.objects.get(organization=organization)
    assert response.status_code == 302, response.context and response.context["form"].errors
    assert response.url == reverse("invoice_detail", args=[invoice.pk])
    lines = list(invoice.lines.order_by("position"))
    assert [(line.item_id, line.quantity, line.unit_price) for line in lines] == [
        (pump.pk, Decimal("1.00"), Decimal("400.00")),
        (labor.pk, Decimal("2.50"), Decimal("95.00")),
    ]
    assert invoice.total == Decimal("637.50")
    assert invoice.issue_date == datetime.date(2025, 3, 1)
    assert invoice.number  # allocated by the service


def test_it_refuses_an_invoice_without_lines_and_says_why(staff_client, organization):
    customer = CustomerFactory(organization=organization)
    data = {"customer": customer.pk} | _line_data([{"item": "", "description": "", "quantity": "1", "unit_price": ""}])

    response = staff_client.post(reverse("invoice_create"), data)

    assert response.status_code == 200
    assert "An invoice needs at least one line." in response.content.decode()
    assert not Invoice.objects.exists()


def test_it_refuses_a_zero_quantity_line_and_an_unknown_item_in_place(staff_client, organization):
    customer = CustomerFactory(organization=organization)
    ItemFactory(organization=organization, name="Drain camera", code="DC")
    foreign = ItemFactory(name="Other business item", code="OB")
    data = {"customer": customer.pk} | _line_data([{"item": "DC", "quantity": "0"}])

    response = staff_client.post(reverse("invoice_create"), data)
    assert "Line 1: quantity must be more than zero." in response.content.decode()

    data = {"customer": customer.pk} | _line_data([{"item": foreign.code, "quantity": "1"}])
    response = staff_client.post(reverse("invoice_create"), data)
    assert response.context["lines"].forms[0].errors["item"]
    assert not Invoice.objects.exists()


def test_it_edits_an_invoice_keeping_untouched_lines(staff_client, organization):
    invoice = InvoiceFactory(organization=organization, lines=[(None, Decimal("1"), Decimal("100.00"))])
    extra = ItemFactory(organization=organization, name="Trip charge", code="TRIP", unit_price=Decimal("45.00"))
    page = staff_client.get(reverse("invoice_edit", args=[invoice.pk]))
    saved = page.context["lines"].forms[0].initial
    data = {
        "customer": invoice.customer_id,
        "issue_date": str(invoice.issue_date),
        "due_date": str(invoice.due_date),
        "notes": "Gate code 1234",
    }
    data |= _line_data(
        [
            {k: saved[k] for k in ("item", "description", "quantity", "unit_price")},
            {"item": "TRIP", "quantity": "1"},
        ],
        initial=1,
    )

    response = staff_client.post(reverse("invoice_edit", args=[invoice.pk]), data)

    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.total == Decimal("145.00")
    assert invoice.notes == "Gate code 1234"
    assert list(invoice.lines.values_list("item_id", flat=True).order_by("position"))[1] == extra.pk


def test_it_refuses_to_lower_the_total_below_what_was_paid(staff_client, organization):
    invoice = InvoiceFactory(organization=organization, lines=[(None, Decimal("1"), Decimal("100.00"))])
    PaymentFactory(invoice=invoice, amount=Decimal("80.00"))
    item = invoice.lines.get().item
    data = {"customer": invoice.customer_id, "issue_date": str(invoice.issue_date), "due_date": str(invoice.due_date)}
    data |= _line_data([{"item": item.code, "quantity": "1", "unit_price": "50.00"}], initial=1)

    response = staff_client.post(reverse("invoice_edit", args=[invoice.pk]), data)

    assert response.status_code == 200
    assert "less than the 80.00 already paid" in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.total == Decimal("100.00")


def test_record_payment_updates_the_balance(staff_client, organization):
    invoice = InvoiceFactory(organization=organization)  # 100.00, SENT

    response = staff_client.post(
        reverse("payment_create", args=[invoice.pk]),
        {"amount": "40.00", "date": "2025-04-02", "method": "check", "reference": "1042"},
    )

    assert response.status_code == 302
    detail = staff_client.get(reverse("invoice_detail", args=[invoice.pk]))
    assert detail.context["invoice"].balance == Decimal("60.00")
    assert "1042" in detail.content.decode()


def test_an_over_balance_payment_shows_the_error_beside_the_form_and_writes_nothing(staff_client, organization):
    invoice = InvoiceFactory(organization=organization)

    response = staff_client.post(
        reverse("payment_create", args=[invoice.pk]), {"amount": "100.01", "date": "2025-04-02", "method": "card"}
    )

    assert response.status_code == 200
    assert "more than the balance of 100.00" in " ".join(response.context["payment_form"].errors["amount"])
    assert "more than the balance" in response.content.decode()
    assert not Payment.objects.exists()


def test_mark_sent_mark_paid_and_void_go_through_the_services(staff_client, organization):
    draft = InvoiceFactory(organization=organization, status=Invoice.Status.DRAFT)
    staff_client.post(reverse("invoice_mark_sent", args=[draft.pk]))
    draft.refresh_from_db()
    assert draft.status == Invoice.Status.SENT

    staff_client.post(reverse("invoice_mark_paid", args=[draft.pk]))
    draft.refresh_from_db()
    assert draft.status == Invoice.Status.PAID
    assert draft.amount_paid == Decimal("100.00")

    other = InvoiceFactory(organization=organization)
    staff_client.post(reverse("invoice_void", args=[other.pk]))
    other.refresh_from_db()
    assert other.status == Invoice.Status.VOID


def test_voiding_a_paid_invoice_is_refused_with_a_message(staff_client, organization):
    invoice = InvoiceFactory(organization=organization)
    PaymentFactory(invoice=invoice, amount=Decimal("10.00"))

    response = staff_client.post(reverse("invoice_void", args=[invoice.pk]), follow=True)

    assert "has payments recorded; it cannot be voided" in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.SENT


def test_the_action_buttons_only_accept_post(staff_client, organization):
    invoice = InvoiceFactory(organization=organization, status=Invoice.Status.DRAFT)
    assert staff_client.get(reverse("invoice_mark_sent", args=[invoice.pk])).status_code == 405
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.DRAFT


# Tenancy ---------------------------------------------------------------------------------------------


def test_another_organizations_invoice_and_customer_answer_404(staff_client):
    other = OrganizationFactory()
    invoice = InvoiceFactory(organization=other)
    customer = invoice.customer
    for name in ["invoice_detail", "invoice_edit", "customer_detail", "customer_edit"]:
        target = invoice if name.startswith("invoice") else customer
        assert staff_client.get(reverse(name, args=[target.pk])).status_code == 404, name
    for name in ["invoice_mark_sent", "invoice_mark_paid", "invoice_void", "payment_create"]:
        assert (
            staff_client.post(
                reverse(name, args=[invoice.pk]), {"amount": "1", "date": "2025-01-01", "method": "cash"}
            ).status_code
            == 404
        )
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.SENT
    assert not Payment.objects.exists()


def test_an_invoice_cannot_be_created_for_another_organizations_customer(staff_client, organization):
    foreign = CustomerFactory()
    item = ItemFactory(organization=organization)
    data = {"customer": foreign.pk} | _line_data([{"item": item.code, "quantity": "1"}])

    response = staff_client.post(reverse("invoice_create"), data)

    assert response.status_code == 200
    assert response.context["form"].errors["customer"]
    assert not Invoice.objects.exists()


def test_the_settings_page_lists_the_organization_and_its_members(staff_client, organization, member):
    from tests.factories import MembershipFactory

    colleague = MembershipFactory(organization=organization, role="staff").user
    outsider = MembershipFactory().user

    body = staff_client.get(reverse("settings")).content.decode()

    assert organization.name in body and organization.currency in body
    assert member.username in body and colleague.username in body
    assert "Staff" in body and "Owner" in body
    assert outsider.username not in body
