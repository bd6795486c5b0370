"""OAuth2 for the four emulated providers: consent page, code exchange, rotating refresh tokens, revoke.

Per-provider rules come from policies.py: client authentication (QuickBooks HTTP Basic; Xero Basic
or form body; FreshBooks JSON body; Wave form body), access-token lifetimes (3600, 1800, 43200, 7200 s),
rotation on every refresh with the old refresh token dead at once (QuickBooks, FreshBooks, Wave) or
still usable for 30 minutes (Xero), and 400 {"error": "invalid_grant"} on reuse, revocation or expiry.

Concurrency: a refresh locks the refresh-token row (select_for_update), so of two simultaneous
refreshes with one token the loser sees it rotated, exactly like the strict providers.
"""

import base64
import binascii
import json
import secrets
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.db import transaction
from django.http import HttpResponseBadRequest, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from . import core, policies
from .models import SandboxGrant, SandboxToken

CODE_LIFETIME = 600


# --- Tokens -----------------------------------------------------------------------------------------


def _issue(grant, kind, lifetime):
    expires_at = core.now() + timedelta(seconds=lifetime) if lifetime is not None else None
    return SandboxToken.objects.create(grant=grant, kind=kind, token=secrets.token_urlsafe(36), expires_at=expires_at)


def token_pair(grant):
    """A new access token and refresh token for `grant`: (access, refresh) SandboxToken rows."""
    policy = policies.policy(grant.provider)
    return _issue(grant, SandboxToken.ACCESS, policy.access_lifetime), _issue(
        grant, SandboxToken.REFRESH, policy.refresh_lifetime
    )


def grant_create(*, provider, companies, client_id=None, scope="", redirect_uri=""):
    """A consent given to `client_id` (default: the configured client) for `companies`."""
    grant = SandboxGrant.objects.create(
        provider=provider,
        client_id=client_id or settings.PROVIDER_SETTINGS.get(provider, {}).get("client_id", ""),
        scope=scope,
        redirect_uri=redirect_uri,
    )
    grant.companies.set(companies)
    return grant


def mint_token(*, provider, company=None):
    """Act as a bookkeeper in the provider's own screens: an access token for one sandbox company.

    `company`: external id, or None for the first company. Returns (access token, refresh token, company).
    """
    all_companies = core.companies(provider)
    chosen = all_companies[0]
    if company:
        chosen = core.company_get(provider, str(company))
        if chosen is None:
            raise ValueError(f"No {provider} sandbox company {company!r}.")
    grant = grant_create(provider=provider, companies=[chosen], client_id="sandbox-bookkeeper")
    access, refresh = token_pair(grant)
    return access.token, refresh.token, chosen


