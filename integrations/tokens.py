"""A valid access token for a connection, refreshed by one process at a time.

Concurrency (the rule DESIGN.md sets): a refresh happens inside `transaction.atomic()` holding
`SELECT ... FOR UPDATE` on the connection's Credential row. Whoever takes the lock second re-reads the
row and finds a fresh token, so N workers with an expired token make one refresh, and the rotated
refresh token is saved in the same transaction as the new access token (a crash after the provider
answered loses at worst that refresh, never stores half of it). The token request has a short timeout
because the lock is held meanwhile. On SQLite `select_for_update()` does nothing and the only lock is the
database's write lock (BEGIN IMMEDIATE), which must not be held across the token request (the built-in
sandbox answers it from the same file): there a file lock next to the database file serializes the
refreshers of one credential instead (_credential_lock). Several workers on several machines need
PostgreSQL (README).

invalid_grant: the row is read again (a process that does not take our lock, e.g. another deployment,
may have rotated it) and, when nothing changed, the connection is marked reconnect_required, the
organization's owners and admins are told once (Notification with a dedupe key, and an email), and
ReconnectRequired is raised: every surface shows its message.
"""

import contextlib
import fcntl
import logging
import os
import tempfile
from datetime import timedelta

from django import db
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from . import crypto, oauth
from .models import Connection, Credential, Notification
from .providers.base import InvalidGrant, ReconnectRequired, TokenSet

logger = logging.getLogger(__name__)

# Refresh this long before the access token expires, so a request never starts with a dying token.
REFRESH_MARGIN = timedelta(minutes=5)


def _fresh(credential, now=None):
    now = now or timezone.now()
    return bool(
        credential.access_token_encrypted
        and credential.access_token_expires_at
        and credential.access_token_expires_at - REFRESH_MARGIN > now
    )


def _reconnect_error(connection):
    return ReconnectRequired(connection.provider_name, provider=connection.provider)


def credential_store(*, connection, tokens: TokenSet):
    """Save a token set on the connection's Credential (created if missing), encrypted. Call it inside
    the caller's transaction (connect, refresh)."""
    now = timezone.now()
    values = {
        "access_token_encrypted": crypto.encrypt(tokens.access_token),
        "access_token_expires_at": now + timedelta(seconds=tokens.expires_in),
        "scope": tokens.scope or "",
        "refreshed_at": now,
    }
    if tokens.refresh_token:
        values["refresh_token_encrypted"] = crypto.encrypt(tokens.refresh_token)
        values["refresh_token_expires_at"] = (
            now + timedelta(seconds=tokens.refresh_expires_in) if tokens.refresh_expires_in else None
        )
    credential, _created = Credential.objects.update_or_create(connection=connection, defaults=values)
    return credential


def credential_clear(*, connection):
    """Forget the connection's tokens (disconnect)."""
    Credential.objects.filter(connection=connection).update(
        access_token_encrypted="",
        refresh_token_encrypted="",
        access_token_expires_at=None,
        refresh_token_expires_at=None,
        scope="",
    )


def get_access_token(connection, *, force_refresh=False) -> str:
    """A valid access token for `connection`.

    Without `force_refresh`: the stored token when it is valid for more than REFRESH_MARGIN, else a
    refresh under the row lock. With `force_refresh` (the provider answered 401): a refresh under the
    lock unless another process already replaced the token this call saw. Raises ReconnectRequired
    when the connection needs a person to reconnect.
    """
    token, _ = _access_token(connection, force_refresh=force_refresh, seen=None)
    return token


class _TokenProvider:
    """The callable adapters take: token_provider(force_refresh=False) -> str. It remembers which
    token it handed out, so a forced refresh after a 401 is skipped when another process already
    replaced exactly that token."""

    def __init__(self, connection):
        self.connection = connection
        self._seen = None

    def __call__(self, force_refresh=False):
        token, self._seen = _access_token(self.connection, force_refresh=force_refresh, seen=self._seen)
        return token

    def __repr__(self):
        return f"<token provider of connection {self.connection.pk}>"


