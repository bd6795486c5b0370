"""Connect, reconnect, choose the company, disconnect: what the Settings → Integrations pages and the
`connect_provider` command call.

The OAuth `state` is bound to the browser session and the organization (integrations.oauth.state_*):
a callback whose state is missing, replayed, too old or issued for another organization is refused
before any code is exchanged. Reconnecting updates the same Connection row, so every ExternalLink,
mapping and cursor survives and nothing is created twice afterwards. Connecting another company of the
same provider while records are linked to the first one is refused: they would point at the wrong books.
Once a Xero or Wave connection is stored, its bank accounts are fetched and the first becomes the default
deposit account when none is chosen (services.deposit); once a FreshBooks connection is stored, its
webhook callbacks are registered in a task, and deleted again on disconnect (services.freshbooks_webhooks).
"""

import json
import time
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .. import crypto, identity, oauth
from .. import tokens as token_store
from ..models import Connection, Credential, ExternalLink, IncomeAccount, ItemAccountMapping, Provider, SyncCursor
from ..providers.base import Company, ProviderError, TokenSet
from ..providers.config import provider_config
from ..providers.registry import adapter_class, build_adapter
from . import deposit, freshbooks_webhooks

PENDING_SESSION_KEY = "integrations_pending_choice"
PENDING_MAX_AGE = 15 * 60


@dataclass
class ConnectOutcome:
    """What the callback led to: a connection, or companies the user must choose from (Xero tenants,
    FreshBooks businesses, Wave businesses when the grant reaches several)."""

    connection: Connection | None = None
    choices: list[Company] = field(default_factory=list)


def adapter_for(connection, *, timeout=30.0):
    """The provider adapter for a connection, with its token provider and shared throttle."""
    from ..sync.throttle import throttle_for

    cls = adapter_class(connection.provider)
    return build_adapter(
        connection.provider,
        config=provider_config(connection.provider),
        company_id=connection.company_id,
        token_provider=token_store.token_provider_for(connection),
        throttle=throttle_for(connection, adapter_class=cls),
        timeout=timeout,
    )


def _check_provider(provider):
    if provider not in Provider.values:
        raise ValidationError(f"Unknown accounting provider '{provider}'.")


def connection_begin(*, organization, provider, session):
    """The provider's consent URL for this organization; the state is remembered in `session`."""
    _check_provider(provider)
    config = provider_config(provider)
    if not config.client_id:
        raise ValidationError(
            f"{config.display_name} is not configured: set {provider.upper()}_CLIENT_ID and {provider.upper()}_CLIENT_SECRET "
            "(or PROVIDER_SANDBOX=true to try the built-in sandbox)."
        )
    state = oauth.state_issue(session, organization_id=organization.pk, provider=provider)
    return oauth.authorization_url(provider, state=state, config=config)


def connection_finish(*, organization, provider, user, session, params):
    """Handle the OAuth callback `params` (the query string as a dict). Returns a ConnectOutcome;
    raises ValidationError with a sentence for the user (refused state, consent denied, provider error)."""
    _check_provider(provider)
    display = provider_config(provider).display_name
    try:
        oauth.state_consume(session, state=params.get("state", ""), organization_id=organization.pk, provider=provider)
    except oauth.OAuthStateError as exc:
        raise ValidationError(exc.message) from None
    if params.get("error"):
        if params["error"] == "access_denied":
            raise ValidationError(f"{display} was not connected: the access request was declined.")
        raise ValidationError(f"{display} was not connected: {display} answered '{params['error']}'.")
    if not params.get("code"):
        raise ValidationError(f"{display} was not connected: the answer carried no authorization code.")
    try:
        token_set = oauth.exchange_code(provider, code=params["code"])
        companies = identity.companies_reached(provider, access_token=token_set.access_token, callback_params=params)
    except ProviderError as exc:
        raise ValidationError(f"{display} was not connected: {exc.message}") from None
    if not companies:
        raise ValidationError(f"{display} was not connected: the access you granted reaches no company.")
    existing = Connection.objects.filter(organization=organization, provider=provider).first()
    if len(companies) > 1 and existing and existing.company_id:
        # Reconnecting: the company already linked is the one to keep.
        same = [c for c in companies if c.id == existing.company_id]
        companies = same or companies
    if len(companies) == 1:
        return ConnectOutcome(
            connection=connection_save(
                organization=organization, provider=provider, tokens=token_set, company=companies[0], user=user
            )
        )
    session[PENDING_SESSION_KEY] = {
        "organization_id": organization.pk,
        "provider": provider,
        "issued": time.time(),
        # Encrypted like the stored credentials: the session lives in the database.
        "tokens": crypto.encrypt(json.dumps(_token_dict(token_set))),
        "companies": [{"id": c.id, "name": c.name, "details": c.details} for c in companies],
    }
    return ConnectOutcome(choices=companies)


def _token_dict(token_set):
    return {
        "access_token": token_set.access_token,
        "refresh_token": token_set.refresh_token,
        "expires_in": token_set.expires_in,
        "refresh_expires_in": token_set.refresh_expires_in,
        "scope": token_set.scope,
    }


