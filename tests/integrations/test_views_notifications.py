"""Notifications: the list, mark read (one or all, per person), the unread count in every staff page's header."""

import pytest
from django.urls import reverse

from integrations.models import Notification
from tests.factories import MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


def notify(organization, title, **kwargs):
    return Notification.objects.create(organization=organization, title=title, **kwargs)


def test_the_header_shows_the_unread_count_on_every_staff_page(staff_client, organization):
    notify(organization, "Sync to Xero finished with failures")
    notify(organization, "QuickBooks connection expired")
    notify(OrganizationFactory(), "Someone else's trouble")

    for page in ("invoice_list", "customer_list", "item_list", "settings", "integrations:index"):
        html = staff_client.get(reverse(page)).content.decode()
        assert f'<a class="bell" href="{reverse("integrations:notifications")}"' in html
        assert '<span class="badge">2</span>' in html


def test_the_list_shows_the_organizations_notifications_newest_first(staff_client, organization):
    notify(organization, "First problem", message="3 items failed.", link="/settings/integrations/#xero")
    notify(organization, "Second problem")
    notify(OrganizationFactory(), "Someone else's trouble")

    html = staff_client.get(reverse("integrations:notifications")).content.decode()

    assert html.index("Second problem") < html.index("First problem")
    assert "3 items failed." in html and 'href="/settings/integrations/#xero"' in html
    assert "Someone else" not in html


def test_marking_one_read_is_per_person(staff_client, member, organization):
    read = notify(organization, "Read me")
    unread = notify(organization, "Leave me")
    colleague = MembershipFactory(organization=organization).user

    staff_client.post(reverse("integrations:notifications_read"), {"notification": read.pk})

    assert list(read.read_by.all()) == [member]
    assert not unread.read_by.exists()
    html = staff_client.get(reverse("invoice_list")).content.decode()
    assert '<span class="badge">1</span>' in html
    assert colleague not in read.read_by.all()


def test_mark_all_read_empties_the_count(staff_client, organization):
    notify(organization, "One")
    notify(organization, "Two")

    response = staff_client.post(reverse("integrations:notifications_read"), follow=True)

    html = response.content.decode()
    assert 'class="badge">' not in html.split("</header>")[0]
    assert "Mark all read" not in html


def test_another_organizations_notification_cannot_be_marked(staff_client, member):
    foreign = notify(OrganizationFactory(), "Not yours")

    staff_client.post(reverse("integrations:notifications_read"), {"notification": foreign.pk})

    assert not foreign.read_by.exists()


def test_signed_out_visitors_see_no_bell(client):
    assert 'class="bell"' not in client.get(reverse("login")).content.decode()
