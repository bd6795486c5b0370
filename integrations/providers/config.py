"""Provider endpoints and client credentials from settings.

Empty settings mean the real production URLs, or, when PROVIDER_SANDBOX is on, the built-in sandbox
under SITE_URL (resolved at call time so tests can point SITE_URL at a live server).
"""

from django.conf import settings

from .base import ProviderConfig

DISPLAY_NAMES = {"quickbooks": "QuickBooks", "xero": "Xero", "freshbooks": "FreshBooks", "wave": "Wave"}

PRODUCTION = {
    "quickbooks": {
        "auth_url": "https://appcenter.intuit.com/connect/oauth2",
        "token_url": "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
        "revoke_url": "https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
        "api_url": "https://quickbooks.api.intuit.com/v3",
        "scopes": ("com.intuit.quickbooks.accounting",),
    },
    "xero": {
        "auth_url": "https://login.xero.com/identity/connect/authorize",
        "token_url": "https://identity.xero.com/connect/token",
        "revoke_url": "https://identity.xero.com/connect/revocation",
        # Connections at {api_url}/connections, accounting at {api_url}/api.xro/2.0
        "api_url": "https://api.xero.com",
        "scopes": (
            "openid",
            "profile",
            "email",
            "offline_access",
            "accounting.invoices",
            "accounting.payments",
            "accounting.contacts",
            "accounting.settings",
        ),
    },
    "freshbooks": {
        "auth_url": "https://auth.freshbooks.com/oauth/authorize",
        "token_url": "https://api.freshbooks.com/auth/oauth/token",
        "revoke_url": "https://api.freshbooks.com/auth/oauth/revoke",
        # Identity at {api_url}/auth/api/v1/users/me, accounting at {api_url}/accounting/account/<id>/...
        "api_url": "https://api.freshbooks.com",
        "scopes": (
            "user:profile:read",
            "user:clients:read",
            "user:clients:write",
            "user:billable_items:read",
            "user:billable_items:write",
            "user:invoices:read",
            "user:invoices:write",
            "user:payments:read",
            "user:payments:write",
            "user:taxes:read",
        ),
    },
    "wave": {
        "auth_url": "https://api.waveapps.com/oauth2/authorize/",
        "token_url": "https://api.waveapps.com/oauth2/token/",
        "revoke_url": "",
        "api_url": "https://gql.waveapps.com/graphql/public",
        "scopes": (
            "account:read",
            "business:read",
            "customer:*",
            "invoice:*",
            "product:*",
            "transaction:*",
        ),
    },
}


def sandbox_urls(provider, site_url):
    """The built-in sandbox's endpoints: the real paths under /sandbox/<provider>/."""
    base = f"{site_url.rstrip('/')}/sandbox/{provider}"
    return {
        "quickbooks": {
            "auth_url": f"{base}/connect/oauth2",
            "token_url": f"{base}/oauth2/v1/tokens/bearer",
            "revoke_url": f"{base}/v2/oauth2/tokens/revoke",
            "api_url": f"{base}/v3",
        },
        "xero": {
            "auth_url": f"{base}/identity/connect/authorize",
            "token_url": f"{base}/connect/token",
            "revoke_url": f"{base}/connect/revocation",
            "api_url": base,
        },
        "freshbooks": {
            "auth_url": f"{base}/oauth/authorize",
            "token_url": f"{base}/auth/oauth/token",
            "revoke_url": f"{base}/auth/oauth/revoke",
            "api_url": base,
        },
        "wave": {
            "auth_url": f"{base}/oauth2/authorize/",
            "token_url": f"{base}/oauth2/token/",
            "revoke_url": "",
            "api_url": f"{base}/graphql/public",
        },
    }[provider]


def provider_config(provider):
    if provider not in DISPLAY_NAMES:
        raise ValueError(f"Unknown provider {provider!r}")
    configured = settings.PROVIDER_SETTINGS.get(provider, {})
    defaults = dict(PRODUCTION[provider])
    if settings.PROVIDER_SANDBOX:
        defaults.update(sandbox_urls(provider, settings.SITE_URL))
    return ProviderConfig(
        name=provider,
        display_name=DISPLAY_NAMES[provider],
        client_id=configured.get("client_id", ""),
        client_secret=configured.get("client_secret", ""),
        auth_url=configured.get("auth_url") or defaults["auth_url"],
        token_url=configured.get("token_url") or defaults["token_url"],
        api_url=(configured.get("api_url") or defaults["api_url"]).rstrip("/"),
        revoke_url=defaults.get("revoke_url", ""),
        scopes=tuple(configured.get("scopes") or defaults["scopes"]),
        webhook_secret=configured.get("webhook_secret", ""),
    )
