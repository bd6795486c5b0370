"""factory-boy factories for the domain. Writes that matter go through services in tests; these
build rows directly for arranging state."""

import datetime
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from blueclerk.models import Membership, Organization
from catalog.models import Item
from invoices.models import Customer, Invoice, InvoiceLine, Payment


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Acme Plumbing {n}")
    slug = factory.Sequence(lambda n: f"acme-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pw")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Membership.Role.OWNER


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Item

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Drain cleaning {n}")
    code = factory.Sequence(lambda n: f"SKU-{n:05d}")
    unit_price = Decimal("125.00")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    organization = factory.SubFactory(OrganizationFactory)
    display_name = factory.Sequence(lambda n: f"Customer {n}")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")


class InvoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invoice
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    customer = factory.SubFactory(CustomerFactory, organization=factory.SelfAttribute("..organization"))
    number = factory.Sequence(lambda n: f"T-{n:05d}")
    status = Invoice.Status.SENT
    issue_date = factory.LazyFunction(datetime.date.today)
    due_date = factory.LazyFunction(lambda: datetime.date.today() + datetime.timedelta(days=30))
    total = Decimal("0.00")

    @factory.post_generation
    def lines(obj, create, extracted, **kwargs):
        """lines=[(item, qty, price), ...]; default one line of 1 x 100.00. Sets total."""
        if not create:
            return
        specs = extracted if extracted is not None else [(None, Decimal("1"), Decimal("100.00"))]
        total = Decimal("0.00")
        for position, (item, qty, price) in enumerate(specs, start=1):
            item = item or ItemFactory(organization=obj.organization)
            line = InvoiceLine.objects.create(
                invoice=obj, position=position, item=item, description=item.name, quantity=qty, unit_price=price
            )
            total += line.amount
        obj.total = total
        obj.save(update_fields=["total"])


class PaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payment

    invoice = factory.SubFactory(InvoiceFactory)
    organization = factory.SelfAttribute("invoice.organization")
    amount = Decimal("10.00")
    date = factory.LazyFunction(datetime.date.today)


class ConnectionFactory(factory.django.DjangoModelFactory):
    """A connected provider (no credential: add one with integrations.tokens.credential_store)."""

    class Meta:
        model = "integrations.Connection"

    organization = factory.SubFactory(OrganizationFactory)
    provider = "quickbooks"
    status = "connected"
    company_id = factory.Sequence(lambda n: f"9130{n:06d}")
    company_name = factory.Sequence(lambda n: f"Sandbox Company {n}")
