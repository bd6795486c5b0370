"""Sync Now in a real browser: the live progress bar follows the run of a small demo catalog to 100%."""

import pytest
from playwright.sync_api import expect

from integrations.models import ExternalLink, SyncRun
from tests.browser.conftest import connect_quickbooks, screenshot

pytestmark = pytest.mark.browser


def test_sync_now_shows_the_progress_bar_reaching_100(demo_page, site, worker):
    page = demo_page
    connect_quickbooks(page, site)
    page.get_by_role("button", name="Fetch accounts and map").click()
    page.get_by_label("Default income account").select_option(index=1)
    page.get_by_role("button", name="Save default").click()

    page.goto(f"{site}/settings/integrations/")
    page.get_by_role("button", name="Sync Now").click()

    manual = SyncRun.objects.filter(connection__organization=page.organization, trigger=SyncRun.Trigger.MANUAL)
    for _ in range(100):  # the click's request commits the run
        if manual.exists():
            break
        page.wait_for_timeout(100)
    run = manual.get()
    # The polled bar of this run, until the run ends.
    bar = page.locator(f"#run-progress-{run.pk}")
    expect(bar).to_contain_text("Succeeded", timeout=60_000)
    expect(bar.get_by_label("Sync progress")).to_have_attribute("value", "100")
    expect(bar).to_contain_text("(100%)")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED and run.done == run.total > 0
    # Setting the default account already sent the 40 items (mapping_changed); Sync Now sent the rest.
    assert not ExternalLink.objects.filter(connection=run.connection).exclude(status="synced").exists()
    assert ExternalLink.objects.filter(connection=run.connection, kind="invoice").count() == 4
    screenshot(page, "integrations-synced")
