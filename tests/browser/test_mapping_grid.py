"""The account mapping grid in a real browser: a select saves by itself (htmx) and survives a reload."""

import pytest
from playwright.sync_api import expect

from integrations.models import IncomeAccount, ItemAccountMapping
from tests.browser.conftest import screenshot
from tests.factories import ConnectionFactory, ItemFactory

pytestmark = pytest.mark.browser


def test_a_changed_mapping_is_saved_without_a_save_button(logged_in, site, organization):
    page = logged_in
    connection = ConnectionFactory(organization=organization, provider="quickbooks")
    accounts = [
        IncomeAccount.objects.create(connection=connection, remote_id=str(n), name=name)
        for n, name in enumerate(["Services", "Parts", "Maintenance plans"], start=1)
    ]
    for name in ["Drain cleaning", "Water heater install", "Camera inspection"]:
        ItemFactory(organization=organization, name=name)

    page.goto(f"{site}/settings/integrations/quickbooks/mapping/")
    page.get_by_label("Income account of Camera inspection").select_option(label=str(accounts[1]))
    expect(page.locator("text=Saved")).to_be_visible()

    page.reload()
    expect(page.get_by_label("Income account of Camera inspection")).to_have_value(str(accounts[1].pk))
    assert ItemAccountMapping.objects.get(connection=connection, item__name="Camera inspection").income_account == accounts[1]
    screenshot(page, "mapping-grid")
