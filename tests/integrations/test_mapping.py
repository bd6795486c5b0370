"""Account mapping: default account plus per-item choices; mapping_changed names the items to resend."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from integrations.models import Connection, IncomeAccount, ItemAccountMapping
from integrations.services import item_account_set, mapping_save
from integrations.signals import mapping_changed
from tests.factories import ConnectionFactory, ItemFactory, MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection(organization):
    return ConnectionFactory(organization=organization, provider="quickbooks")


@pytest.fixture
def accounts(connection):
    return [
        IncomeAccount.objects.create(connection=connection, remote_id=str(n), name=name)
        for n, name in enumerate(["Services", "Parts", "Maintenance plans"], start=1)
    ]


@pytest.fixture
def sent(monkeypatch):
    calls = []

    def receiver(sender, *, connection_id, item_ids, **kwargs):
        calls.append((connection_id, item_ids))

    mapping_changed.connect(receiver, dispatch_uid="test_mapping_receiver")
    yield calls
    mapping_changed.disconnect(dispatch_uid="test_mapping_receiver")


def test_a_new_default_account_resends_every_item_without_its_own_account(
    connection, accounts, sent, organization, django_capture_on_commit_callbacks
):
    own, plain_a, plain_b = (ItemFactory(organization=organization) for _ in range(3))
    ItemAccountMapping.objects.create(connection=connection, item=own, income_account=accounts[1])

    with django_capture_on_commit_callbacks(execute=True):
        changed = mapping_save(connection=connection, default_account_id=accounts[0].pk)

    assert changed == sorted([plain_a.pk, plain_b.pk])
    assert sent == [(connection.pk, changed)]
    connection.refresh_from_db()
    assert connection.default_income_account == accounts[0]
    assert connection.wizard["accounts"] == "done"


def test_a_per_item_choice_resends_only_that_item(connection, accounts, sent, organization, django_capture_on_commit_callbacks):
    mapping_save(connection=connection, default_account_id=accounts[0].pk)
    item, other = ItemFactory(organization=organization), ItemFactory(organization=organization)
    sent.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert item_account_set(connection=connection, item_id=item.pk, account_id=accounts[2].pk) == [item.pk]
        # Choosing the account it already had changes nothing and sends nothing.
        assert item_account_set(connection=connection, item_id=item.pk, account_id=accounts[2].pk) == []
        # Back to the default: it changes again.
        assert item_account_set(connection=connection, item_id=item.pk, account_id=None) == [item.pk]

    assert sent == [(connection.pk, [item.pk]), (connection.pk, [item.pk])]
    assert not ItemAccountMapping.objects.filter(item=other).exists()


def test_nothing_is_sent_when_the_save_fails(connection, accounts, sent, organization, django_capture_on_commit_callbacks):
    other_connection = ConnectionFactory(provider="xero")
    foreign = IncomeAccount.objects.create(connection=other_connection, remote_id="200", name="Sales")
    item = ItemFactory(organization=organization)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError, match="Choose one of the income"):
        mapping_save(connection=connection, item_accounts={item.pk: foreign.pk})
    with pytest.raises(ValidationError, match="not in your catalog"):
        mapping_save(connection=connection, item_accounts={ItemFactory().pk: accounts[0].pk})

    assert sent == []
    assert not ItemAccountMapping.objects.exists()


def test_the_mapping_grid_autosaves_one_item(client, organization, connection, accounts):
    client.force_login(MembershipFactory(organization=organization, role="admin").user)
    item = ItemFactory(organization=organization, name="Camera inspection")
    page = client.get(reverse("integrations:mapping", args=["quickbooks"]))
    assert "Camera inspection" in page.content.decode() and "Maintenance plans" in page.content.decode()

    response = client.post(
        reverse("integrations:mapping_item", args=["quickbooks", item.pk]), {"account": accounts[1].pk}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200 and "Saved" in response.content.decode()
    assert ItemAccountMapping.objects.get(connection=connection, item=item).income_account == accounts[1]


def test_the_default_account_form_saves(client, organization, connection, accounts):
    client.force_login(MembershipFactory(organization=organization, role="owner").user)

    client.post(reverse("integrations:mapping", args=["quickbooks"]), {"default_account": accounts[2].pk})

    assert Connection.objects.get(pk=connection.pk).default_income_account == accounts[2]


def test_staff_cannot_change_the_mapping(client, organization, connection, accounts):
    client.force_login(MembershipFactory(organization=organization, role="staff").user)
    item = ItemFactory(organization=organization)

    response = client.post(reverse("integrations:mapping_item", args=["quickbooks", item.pk]), {"account": accounts[0].pk})

    assert response.status_code == 403
    assert not ItemAccountMapping.objects.exists()


def test_another_organizations_connection_is_not_found(client, accounts):
    client.force_login(MembershipFactory(role="owner").user)

    assert client.get(reverse("integrations:mapping", args=["quickbooks"])).status_code == 404