def grant_for_bearer(provider, request):
    """The grant behind the request's bearer token; raises core.Answer with the provider's 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise core.Answer(policies.unauthorized(provider, "Authorization header missing or not a bearer token"))
    token = (
        SandboxToken.objects.select_related("grant")
        .filter(token=value.strip(), kind=SandboxToken.ACCESS, grant__provider=provider)
        .first()
    )
    if token is None:
        raise core.Answer(policies.unauthorized(provider, "Token invalid"))
    if token.revoked_at or token.grant.revoked_at:
        raise core.Answer(policies.unauthorized(provider, "Token revoked"))
    if token.expires_at is not None and token.expires_at <= core.now():
        raise core.Answer(policies.unauthorized(provider, "Token expired"))
    return token.grant


def revoke_refresh_tokens(provider):
    """Control fault: every live refresh token of the provider answers invalid_grant from now on."""
    return SandboxToken.objects.filter(grant__provider=provider, kind=SandboxToken.REFRESH, revoked_at__isnull=True).update(
        revoked_at=core.now()
    )


def expire_access_tokens(provider):
    """Control fault: every access token of the provider is expired from now on."""
    return SandboxToken.objects.filter(grant__provider=provider, kind=SandboxToken.ACCESS).update(
        expires_at=core.now() - timedelta(seconds=1)
    )


# --- Views ------------------------------------------------------------------------------------------


def _configured_client(provider):
    configured = settings.PROVIDER_SETTINGS.get(provider, {})
    return configured.get("client_id", ""), configured.get("client_secret", "")


def _with_query(url, params):
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + [(k, v) for k, v in params.items() if v is not None]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


@csrf_exempt
def authorize(request, provider):
    """The consent page at the provider's authorize URL: choose a company, Approve or Deny."""
    policy = policies.policy(provider)
    params = request.POST if request.method == "POST" else request.GET
    client_id = params.get("client_id", "")
    redirect_uri = params.get("redirect_uri", "")
    state = params.get("state")
    expected_client, _ = _configured_client(provider)
    if not redirect_uri or params.get("response_type", "code") != "code":
        return HttpResponseBadRequest("invalid_request: redirect_uri and response_type=code are required.")
    if not client_id or client_id != expected_client:
        return HttpResponseBadRequest(f"invalid_client: {policy.display_name} does not know this client_id.")
    companies = core.companies(provider)
    if request.method == "POST":
        if request.POST.get("action") != "approve":
            return HttpResponseRedirect(_with_query(redirect_uri, {"error": "access_denied", "state": state}))
        chosen_ids = request.POST.getlist("company")
        chosen = [c for c in companies if c.external_id in chosen_ids]
        if not chosen:
            return render(
                request,
                "sandbox/consent.html",
                {"policy": policy, "companies": companies, "params": params, "error": "Choose a company to connect."},
                status=400,
            )
        if not policy.multi_company_consent:
            chosen = chosen[:1]
        grant = grant_create(
            provider=provider, companies=chosen, client_id=client_id, scope=params.get("scope", ""), redirect_uri=redirect_uri
        )
        code = _issue(grant, SandboxToken.CODE, CODE_LIFETIME)
        answer = {"code": code.token, "state": state}
        if policy.realm_param:
            answer[policy.realm_param] = chosen[0].external_id
        return HttpResponseRedirect(_with_query(redirect_uri, answer))
    return render(request, "sandbox/consent.html", {"policy": policy, "companies": companies, "params": params})


def _client_credentials(request, policy):
    """(client_id, client_secret, body params) as the provider takes them, or None when absent."""
    content_type = request.content_type or ""
    if "json" in content_type:
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
    else:
        body = request.POST.dict()
    if "basic" in policy.client_auth:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                client_id, _, secret = base64.b64decode(value.strip()).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None, body
            return (client_id, secret), body
    if "json" in policy.client_auth and "json" in content_type and body.get("client_id"):
        return (body.get("client_id"), body.get("client_secret", "")), body
    if "form" in policy.client_auth and "json" not in content_type and body.get("client_id"):
        return (body.get("client_id"), body.get("client_secret", "")), body
    return None, body


def _invalid_grant(provider, description):
    core.counter_add(provider, "invalid_grants")
    return policies.oauth_error("invalid_grant", description=description)


