"""Secrets stay secret: tokens encrypted at rest, and no token, client secret or Authorization header value
in any log line written during a full sync against the sandbox (every logger at DEBUG)."""

import datetime
import logging
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.db import connection as db_connection

from integrations.crypto import decrypt
from integrations.models import Credential, ExternalLink, SyncRun
from integrations.services.sync import sync_now
from invoices import services as invoice_services
from tests.drills.sandbox import control, make_items, run_to_end

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


class Everything(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines = []

    def emit(self, record):
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self.lines.append(f"{record.name}: {text}")


@pytest.fixture
def all_logs():
    """Attach one handler to the root and to every logger that exists, all at DEBUG."""
    handler = Everything()
    loggers = [logging.getLogger()] + [
        logging.getLogger(name)
        for name in list(logging.root.manager.loggerDict)
        if isinstance(logging.root.manager.loggerDict[name], logging.Logger)
    ]
    saved = [(lg, lg.level, lg.disabled) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.disabled = False
    logging.getLogger().addHandler(handler)
    for lg in loggers[1:]:
        if not lg.propagate:
            lg.addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)
    for lg, level, disabled in saved:
        lg.setLevel(level)
        lg.disabled = disabled
        if handler in lg.handlers:
            lg.removeHandler(handler)


@pytest.mark.parametrize("provider", ["quickbooks", "xero"])
def test_a_full_sync_logs_no_token_secret_or_authorization_value(
    connect, enqueued, organization, all_logs, provider, live_server
):
    connection = connect(provider)
    minted = connection.minted
    items = make_items(organization, 5)
    customer = invoice_services.customer_create(organization=organization, display_name="Harbor Dental")
    invoice = invoice_services.invoice_create(
        organization=organization, customer=customer, lines=[{"item": items[0], "quantity": "1"}]
    )
    invoice_services.invoice_mark_sent(invoice=invoice)
    invoice_services.payment_record(invoice=invoice, amount=Decimal("2.00"), date=datetime.date.today())
    # Force a refresh mid-run too, so the token request and its answer pass through the loggers.
    control(live_server.url, provider, method="post", expire_access_tokens=True)

    run = run_to_end(sync_now(connection=connection).pk)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert ExternalLink.objects.filter(connection=connection, status=ExternalLink.Status.SYNCED).count() == 8
    assert all_logs.lines, "the capture must see the sync's log lines"
    credential = Credential.objects.get(connection=connection)
    current_access, current_refresh = decrypt(credential.access_token_encrypted), decrypt(credential.refresh_token_encrypted)
    secrets = {
        "minted access token": minted["access_token"],
        "minted refresh token": minted["refresh_token"],
        "current access token": current_access,
        "current refresh token": current_refresh,
        "client secret": django_settings.PROVIDER_SETTINGS[provider]["client_secret"],
    }
    assert current_refresh != minted["refresh_token"], "the run must have refreshed"
    text = "\n".join(all_logs.lines)
    for what, value in secrets.items():
        assert value and value not in text, f"{what} found in the logs"
    assert "Bearer " not in text and "Basic " not in text


def test_tokens_are_encrypted_at_rest(connect):
    connection = connect("quickbooks")
    with db_connection.cursor() as cursor:
        cursor.execute(
            f"SELECT access_token_encrypted, refresh_token_encrypted FROM {Credential._meta.db_table} WHERE connection_id = %s",
            [connection.pk],
        )
        access_raw, refresh_raw = cursor.fetchone()
    assert access_raw and refresh_raw
    for raw in (access_raw, refresh_raw):
        assert connection.minted["access_token"] not in raw
        assert connection.minted["refresh_token"] not in raw
