"""OAuth2 with the four providers (requests-oauthlib): authorization URL, code exchange, refresh, revoke,
and the `state` that binds a consent to one browser session and one organization.

Provider differences (FACTS.md): QuickBooks and Xero take the client credentials by HTTP Basic;
FreshBooks takes a JSON body and wants `redirect_uri` on refresh too; Wave takes a form body. The
QuickBooks callback carries `realmId`. Every token call has a short timeout, because tokens.py makes it
while holding the credential's row lock.

Errors: `invalid_grant` raises providers.base.InvalidGrant; other OAuth errors (invalid_client, ...)
raise a permanent ProviderError with a sentence a person can act on; 5xx, 429, timeouts and refused
connections raise TransientError. Tokens never appear in a message or a log line.
"""

import logging
import os
import secrets
import time
from urllib.parse import parse_qsl, urlsplit

import requests
from django.conf import settings
from django.urls import reverse
from oauthlib.oauth2.rfc6749 import errors as oauth_errors
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from .providers.base import InvalidGrant, MalformedResponse, ProviderError, TokenSet, TransientError
from .providers.config import provider_config

# Seconds: (connect, read). Short on purpose: a refresh runs while the credential row is locked.
TOKEN_TIMEOUT = (3.05, 10)
STATE_SESSION_KEY = "integrations_oauth_states"


# requests-oauthlib and oauthlib log request and answer bodies (tokens) at DEBUG: never let them. The
# filter holds even when a logging configuration turns these loggers (or every logger) to DEBUG.
def _no_token_bodies(record):
    return record.levelno >= logging.WARNING


# A logger's filter does not see its children's records, so every module logger gets it (they exist
# once the libraries are imported, above).
for _name in ("requests_oauthlib", "oauthlib"):
    logging.getLogger(_name).setLevel(logging.WARNING)
for _name in [n for n in list(logging.root.manager.loggerDict) if n.split(".")[0] in ("requests_oauthlib", "oauthlib")]:
    logging.getLogger(_name).addFilter(_no_token_bodies)
STATE_MAX_AGE = 15 * 60
BASIC_AUTH = {"quickbooks", "xero"}
JSON_BODY = {"freshbooks"}


class OAuthStateError(Exception):
    """The callback's `state` is missing, unknown, used already, too old, or issued for another
    organization or provider: the consent is refused. `message` is for the user."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def redirect_uri(provider):
    """The callback URL registered with the provider: SITE_URL + /settings/integrations/<p>/callback/."""
    return settings.SITE_URL.rstrip("/") + reverse("integrations:callback", kwargs={"provider": provider})


def _allow_local_http(url):
    # oauthlib refuses http:// URLs; the built-in sandbox on a developer machine is plain http.
    if settings.PROVIDER_SANDBOX and urlsplit(url).scheme == "http":
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    # Providers may grant fewer scopes than asked (or list them in another order): store what they give.
    os.environ.setdefault("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")


def _session(config, *, redirect=None, state=None):
    session = OAuth2Session(client_id=config.client_id, redirect_uri=redirect, scope=list(config.scopes) or None, state=state)

    def check_answer(response):
        # Before oauthlib parses the body: a 5xx or 429 (often HTML) is a passing fault, not a bad grant.
        if response.status_code >= 500 or response.status_code == 429:
            raise TransientError(
                f"{config.display_name} could not answer the token request (HTTP {response.status_code}); try again shortly.",
                provider=config.name,
                status=response.status_code,
            )
        return response

    session.register_compliance_hook("access_token_response", check_answer)
    session.register_compliance_hook("refresh_token_response", check_answer)
    if config.name in JSON_BODY:

        def as_json(url, headers, request_kwargs):
            headers = {**headers, "Content-Type": "application/json", "Accept": "application/json"}
            return url, headers, {"json": dict(request_kwargs.get("data") or {})}

        session.register_compliance_hook("access_token_request", as_json)
    return session


def _token_set(token):
    refresh_expires = token.get("x_refresh_token_expires_in") or token.get("refresh_token_expires_in")
    scope = token.get("scope") or ""
    if isinstance(scope, list | tuple):
        scope = " ".join(scope)
    if not token.get("access_token"):
        raise MalformedResponse("The provider answered the token request without an access token.")
    return TokenSet(
        access_token=token["access_token"],
        refresh_token=token.get("refresh_token") or "",
        expires_in=int(token.get("expires_in") or 3600),
        refresh_expires_in=int(refresh_expires) if refresh_expires else None,
        scope=scope,
        token_type=token.get("token_type") or "bearer",
    )


def _call(config, what, fn):
    """Run one token request and translate its failures (see module docstring)."""
    try:
        return _token_set(fn())
    except oauth_errors.InvalidGrantError as exc:
        raise InvalidGrant(
            f"{config.display_name} refused the grant (invalid_grant).", provider=config.name, code="invalid_grant", status=400
        ) from exc
    except oauth_errors.InvalidClientError as exc:
        raise ProviderError(
            f"{config.display_name} does not accept this app's client ID and secret: check "
            f"{config.name.upper()}_CLIENT_ID and {config.name.upper()}_CLIENT_SECRET.",
            provider=config.name,
            code="invalid_client",
        ) from exc
    except oauth_errors.MissingTokenError as exc:
        raise MalformedResponse(
            f"{config.display_name} answered the token request without a token.", provider=config.name
        ) from exc
    except oauth_errors.OAuth2Error as exc:
        raise ProviderError(
            f"{config.display_name} refused to {what} ({exc.error}).", provider=config.name, code=exc.error or ""
        ) from exc
    except requests.Timeout as exc:
        raise TransientError(f"{config.display_name} did not answer in time; try again shortly.", provider=config.name) from exc
    except requests.ConnectionError as exc:
        raise TransientError(f"{config.display_name} could not be reached; try again shortly.", provider=config.name) from exc
    except ValueError as exc:  # a body oauthlib cannot parse
        raise MalformedResponse(f"{config.display_name} answered the token request with something unexpected.") from exc


def _client_kwargs(config):
    """How the client authenticates on the token endpoint."""
    if config.name in BASIC_AUTH:
        return {"auth": HTTPBasicAuth(config.client_id, config.client_secret), "include_client_id": False}
    return {"include_client_id": True, "client_secret": config.client_secret}


def authorization_url(provider, *, state, config=None):
    """The provider's consent page URL for this app, carrying `state`."""
    config = config or provider_config(provider)
    _allow_local_http(config.auth_url)
    url, _ = _session(config, redirect=redirect_uri(provider), state=state).authorization_url(config.auth_url)
    return url


