"""Encryption of OAuth tokens at rest: cryptography's MultiFernet over settings.INTEGRATIONS_TOKEN_KEYS.

The first key encrypts; every key decrypts, so a new key is put first, `rotate_token_keys` re-encrypts
every credential under it, and the old key is removed afterwards. Keys are urlsafe-base64 32-byte
Fernet keys (`Fernet.generate_key()`). Nothing here logs or returns a token except to its caller.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class TokenDecryptionFailed(Exception):
    """A stored token could not be decrypted with any configured key (a key was removed too early)."""


@lru_cache(maxsize=4)
def _fernet(keys):
    if not keys:
        raise ImproperlyConfigured(
            "INTEGRATIONS_TOKEN_KEYS is empty: set it to one or more Fernet keys "
            '(python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())").'
        )
    try:
        return MultiFernet([Fernet(key.strip().encode()) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured("INTEGRATIONS_TOKEN_KEYS holds a value that is not a Fernet key.") from exc


def fernet():
    """The MultiFernet of the configured keys (first encrypts, all decrypt)."""
    return _fernet(tuple(k for k in settings.INTEGRATIONS_TOKEN_KEYS if k.strip()))


def encrypt(plaintext):
    """The token encrypted under the first key ("" stays "")."""
    if not plaintext:
        return ""
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext):
    """The token in clear ("" stays ""); TokenDecryptionFailed when no configured key opens it."""
    if not ciphertext:
        return ""
    try:
        return fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise TokenDecryptionFailed("A stored token cannot be decrypted with INTEGRATIONS_TOKEN_KEYS.") from None


def rotate(ciphertext):
    """The same token re-encrypted under the first key ("" stays "")."""
    if not ciphertext:
        return ""
    try:
        return fernet().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise TokenDecryptionFailed("A stored token cannot be decrypted with INTEGRATIONS_TOKEN_KEYS.") from None
