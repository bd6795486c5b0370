"""`python manage.py connect_provider --org ORG --provider P --sandbox | --tenant-id ID --refresh-token TOKEN`

--sandbox: runs the whole OAuth flow against the built-in sandbox without a browser: it opens the
sandbox consent page over HTTP, approves it for the first company (or --tenant-id), exchanges the code
and stores the connection. The sandbox is served by the web server, so the web server must be running
at SITE_URL with PROVIDER_SANDBOX=true.

--tenant-id ID --refresh-token TOKEN: stores a grant obtained elsewhere (e.g. a provider's OAuth
playground) for company ID and refreshes it at once, which proves it works (and rotates it).

Exit status: 0 connected, 1 failed (the reason is printed), 2 the grant is gone (the friendly
reconnect message is printed).
"""

import re
import sys
from html import unescape
from urllib.parse import parse_qsl, urljoin, urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from blueclerk.models import Organization
from integrations import oauth, services
from integrations.models import Connection, Provider
from integrations.providers.base import Company, ProviderError, ReconnectRequired
from integrations.providers.config import provider_config

INPUT = re.compile(r"<input\b([^>]*)>", re.IGNORECASE)
ATTR = re.compile(r'(\w+)="([^"]*)"')


def approve_consent(authorization_url, *, company_id=None, action="approve", session=None, timeout=15):
    """Act as the person on the sandbox consent page: open it, choose `company_id` (default: the
    first company) and press Approve (or Deny). Returns the callback's query parameters as a dict."""
    http = session or requests.Session()
    page = http.get(authorization_url, timeout=timeout)
    if page.status_code != 200:
        raise CommandError(f"The consent page answered HTTP {page.status_code}: {page.text[:200]}")
    fields, companies = [], []
    for match in INPUT.finditer(page.text):
        attrs = {k.lower(): unescape(v) for k, v in ATTR.findall(match.group(1))}
        if attrs.get("name") == "company":
            companies.append(attrs.get("value", ""))
        elif attrs.get("type") == "hidden" and attrs.get("name"):
            fields.append((attrs["name"], attrs.get("value", "")))
    if not companies:
        raise CommandError("The consent page offers no company to connect.")
    chosen = company_id or companies[0]
    if chosen not in companies:
        raise CommandError(f"The consent page does not offer company {chosen!r}; it offers: {', '.join(companies)}.")
    answer = http.post(
        authorization_url,
        data=[*fields, ("company", chosen), ("action", action)],
        allow_redirects=False,
        timeout=timeout,
    )
    location = answer.headers.get("Location", "")
    if answer.status_code not in (301, 302, 303) or not location:
        raise CommandError(f"The consent page did not send the browser back (HTTP {answer.status_code}).")
    return dict(parse_qsl(urlsplit(urljoin(authorization_url, location)).query))


class Command(BaseCommand):
    help = (
        "Connect an organization to an accounting provider. --sandbox completes the OAuth flow against the "
        "built-in sandbox non-interactively (approving its consent page itself over HTTP): the web server must be "
        "running at SITE_URL with PROVIDER_SANDBOX=true. --tenant-id ID --refresh-token TOKEN stores an existing "
        "grant and refreshes it at once to prove it. Exit 2 when the grant is gone (reconnect required)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug or id")
        parser.add_argument("--provider", required=True, choices=Provider.values)
        parser.add_argument("--sandbox", action="store_true", help="approve the built-in sandbox's consent page")
        parser.add_argument(
            "--tenant-id", default="", help="company id: realmId, Xero tenantId, FreshBooks account_id, Wave business id"
        )
        parser.add_argument("--refresh-token", default="", help="an existing refresh token for --tenant-id")

    def handle(self, *args, org, provider, sandbox, tenant_id, refresh_token, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None and str(org).isdigit():
            organization = Organization.objects.filter(pk=int(org)).first()
        if organization is None:
            raise CommandError(f"No organization '{org}'.")
        if sandbox == bool(refresh_token):
            raise CommandError("Give either --sandbox, or --tenant-id with --refresh-token.")
        try:
            if sandbox:
                connection = self._sandbox(organization, provider, tenant_id)
            else:
                if not tenant_id:
                    raise CommandError("--refresh-token needs --tenant-id (which company the grant is for).")
                connection = self._existing_grant(organization, provider, tenant_id, refresh_token)
        except ReconnectRequired as exc:
            self.stderr.write(exc.message)
            sys.exit(2)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        except ProviderError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            f"{connection.provider_name} is connected to {connection.company_name or connection.company_id} "
            f"({connection.company_id}) for {organization}."
        )

    def _sandbox(self, organization, provider, tenant_id):
        if not settings.PROVIDER_SANDBOX:
            raise CommandError("--sandbox needs PROVIDER_SANDBOX=true (and the web server running at SITE_URL).")
        session = {}
        url = services.connection_begin(organization=organization, provider=provider, session=session)
        try:
            params = approve_consent(url, company_id=tenant_id or None)
        except requests.RequestException as exc:
            raise CommandError(
                f"The sandbox at {settings.SITE_URL} cannot be reached ({exc.__class__.__name__}): start the web server "
                "(make run) with PROVIDER_SANDBOX=true and SITE_URL pointing at it."
            ) from None
        outcome = services.connection_finish(
            organization=organization, provider=provider, user=None, session=session, params=params
        )
        if outcome.choices:
            chosen = tenant_id or outcome.choices[0].id
            return services.connection_choose(
                organization=organization, provider=provider, user=None, session=session, company_id=chosen
            )
        return outcome.connection

    def _existing_grant(self, organization, provider, tenant_id, refresh_token):
        config = provider_config(provider)
        # Refresh first: a dead token is refused before anything is stored.
        try:
            token_set = oauth.refresh(provider, refresh_token=refresh_token, config=config)
        except ProviderError as exc:
            if exc.code == "invalid_grant":
                raise ReconnectRequired(config.display_name, provider=provider) from None
            raise
        company = Company(id=tenant_id, name="", details={})
        connection = services.connection_save(organization=organization, provider=provider, tokens=token_set, company=company)
        name = self._company_name(connection)
        if name:
            Connection.objects.filter(pk=connection.pk).update(company_name=name)
            connection.company_name = name
        return connection

    def _company_name(self, connection):
        try:
            return services.adapter_for(connection).company().name
        except ProviderError as exc:
            self.stderr.write(f"Connected, but the company name could not be read: {exc.message}")
            return ""