def _token_answer(provider, grant, access, refresh):
    policy = policies.policy(provider)
    if provider == "quickbooks":
        body = {
            "token_type": "bearer",
            "expires_in": policy.access_lifetime,
            "refresh_token": refresh.token,
            "x_refresh_token_expires_in": policy.refresh_lifetime,
            "access_token": access.token,
        }
    elif provider == "xero":
        body = {
            "id_token": secrets.token_urlsafe(24),
            "access_token": access.token,
            "expires_in": policy.access_lifetime,
            "token_type": "Bearer",
            "refresh_token": refresh.token,
            "scope": grant.scope,
        }
    elif provider == "freshbooks":
        body = {
            "access_token": access.token,
            "token_type": "Bearer",
            "expires_in": policy.access_lifetime,
            "refresh_token": refresh.token,
            "scope": grant.scope,
            "created_at": int(access.created_at.timestamp()),
        }
    else:
        first = grant.companies.first()
        body = {
            "access_token": access.token,
            "token_type": "Bearer",
            "expires_in": policy.access_lifetime,
            "refresh_token": refresh.token,
            "scope": grant.scope,
            "userId": f"sandbox-user-{grant.pk}",
            "businessId": first.external_id if first else None,
        }
    response = JsonResponse(body)
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
def token(request, provider):
    """The token endpoint: grant_type authorization_code or refresh_token."""
    policy = policies.policy(provider)
    core.counter_add(provider, "requests.token")
    if request.method != "POST":
        return policies.oauth_error("invalid_request", status=405)
    row = core.provider_row(provider)
    if row.unavailable_until and row.unavailable_until > core.now():
        return policies.unavailable(provider, (row.unavailable_until - core.now()).total_seconds())
    credentials, body = _client_credentials(request, policy)
    expected = _configured_client(provider)
    if credentials is None or tuple(credentials) != expected:
        return policies.oauth_error("invalid_client", status=401)
    grant_type = body.get("grant_type")
    if grant_type == "authorization_code":
        return _exchange_code(provider, body)
    if grant_type == "refresh_token":
        return _refresh(provider, body)
    return policies.oauth_error("unsupported_grant_type")


def _exchange_code(provider, body):
    with transaction.atomic():
        code = (
            SandboxToken.objects.select_for_update()
            .select_related("grant")
            .filter(token=body.get("code") or "", kind=SandboxToken.CODE, grant__provider=provider)
            .first()
        )
        if code is None or code.used_at or code.grant.revoked_at:
            return _invalid_grant(provider, "Authorization code is invalid or was already used.")
        if code.expires_at <= core.now():
            return _invalid_grant(provider, "Authorization code has expired.")
        if code.grant.redirect_uri and body.get("redirect_uri") != code.grant.redirect_uri:
            return _invalid_grant(provider, "redirect_uri does not match the one authorized.")
        code.used_at = core.now()
        code.save(update_fields=["used_at"])
        access, refresh = token_pair(code.grant)
    return _token_answer(provider, code.grant, access, refresh)


def _refresh(provider, body):
    policy = policies.policy(provider)
    with transaction.atomic():
        old = (
            SandboxToken.objects.select_for_update()
            .select_related("grant")
            .filter(token=body.get("refresh_token") or "", kind=SandboxToken.REFRESH, grant__provider=provider)
            .first()
        )
        moment = core.now()
        if old is None:
            return _invalid_grant(provider, "Refresh token not found.")
        if old.revoked_at or old.grant.revoked_at:
            return _invalid_grant(provider, "Refresh token was revoked.")
        if old.expires_at is not None and old.expires_at <= moment:
            return _invalid_grant(provider, "Refresh token has expired.")
        if old.used_at and (policy.refresh_grace <= 0 or old.used_at + timedelta(seconds=policy.refresh_grace) <= moment):
            return _invalid_grant(provider, "Incorrect or invalid refresh token.")
        if not old.used_at:
            old.used_at = moment
            old.save(update_fields=["used_at"])
        access, refresh = token_pair(old.grant)
    core.counter_add(provider, "refreshes")
    return _token_answer(provider, old.grant, access, refresh)


@csrf_exempt
def revoke(request, provider):
    """Revoke a refresh or access token: the whole grant (the app's connection) ends."""
    policy = policies.policy(provider)
    if request.method != "POST":
        return policies.oauth_error("invalid_request", status=405)
    credentials, body = _client_credentials(request, policy)
    if credentials is None or tuple(credentials) != _configured_client(provider):
        return policies.oauth_error("invalid_client", status=401)
    value = body.get("token") or ""
    found = SandboxToken.objects.select_related("grant").filter(token=value, grant__provider=provider).first()
    if found is not None:
        SandboxGrant.objects.filter(pk=found.grant_id).update(revoked_at=core.now())
    return JsonResponse({}, status=200)
