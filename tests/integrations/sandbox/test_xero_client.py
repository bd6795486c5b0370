"""xero-python (Xero's official SDK), unchanged but for its URLs, against the sandbox."""

import base64
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from xero_python.accounting import Account as XeroAccount
from xero_python.accounting import (
    AccountingApi,
    Contact,
    Contacts,
    Invoice,
    Invoices,
    Item,
    Items,
    LineItem,
    Payment,
    Payments,
    Purchase,
)
from xero_python.api_client import ApiClient, Configuration
from xero_python.api_client.oauth2 import OAuth2Token, TokenApi
from xero_python.exceptions import AccountingBadRequestException
from xero_python.identity import IdentityApi

pytestmark = pytest.mark.django_db(transaction=True)


def consent(base):
    params = {
        "client_id": "sandbox-client",
        "redirect_uri": "http://localhost/cb",
        "response_type": "code",
        "scope": "offline_access accounting.settings",
        "state": "s",
    }
    tenant = requests.get(f"{base}/_control", timeout=10).json()["companies"][0]["id"]
    approved = requests.post(
        f"{base}/identity/connect/authorize",
        data={**params, "action": "approve", "company": [tenant]},
        allow_redirects=False,
        timeout=10,
    )
    code = parse_qs(urlsplit(approved.headers["Location"]).query)["code"][0]
    basic = base64.b64encode(b"sandbox-client:sandbox-secret").decode()
    return requests.post(
        f"{base}/connect/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": "http://localhost/cb"},
        headers={"Authorization": f"Basic {basic}"},
        timeout=10,
    ).json()


def test_xero_python_works_against_the_sandbox(live_server, settings, monkeypatch):
    settings.SITE_URL = live_server.url
    base = f"{live_server.url}/sandbox/xero"
    monkeypatch.setattr(TokenApi, "refresh_token_url", f"{base}/connect/token")  # the base URL, nothing else
    store = {}
    client = ApiClient(
        Configuration(oauth2_token=OAuth2Token(client_id="sandbox-client", client_secret="sandbox-secret")),
        pool_threads=1,
        oauth2_token_getter=lambda: store.get("token"),
        oauth2_token_saver=lambda token: store.update(token=token),
    )
    first = consent(base)
    client.set_oauth2_token(first)
    refreshed = client.refresh_oauth2_token()  # xero-python posts client credentials in the form body
    assert refreshed["refresh_token"] != first["refresh_token"]

    connections = IdentityApi(client, base_url=base).get_connections()
    tenant = connections[0].tenant_id
    api = AccountingApi(client, base_url=f"{base}/api.xro/2.0")

    revenue = [a for a in api.get_accounts(tenant).accounts if str(a._class) in ("AccountClassType.REVENUE", "REVENUE")]
    assert len(revenue) >= 3
    code = revenue[0].code

    created = api.create_items(
        tenant,
        Items(items=[Item(code="BOIL-1", name="Boiler service", sales_details=Purchase(unit_price=120.0, account_code=code))]),
    )
    item = created.items[0]
    assert item.item_id
    updated = api.update_item(tenant, item.item_id, Items(items=[Item(code="BOIL-1", name="Boiler service (annual)")]))
    assert updated.items[0].name == "Boiler service (annual)"
    assert api.get_item(tenant, item.item_id).items[0].name == "Boiler service (annual)"

    contact = api.create_contacts(tenant, Contacts(contacts=[Contact(name="Hopper Heating", contact_number="C-9")])).contacts[0]
    contact_update = api.update_contact(
        tenant, contact.contact_id, Contacts(contacts=[Contact(contact_id=contact.contact_id, email_address="grace@example.com")])
    )
    assert contact_update.contacts[0].email_address == "grace@example.com"

    invoice = Invoice(
        type="ACCREC",
        contact=Contact(contact_id=contact.contact_id),
        line_items=[
            LineItem(item_code="BOIL-1", description="Annual service", quantity=2.0, unit_amount=120.0, account_code=code)
        ],
        date=date(2026, 11, 1),
        due_date=date(2026, 12, 1),
        invoice_number="X-100",
        status="AUTHORISED",
    )
    made = api.create_invoices(tenant, Invoices(invoices=[invoice]), summarize_errors=False).invoices[0]
    assert made.total == 240 and made.amount_due == 240
    reference = api.update_invoice(
        tenant, made.invoice_id, Invoices(invoices=[Invoice(invoice_id=made.invoice_id, reference="Job 12")])
    )
    assert reference.invoices[0].reference == "Job 12"

    bank = next(a for a in api.get_accounts(tenant).accounts if str(a.type) in ("AccountType.BANK", "BANK"))
    payment = api.create_payment(
        tenant,
        Payment(
            invoice=Invoice(invoice_id=made.invoice_id), account=XeroAccount(code=bank.code), amount=100.0, date=date(2026, 11, 5)
        ),
    )
    assert payment.payments[0].amount == 100
    assert api.get_invoice(tenant, made.invoice_id).invoices[0].amount_due == 140
    assert len(api.get_payments(tenant).payments) == 1
    assert (
        api.create_payments(
            tenant,
            Payments(
                payments=[
                    Payment(
                        invoice=Invoice(invoice_id=made.invoice_id),
                        account=XeroAccount(code=bank.code),
                        amount=40.0,
                        date=date(2026, 11, 6),
                    )
                ]
            ),
        )
        .payments[0]
        .amount
        == 40
    )

    with pytest.raises(AccountingBadRequestException):
        api.create_items(tenant, Items(items=[Item(code="BOIL-1", name="Again")]))
