"""A revoked grant in a real browser: the red banner on staff pages, then Reconnect from it."""

import pytest
import requests
from playwright.sync_api import expect

from integrations.models import Connection
from tests.browser.conftest import connect_quickbooks

pytestmark = pytest.mark.browser

EXPIRED = "Your QuickBooks connection has expired. Go to Settings → Integrations → Reconnect QuickBooks."


def test_a_revoked_token_shows_the_red_banner_and_reconnects_from_it(logged_in, site, organization):
    page = logged_in
    connect_quickbooks(page, site)
    control = f"{site}/sandbox/quickbooks/_control"
    requests.post(control, json={"revoke_refresh_token": True, "expire_access_tokens": True}, timeout=10).raise_for_status()

    page.get_by_role("button", name="Import customers").click()

    # The health banner (the page may also carry the same sentence as the message of the failed click).
    banner = page.locator(".banner-red", has_text=EXPIRED, has=page.get_by_role("link", name="Reconnect QuickBooks"))
    expect(banner).to_be_visible()
    page.goto(f"{site}/invoices/")
    expect(banner).to_be_visible()
    banner.get_by_role("link", name="Reconnect QuickBooks").click()
    page.get_by_role("button", name="Reconnect QuickBooks").click()
    page.get_by_role("button", name="Approve").click()

    expect(page.locator(".banner-red")).to_have_count(0)
    assert Connection.objects.get(organization=organization, provider="quickbooks").is_usable
