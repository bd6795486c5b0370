import datetime
from decimal import Decimal

import pytest
import responses as responses_lib

from integrations.providers.base import (
    CustomerData,
    InvoiceData,
    ItemData,
    LineData,
    PaymentData,
    ProviderConfig,
    PushRequest,
)
from integrations.providers.registry import adapter_class

API_URLS = {
    "quickbooks": "https://quickbooks.api.intuit.com/v3",
    "xero": "https://api.xero.com",
    "freshbooks": "https://api.freshbooks.com",
    "wave": "https://gql.waveapps.com/graphql/public",
}
COMPANY_IDS = {
    "quickbooks": "9130350000000000",
    "xero": "8f7e6d5c-1111-2222-3333-444455556666",
    "freshbooks": "ACM123",
    "wave": "QnVzaW5lc3M6MQ==",
}


class RecordingThrottle:
    """A throttle that lets everything through and remembers what it was asked."""

    def __init__(self):
        self.slots = []
        self.penalties = []

    def slot(self, kind):
        import contextlib

        self.slots.append(kind)
        return contextlib.nullcontext()

    def penalize(self, seconds):
        self.penalties.append(seconds)


class Tokens:
    """token_provider(force_refresh=False): hands out "token-1", then "token-2" after a refresh."""

    def __init__(self):
        self.refreshes = 0

    def __call__(self, force_refresh=False):
        if force_refresh:
            self.refreshes += 1
        return f"token-{self.refreshes + 1}"


@pytest.fixture
def mocked():
    with responses_lib.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def make_adapter():
    def make(provider, **kwargs):
        config = ProviderConfig(
            name=provider,
            display_name=adapter_class(provider).display_name,
            client_id="client",
            client_secret="secret",
            auth_url="https://auth.example",
            token_url="https://token.example",
            api_url=API_URLS[provider],
        )
        tokens = kwargs.pop("tokens", None) or Tokens()
        throttle = kwargs.pop("throttle", None) or RecordingThrottle()
        adapter = adapter_class(provider)(
            config=config, company_id=COMPANY_IDS[provider], token_provider=tokens, throttle=throttle, **kwargs
        )
        adapter.tokens = tokens
        return adapter

    return make


def item(name="Drain cleaning", *, code="DRAIN", price="125.00", account="79"):
    return ItemData(name=name, code=code, description=f"{name} service", unit_price=Decimal(price), income_account_id=account)


def customer(name="Ada Plumbing", **kwargs):
    defaults = dict(
        company="Ada Plumbing LLC",
        email="ada@example.com",
        phone="555-0100",
        billing_line1="1 Main St",
        billing_city="Springfield",
        billing_region="IL",
        billing_postal_code="62701",
        billing_country="US",
    )
    defaults.update(kwargs)
    return CustomerData(display_name=name, **defaults)


def invoice(number="INV-1001", *, customer_id="58", status="SENT"):
    return InvoiceData(
        number=number,
        customer_remote_id=customer_id,
        issue_date=datetime.date(2025, 3, 1),
        due_date=datetime.date(2025, 3, 31),
        lines=[
            LineData(
                item_remote_id="11",
                description="Drain cleaning",
                quantity=Decimal("2"),
                unit_price=Decimal("125.00"),
                item_code="DRAIN",
                income_account_id="200",
            )
        ],
        status=status,
        total=Decimal("250.00"),
    )


def payment(amount="100.00", *, invoice_id="130", customer_id="58", deposit="090"):
    return PaymentData(
        invoice_remote_id=invoice_id,
        customer_remote_id=customer_id,
        amount=Decimal(amount),
        date=datetime.date(2025, 3, 5),
        reference="CHK-7",
        deposit_account_id=deposit,
    )


def push(kind, data, local_id=1, *, remote_id=None, version="", key=None):
    return PushRequest(
        kind=kind,
        local_id=local_id,
        data=data,
        remote_id=remote_id,
        remote_version=version,
        idempotency_key=key if key is not None else f"conn7-{kind}-{local_id}-0123456789abcdef0123456789abcdef",
    )