def pending_choices(*, organization, provider, session):
    """The companies waiting for the user's choice after a callback ([] when none or expired)."""
    pending = session.get(PENDING_SESSION_KEY) or {}
    if (
        pending.get("organization_id") != organization.pk
        or pending.get("provider") != provider
        or time.time() - pending.get("issued", 0) > PENDING_MAX_AGE
    ):
        return []
    return [Company(id=c["id"], name=c["name"], details=c.get("details") or {}) for c in pending["companies"]]


def connection_choose(*, organization, provider, user, session, company_id):
    """Finish a connection with the company the user chose among the pending ones."""
    choices = pending_choices(organization=organization, provider=provider, session=session)
    if not choices:
        raise ValidationError("This choice has expired. Start again with Connect.")
    chosen = next((c for c in choices if c.id == str(company_id)), None)
    if chosen is None:
        raise ValidationError("Choose one of the listed organizations.")
    pending = session.pop(PENDING_SESSION_KEY)
    token_set = TokenSet(**json.loads(crypto.decrypt(pending["tokens"])))
    return connection_save(organization=organization, provider=provider, tokens=token_set, company=chosen, user=user)


def connection_save(*, organization, provider, tokens: TokenSet, company: Company, user=None):
    """Store a grant for `company` as the organization's connection to `provider` (created, or the
    existing row reconnected: links, mappings and cursors are kept). Then, for Xero and Wave, fetch
    the bank accounts and choose the default deposit account if none is chosen (best effort, after
    the commit: a provider that cannot be asked does not undo the connection); for FreshBooks, enqueue
    the registration of its webhook callbacks (services.freshbooks_webhooks)."""
    connection = _connection_store(organization=organization, provider=provider, tokens=tokens, company=company, user=user)
    freshbooks_webhooks.callbacks_register_later(connection=connection)
    return deposit.deposit_account_default(connection=connection)


@transaction.atomic
def _connection_store(*, organization, provider, tokens, company, user):
    _check_provider(provider)
    _lock_credential(Credential.objects.filter(connection__organization=organization, connection__provider=provider))
    connection = Connection.objects.select_for_update().filter(organization=organization, provider=provider).first()
    if connection is None:
        connection = Connection(organization=organization, provider=provider)
    elif connection.company_id and connection.company_id != company.id:
        if connection.links.exclude(remote_id=None).exists():
            raise ValidationError(
                f"This organization's records are linked to the {connection.provider_name} company "
                f"'{connection.company_name or connection.company_id}'. Reconnect with that company, or disconnect "
                f"and choose to forget the synced records before connecting '{company.name}'."
            )
        _forget_company_data(connection)
    connection.company_id = company.id
    connection.company_name = company.name
    connection.details = {**(connection.details or {}), **(company.details or {})}
    connection.status = Connection.Status.CONNECTED
    connection.connected_by = user if user is not None and user.is_authenticated else connection.connected_by
    connection.connected_at = timezone.now()
    connection.disconnected_at = None
    connection.reconnect_required_at = None
    connection.last_error = ""
    connection.save()
    token_store.credential_store(connection=connection, tokens=tokens)
    return connection


def _lock_credential(credentials):
    """Lock order everywhere: the Credential row, then the Connection row (integrations.tokens takes
    them in that order when a refresh meets invalid_grant), so a reconnect racing a refresh queues
    instead of deadlocking."""
    return list(credentials.select_for_update(of=("self",)))


def _forget_company_data(connection):
    """Everything that only makes sense for the company the connection was made with."""
    ExternalLink.objects.filter(connection=connection).delete()
    SyncCursor.objects.filter(connection=connection).delete()
    ItemAccountMapping.objects.filter(connection=connection).delete()
    connection.default_income_account = None
    IncomeAccount.objects.filter(connection=connection).delete()
    connection.wizard = {}
    company_keys = (*deposit.DETAIL_KEYS, *freshbooks_webhooks.DETAIL_KEYS)
    connection.details = {k: v for k, v in (connection.details or {}).items() if k not in company_keys}


def connection_disconnect(*, connection, forget_records=False):
    """Revoke the grant at the provider (best effort), forget the tokens, mark the connection
    disconnected. Links stay, so a later reconnect to the same company creates nothing twice, unless
    `forget_records` (then the next connection starts from scratch)."""
    credential = getattr(connection, "credential", None)
    refresh_token = ""
    if credential is not None:
        try:
            refresh_token = crypto.decrypt(credential.refresh_token_encrypted)
        except crypto.TokenDecryptionFailed:
            refresh_token = ""
    # HTTP outside the transaction: a slow provider must not hold the row. FreshBooks callbacks go
    # first, while the grant still works.
    freshbooks_webhooks.callbacks_delete(connection=connection)
    oauth.revoke(connection.provider, token=refresh_token)
    with transaction.atomic():
        _lock_credential(Credential.objects.filter(connection_id=connection.pk))
        locked = Connection.objects.select_for_update().get(pk=connection.pk)
        token_store.credential_clear(connection=locked)
        if forget_records:
            _forget_company_data(locked)
            locked.company_id = ""
            locked.company_name = ""
            locked.details = {}
        locked.status = Connection.Status.DISCONNECTED
        locked.disconnected_at = timezone.now()
        locked.last_error = ""
        locked.save()
    return locked