def exchange_code(provider, *, code, config=None, timeout=TOKEN_TIMEOUT):
    """Trade the callback's authorization code for a TokenSet."""
    config = config or provider_config(provider)
    _allow_local_http(config.token_url)
    session = _session(config, redirect=redirect_uri(provider))
    return _call(
        config,
        "exchange the authorization code",
        lambda: session.fetch_token(config.token_url, code=code, timeout=timeout, **_client_kwargs(config)),
    )


def refresh(provider, *, refresh_token, config=None, timeout=TOKEN_TIMEOUT):
    """A new TokenSet for `refresh_token` (which the provider may now consider used)."""
    config = config or provider_config(provider)
    _allow_local_http(config.token_url)
    session = _session(config)
    kwargs = {}
    if config.name in BASIC_AUTH:
        kwargs["auth"] = HTTPBasicAuth(config.client_id, config.client_secret)
    else:
        kwargs.update(client_id=config.client_id, client_secret=config.client_secret)
    if config.name in JSON_BODY:
        # requests-oauthlib always sends a refresh as a form; FreshBooks takes JSON (redirect_uri too).
        kwargs["redirect_uri"] = redirect_uri(provider)
        return _call(config, "refresh the access token", lambda: _refresh_json(session, config, refresh_token, kwargs, timeout))
    return _call(
        config,
        "refresh the access token",
        lambda: session.refresh_token(config.token_url, refresh_token=refresh_token, timeout=timeout, **kwargs),
    )


def _refresh_json(session, config, refresh_token, params, timeout):
    body = session._client.prepare_refresh_body(refresh_token=refresh_token, **params)
    answer = session.post(
        config.token_url,
        json=dict(parse_qsl(body)),
        headers={"Accept": "application/json", "Content-Type": "application/json"},
        timeout=timeout,
        withhold_token=True,
    )
    for hook in session.compliance_hook["refresh_token_response"]:
        answer = hook(answer)
    return session._client.parse_request_body_response(answer.text)


def revoke(provider, *, token, config=None, timeout=TOKEN_TIMEOUT):
    """Ask the provider to end the grant. Returns False when the provider has no revocation endpoint
    or refused; raises nothing (disconnecting must work even when the provider is unreachable)."""
    config = config or provider_config(provider)
    if not config.revoke_url or not token:
        return False
    try:
        if config.name == "quickbooks":
            answer = requests.post(
                config.revoke_url,
                json={"token": token},
                auth=HTTPBasicAuth(config.client_id, config.client_secret),
                headers={"Accept": "application/json"},
                timeout=timeout,
            )
        elif config.name == "xero":
            answer = requests.post(
                config.revoke_url,
                data={"token": token},
                auth=HTTPBasicAuth(config.client_id, config.client_secret),
                timeout=timeout,
            )
        else:
            answer = requests.post(
                config.revoke_url,
                json={"client_id": config.client_id, "client_secret": config.client_secret, "token": token},
                timeout=timeout,
            )
    except requests.RequestException:
        return False
    return 200 <= answer.status_code < 300


# --- state -----------------------------------------------------------------------------------------


def state_issue(session, *, organization_id, provider, reconnect=False):
    """A new random `state` remembered in `session` for this organization and provider."""
    state = secrets.token_urlsafe(32)
    states = dict(session.get(STATE_SESSION_KEY) or {})
    now = time.time()
    # Forget abandoned consents so the session does not grow.
    states = {k: v for k, v in states.items() if now - v.get("issued", 0) < STATE_MAX_AGE}
    states[state] = {"organization_id": organization_id, "provider": provider, "issued": now, "reconnect": reconnect}
    session[STATE_SESSION_KEY] = states
    return state


def state_consume(session, *, state, organization_id, provider):
    """Check the callback's `state` and forget it (a replay finds nothing). Returns what was stored;
    raises OAuthStateError with the reason otherwise."""
    states = dict(session.get(STATE_SESSION_KEY) or {})
    stored = states.pop(state, None) if state else None
    session[STATE_SESSION_KEY] = states
    refused = "The connection request could not be verified"
    if stored is None:
        raise OAuthStateError(f"{refused} (it was already used, or it was started in another browser). Start again with Connect.")
    if time.time() - stored.get("issued", 0) > STATE_MAX_AGE:
        raise OAuthStateError(f"{refused}: it is more than {STATE_MAX_AGE // 60} minutes old. Start again with Connect.")
    if stored.get("organization_id") != organization_id or stored.get("provider") != provider:
        raise OAuthStateError(f"{refused}: it was started for another organization or provider. Start again with Connect.")
    return stored
