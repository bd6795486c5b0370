"""The sandbox's URLs: the real providers' paths under /sandbox/<provider>/.

OAuth and control paths are the engine's (oauth.py, control.py); each provider package adds its data
API in its own urls.py, included here under its prefix.
"""

import importlib

from django.urls import include, path

from . import control, oauth

OAUTH_PATHS = {
    "quickbooks": ("connect/oauth2", "oauth2/v1/tokens/bearer", "v2/oauth2/tokens/revoke"),
    "xero": ("identity/connect/authorize", "connect/token", "connect/revocation"),
    "freshbooks": ("oauth/authorize", "auth/oauth/token", "auth/oauth/revoke"),
    "wave": ("oauth2/authorize/", "oauth2/token/", None),
}

urlpatterns = []
for _provider, (_authorize, _token, _revoke) in OAUTH_PATHS.items():
    _kwargs = {"provider": _provider}
    urlpatterns += [
        path(f"{_provider}/_control", control.control, _kwargs, name=f"sandbox-{_provider}-control"),
        path(f"{_provider}/{_authorize}", oauth.authorize, _kwargs, name=f"sandbox-{_provider}-authorize"),
        path(f"{_provider}/{_token}", oauth.token, _kwargs, name=f"sandbox-{_provider}-token"),
    ]
    if _revoke:
        urlpatterns.append(path(f"{_provider}/{_revoke}", oauth.revoke, _kwargs, name=f"sandbox-{_provider}-revoke"))
    try:
        importlib.import_module(f"integrations.sandbox.{_provider}.urls")
    except ModuleNotFoundError as exc:
        # A provider package still being built has no data API yet; its OAuth and control work.
        if exc.name != f"integrations.sandbox.{_provider}.urls" and exc.name != f"integrations.sandbox.{_provider}":
            raise
    else:
        urlpatterns.append(path(f"{_provider}/", include(f"integrations.sandbox.{_provider}.urls")))
