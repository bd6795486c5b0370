"""python-quickbooks (with Intuit's intuitlib for OAuth), unchanged but for its URLs, against the sandbox."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from intuitlib.client import AuthClient
from intuitlib.enums import Scopes
from quickbooks import QuickBooks
from quickbooks.batch import batch_create
from quickbooks.exceptions import QuickbooksException
from quickbooks.objects.account import Account
from quickbooks.objects.base import LinkedTxn
from quickbooks.objects.customer import Customer
from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.item import Item
from quickbooks.objects.payment import Payment, PaymentLine

pytestmark = pytest.mark.django_db(transaction=True)

REDIRECT = "http://localhost/callback"


def connect(base):
    """The OAuth dance as a user would do it: intuitlib's authorize URL, the consent page, the code."""
    auth = AuthClient(
        client_id="sandbox-client",
        client_secret="sandbox-secret",
        redirect_uri=REDIRECT,
        environment=f"{base}/sandbox/quickbooks/.well-known/openid_configuration",
    )
    url = auth.get_authorization_url([Scopes.ACCOUNTING])
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert requests.get(url, timeout=10).status_code == 200
    page_action = url.split("?")[0]
    realm = requests.get(f"{base}/sandbox/quickbooks/_control", timeout=10).json()["companies"][0]["id"]
    approved = requests.post(
        page_action, data={**params, "action": "approve", "company": realm}, allow_redirects=False, timeout=10
    )
    callback = parse_qs(urlsplit(approved.headers["Location"]).query)
    assert callback["state"] == [auth.state_token] and callback["realmId"] == [realm]
    auth.get_bearer_token(callback["code"][0], realm_id=realm)
    return auth, realm


def test_python_quickbooks_works_against_the_sandbox(live_server, settings, monkeypatch):
    settings.SITE_URL = live_server.url
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the live server speaks plain http
    requests.post(f"{live_server.url}/sandbox/quickbooks/_control", json={"limits": {"per_second": None}}, timeout=10)
    auth, realm = connect(live_server.url)
    first_refresh = auth.refresh_token
    auth.access_token = None  # make the client refresh on start, as after a restart
    client = QuickBooks(auth_client=auth, refresh_token=first_refresh, company_id=realm, minorversion=75)
    assert client.refresh_token != first_refresh  # rotated
    client.api_url_v3 = f"{live_server.url}/sandbox/quickbooks/v3"

    income = Account.filter(AccountType="Income", qb=client)[0]
    item = Item()
    item.Name, item.Type, item.UnitPrice = "Boiler service", "Service", 120
    item.IncomeAccountRef = income.to_ref()
    item = item.save(qb=client)
    assert item.Id and str(item.SyncToken) == "0"
    item.UnitPrice = 135
    item = item.save(qb=client)
    assert Item.get(item.Id, qb=client).UnitPrice == 135

    customer = Customer()
    customer.DisplayName = "Hopper Heating"
    customer = customer.save(qb=client)
    customer.CompanyName = "Hopper Heating LLC"
    customer = customer.save(qb=client)
    assert Customer.filter(DisplayName="Hopper Heating", qb=client)[0].CompanyName == "Hopper Heating LLC"

    line = SalesItemLine()
    line.Amount = 270
    line.SalesItemLineDetail = SalesItemLineDetail()
    line.SalesItemLineDetail.ItemRef = item.to_ref()
    line.SalesItemLineDetail.Qty = 2
    line.SalesItemLineDetail.UnitPrice = 135
    invoice = Invoice()
    invoice.CustomerRef = customer.to_ref()
    invoice.Line.append(line)
    invoice.DocNumber = "A-100"
    invoice = invoice.save(qb=client)
    assert invoice.TotalAmt == 270 and invoice.Balance == 270
    invoice.PrivateNote = "Second visit"
    invoice = invoice.save(qb=client)

    payment = Payment()
    payment.CustomerRef = customer.to_ref()
    payment.TotalAmt = 100
    payment_line = PaymentLine()
    payment_line.Amount = 100
    linked = LinkedTxn()
    linked.TxnId, linked.TxnType = invoice.Id, "Invoice"
    payment_line.LinkedTxn.append(linked)
    payment.Line.append(payment_line)
    payment = payment.save(qb=client)
    payment.PrivateNote = "Check 1001"
    payment = payment.save(qb=client)
    assert Invoice.get(invoice.Id, qb=client).Balance == 170

    duplicate = Item()
    duplicate.Name, duplicate.Type, duplicate.IncomeAccountRef = "Boiler service", "Service", income.to_ref()
    with pytest.raises(QuickbooksException) as error:
        duplicate.save(qb=client)
    assert error.value.error_code == 6240

    batch_items = []
    for n in range(3):
        new = Item()
        new.Name, new.Type, new.IncomeAccountRef = f"Batch part {n}", "Service", income.to_ref()
        batch_items.append(new)
    results = batch_create(batch_items, qb=client)
    assert len(results.successes) == 3 and not results.faults
    assert Item.count(qb=client) == 4