def token_provider_for(connection):
    """The token provider the adapters take for `connection` (see providers.base.TokenProvider)."""
    return _TokenProvider(connection)


def _access_token(connection, *, force_refresh, seen):
    """(token, the ciphertext it came from)."""
    credential = Credential.objects.select_related("connection").filter(connection_id=connection.pk).first()
    if credential is None or credential.connection.status != Connection.Status.CONNECTED:
        _raise_unusable(connection)
    if not force_refresh and _fresh(credential):
        return crypto.decrypt(credential.access_token_encrypted), credential.access_token_encrypted
    if force_refresh:
        rejected = seen or credential.access_token_encrypted

        def must_refresh(locked):
            # Someone else replaced the token the provider rejected: use theirs.
            return locked.access_token_encrypted == rejected

    else:

        def must_refresh(locked):
            return not _fresh(locked)

    return _refresh_locked(connection, must_refresh)


class NotConnected(ReconnectRequired):
    """The connection was disconnected on purpose (or never finished): same handling, its own sentence."""

    def __init__(self, connection):
        super().__init__(connection.provider_name, provider=connection.provider)
        self.message = (
            f"{connection.provider_name} is not connected. Go to Settings → Integrations → Connect {connection.provider_name}."
        )
        self.args = (self.message,)


def _raise_unusable(connection):
    connection = Connection.objects.get(pk=connection.pk)
    if connection.status == Connection.Status.DISCONNECTED:
        raise NotConnected(connection)
    raise _reconnect_error(connection)


