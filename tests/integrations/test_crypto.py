"""Token encryption at rest: MultiFernet over INTEGRATIONS_TOKEN_KEYS, rotation, no plaintext in the DB."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection as db

from integrations import crypto
from integrations.models import Credential
from integrations.providers.base import TokenSet
from integrations.tokens import credential_store
from tests.factories import ConnectionFactory

ACCESS = "access-token-plaintext-0123456789"
REFRESH = "refresh-token-plaintext-9876543210"


@pytest.fixture
def keys(settings):
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.INTEGRATIONS_TOKEN_KEYS = [first]
    return first, second


def test_it_encrypts_with_the_first_key_and_decrypts_with_any(keys, settings):
    first, second = keys
    old = crypto.encrypt("secret")
    settings.INTEGRATIONS_TOKEN_KEYS = [second, first]
    new = crypto.encrypt("secret")

    assert crypto.decrypt(old) == crypto.decrypt(new) == "secret"
    assert Fernet(second.encode()).decrypt(new.encode()) == b"secret"
    settings.INTEGRATIONS_TOKEN_KEYS = [second]
    with pytest.raises(crypto.TokenDecryptionFailed):
        crypto.decrypt(old)


def test_it_refuses_to_work_without_keys(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.INTEGRATIONS_TOKEN_KEYS = []
    with pytest.raises(ImproperlyConfigured, match="INTEGRATIONS_TOKEN_KEYS"):
        crypto.encrypt("x")


@pytest.mark.django_db
def test_the_token_columns_hold_no_plaintext_token(keys):
    connection = ConnectionFactory()
    credential_store(connection=connection, tokens=TokenSet(access_token=ACCESS, refresh_token=REFRESH, expires_in=3600))

    with db.cursor() as cursor:
        cursor.execute(
            "SELECT access_token_encrypted, refresh_token_encrypted, scope FROM integrations_credential WHERE connection_id = %s",
            [connection.pk],
        )
        row = cursor.fetchone()
    raw = " ".join(row)
    assert ACCESS not in raw and REFRESH not in raw
    assert row[0] and row[1]
    credential = Credential.objects.get(connection=connection)
    assert ACCESS not in repr(credential) and ACCESS not in str(credential)
    assert ACCESS not in repr(TokenSet(access_token=ACCESS, refresh_token=REFRESH, expires_in=1))


@pytest.mark.django_db
def test_rotate_token_keys_re_encrypts_under_the_new_first_key(keys, settings, capsys):
    first, second = keys
    connection = ConnectionFactory()
    credential_store(connection=connection, tokens=TokenSet(access_token=ACCESS, refresh_token=REFRESH, expires_in=3600))
    settings.INTEGRATIONS_TOKEN_KEYS = [second, first]

    call_command("rotate_token_keys")

    settings.INTEGRATIONS_TOKEN_KEYS = [second]  # the old key can go now
    credential = Credential.objects.get(connection=connection)
    assert crypto.decrypt(credential.access_token_encrypted) == ACCESS
    assert crypto.decrypt(credential.refresh_token_encrypted) == REFRESH
    assert "1 connection(s)" in capsys.readouterr().out
