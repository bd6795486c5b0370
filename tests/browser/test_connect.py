"""Connecting QuickBooks in a real browser: the sandbox consent page, then the setup wizard to the mapping."""

import pytest
from playwright.sync_api import expect

from integrations.models import Connection, IncomeAccount
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


def test_connect_quickbooks_and_finish_the_wizard(logged_in, site, organization):
    page = logged_in
    page.goto(f"{site}/settings/integrations/")
    page.get_by_role("button", name="Connect QuickBooks").click()

    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("heading", name="Set up QuickBooks")).to_be_visible()
    page.get_by_role("button", name="Import customers").click()
    expect(page.locator("#step-customers")).to_contain_text("Done")
    page.get_by_role("button", name="Import items").click()
    expect(page.locator("#step-items")).to_contain_text("Done")
    page.get_by_role("button", name="Fetch accounts and map").click()

    expect(page.get_by_role("heading", name="QuickBooks account mapping")).to_be_visible()
    connection = Connection.objects.get(organization=organization, provider="quickbooks")
    assert connection.is_usable and IncomeAccount.objects.filter(connection=connection).exists()
    page.goto(f"{site}/settings/integrations/")
    expect(page.get_by_text("Connected", exact=True).first).to_be_visible()
    screenshot(page, "integrations")