@contextlib.contextmanager
def _credential_lock(connection_pk):
    """Hold the one-refresher-at-a-time lock of a credential; yields the Credential read under it.

    PostgreSQL (and any database with row locks): SELECT ... FOR UPDATE inside transaction.atomic().
    SQLite: its only lock is the whole database's write lock, and holding it during the token request
    would stall every other writer, including the built-in sandbox answering that very request from
    the same file. So there an exclusive file lock next to the database file serializes refreshers of
    one credential across the processes of this machine (SQLite is one machine anyway), and each write
    is its own short transaction.
    """
    if db.connection.vendor != "sqlite":
        with transaction.atomic():
            yield Credential.objects.select_for_update().get(connection_id=connection_pk)
        return
    name = str(db.connection.settings_dict.get("NAME") or "")
    if not name or ":memory:" in name or name.startswith("file:"):
        name = os.path.join(tempfile.gettempdir(), f"blueclerk-{os.getpid()}")
    with open(f"{name}.credential-{connection_pk}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield Credential.objects.get(connection_id=connection_pk)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _refresh_locked(connection, must_refresh):
    """Refresh under the credential's lock when `must_refresh(credential)` still holds after the lock
    is taken. Returns (token, ciphertext); raises ReconnectRequired after marking the connection."""
    lost = False
    with _credential_lock(connection.pk) as credential:
        current = Connection.objects.get(pk=connection.pk)
        if current.status != Connection.Status.CONNECTED:
            lost = True
        elif not must_refresh(credential):
            return crypto.decrypt(credential.access_token_encrypted), credential.access_token_encrypted
        else:
            used = credential.refresh_token_encrypted
            try:
                tokens = oauth.refresh(current.provider, refresh_token=crypto.decrypt(used))
            except InvalidGrant:
                credential.refresh_from_db()
                if credential.refresh_token_encrypted != used and _fresh(credential):
                    # Rotated meanwhile by a process outside our lock: its token is good.
                    return crypto.decrypt(credential.access_token_encrypted), credential.access_token_encrypted
                with transaction.atomic():
                    connection_mark_reconnect_required(connection=current)
                lost = True
            else:
                # Same transaction as the lock on PostgreSQL (a savepoint); its own on SQLite.
                with transaction.atomic():
                    credential = credential_store(connection=current, tokens=tokens)
                    Credential.objects.filter(pk=credential.pk).update(refresh_count=F("refresh_count") + 1)
                logger.info("refreshed the %s access token of connection %s", current.provider, current.pk)
                return tokens.access_token, credential.access_token_encrypted
    # Only a lost grant gets here, after the lock is released: the mark and the notification are
    # committed before we raise.
    assert lost
    _raise_unusable(connection)


def connection_mark_reconnect_required(*, connection, reason=""):
    """Mark the connection reconnect_required (once) and tell the organization's owners and admins once.
    Runs in the caller's transaction; the email leaves after commit."""
    locked = Connection.objects.select_for_update().get(pk=connection.pk)
    if locked.status == Connection.Status.RECONNECT_REQUIRED:
        return locked
    now = timezone.now()
    locked.status = Connection.Status.RECONNECT_REQUIRED
    locked.reconnect_required_at = now
    locked.last_error = ReconnectRequired(locked.provider_name).message
    locked.save(update_fields=["status", "reconnect_required_at", "last_error", "updated_at"])
    logger.warning("connection %s (%s) needs to be reconnected%s", locked.pk, locked.provider, f": {reason}" if reason else "")
    _notify_admins(locked)
    return locked


def _notify_admins(connection):
    from blueclerk.models import Membership

    message = ReconnectRequired(connection.provider_name).message
    link = reverse("integrations:index")
    key = f"reconnect:{connection.pk}:{int(connection.reconnect_required_at.timestamp())}"
    try:
        with transaction.atomic():
            Notification.objects.create(
                organization_id=connection.organization_id,
                level=Notification.Level.ERROR,
                title=f"Reconnect {connection.provider_name}",
                message=message,
                link=link,
                connection=connection,
                dedupe_key=key,
            )
    except IntegrityError:
        return  # told already
    emails = list(
        Membership.objects.filter(
            organization_id=connection.organization_id, role__in=[Membership.Role.OWNER, Membership.Role.ADMIN]
        )
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    if not emails:
        return
    body = f"{message}\n\n{settings.SITE_URL.rstrip('/')}{link}\n\nUntil then, nothing is sent to or read from {connection.provider_name}."
    subject = f"BlueClerk: reconnect {connection.provider_name}"
    transaction.on_commit(lambda: send_mail(subject, body, None, emails, fail_silently=True))


def keep_alive(*, idle_after=timedelta(days=7), expiring_within=timedelta(days=14)):
    """Refresh connections whose refresh token would otherwise die unused (Xero: 60 days idle;
    QuickBooks: 100 days; FreshBooks and Wave rotate too), and find grants that are gone.
    Returns {"refreshed": n, "reconnect_required": n, "failed": n}."""
    now = timezone.now()
    counts = {"refreshed": 0, "reconnect_required": 0, "failed": 0}
    credentials = Credential.objects.filter(connection__status=Connection.Status.CONNECTED).exclude(refresh_token_encrypted="")
    for credential in credentials.select_related("connection"):
        idle = credential.refreshed_at is None or credential.refreshed_at < now - idle_after
        expiring = credential.refresh_token_expires_at is not None and credential.refresh_token_expires_at < now + expiring_within
        if not (idle or expiring):
            continue
        try:
            _refresh_locked(
                credential.connection,
                lambda cred: (
                    cred.refreshed_at is None
                    or cred.refreshed_at < now - idle_after
                    or (cred.refresh_token_expires_at is not None and cred.refresh_token_expires_at < now + expiring_within)
                ),
            )
            counts["refreshed"] += 1
        except ReconnectRequired:
            counts["reconnect_required"] += 1
        except Exception as exc:  # one provider being down must not stop the others
            logger.warning("keep-alive of connection %s failed: %s", credential.connection_id, exc)
            counts["failed"] += 1
    return counts
