"""Browser tests: Playwright drives Debian's chromium (never a downloaded browser) against a live server.

The live server runs on the test database (transactional_db on PostgreSQL, since the server thread must
see the committed rows) with SITE_URL set to it, so the sandbox providers answer from the same server.
Users are logged in by handing the browser a session cookie made by Django's test client.
"""

import os
import threading
from pathlib import Path

import django_q.tasks
import pytest
from django.conf import settings as django_settings
from django.db import connections
from django.test import Client

from blueclerk.demo import seed_demo
from blueclerk.models import Membership
from integrations import tasks
from integrations.sync import throttle
from tests.factories import MembershipFactory

# Playwright's sync API runs an event loop in this thread; the ORM calls made by the tests are plain
# synchronous calls between browser steps.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture
def site(transactional_db, live_server, settings):
    """The live server's URL, with SITE_URL pointing at it (sandbox redirect URIs and provider URLs)."""
    settings.SITE_URL = live_server.url
    yield live_server.url
    throttle.close_all_connections()


@pytest.fixture
def owner(transactional_db, organization):
    return MembershipFactory(organization=organization, role="owner").user


@pytest.fixture
def logged_in(page, site, owner):
    """The browser page, logged in as the organization's owner."""
    client = Client()
    client.force_login(owner)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": site}])
    return page


def screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def connect_quickbooks(page, site):
    """Connect QuickBooks from the integrations page through the sandbox consent page (Approve)."""
    page.goto(f"{site}/settings/integrations/")
    page.get_by_role("button", name="Connect QuickBooks").click()
    page.get_by_role("button", name="Approve").click()
    page.get_by_role("heading", name="Set up QuickBooks").wait_for()


@pytest.fixture
def worker(monkeypatch):
    """The django-q2 worker does not run in tests: a queued sync run executes in a thread, as a worker would."""
    threads = []

    def async_task(func, *args, **kwargs):
        assert func == "integrations.tasks.sync_run", func

        def work():
            try:
                tasks.sync_run(*args)
            finally:
                connections.close_all()

        thread = threading.Thread(target=work, daemon=True)
        threads.append(thread)
        thread.start()

    monkeypatch.setattr(django_q.tasks, "async_task", async_task)
    yield threads
    for thread in threads:
        thread.join(timeout=120)


@pytest.fixture
def demo_page(page, site, transactional_db):
    """Logged in as the owner of a small demo organization (the demo seed, fewer records)."""
    report = seed_demo(slug="demo", items=40, customers=8, invoices=4)
    user = Membership.objects.get(organization=report.organization, role="owner").user
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": site}])
    page.organization = report.organization
    return page


def setup_quickbooks(page, site):
    """Connect QuickBooks, fetch its income accounts and choose the first as the default."""
    connect_quickbooks(page, site)
    page.get_by_role("button", name="Fetch accounts and map").click()
    page.get_by_label("Default income account").select_option(index=1)
    page.get_by_role("button", name="Save default").click()
