"""Which companies a fresh grant reaches, asked over HTTP right after the code exchange (no ORM).

- QuickBooks: one company, the `realmId` of the callback; its name from CompanyInfo.
- Xero: every tenant in `GET /connections` (the user chooses when there are several); the details keep
  the connection id, which is what Xero's `DELETE /connections/<id>` would take.
- FreshBooks: every business membership in `GET /auth/api/v1/users/me` (account_id is the company id;
  business id and uuid kept in details).
- Wave: every business of the `businesses` query.
The adapters already speak these endpoints; this module asks them with the new access token.
"""

from .providers.base import Company, MalformedResponse
from .providers.config import provider_config
from .providers.registry import build_adapter


def _adapter(provider, *, access_token, company_id="", config=None):
    return build_adapter(
        provider,
        config=config or provider_config(provider),
        company_id=company_id,
        token_provider=lambda force_refresh=False: access_token,
        timeout=15.0,
    )


def companies_reached(provider, *, access_token, callback_params=None, config=None):
    """The companies (providers.base.Company) the grant behind `access_token` reaches, in the provider's
    order. `callback_params`: the OAuth callback's query (QuickBooks puts `realmId` there)."""
    callback_params = callback_params or {}
    if provider == "quickbooks":
        realm = str(callback_params.get("realmId") or "").strip()
        if not realm:
            raise MalformedResponse("QuickBooks did not say which company was connected (no realmId).", provider=provider)
        company = _adapter(provider, access_token=access_token, company_id=realm, config=config).company()
        return [Company(id=realm, name=company.name, details={"country": company.details.get("Country", "")})]
    if provider == "xero":
        companies = []
        for row in _adapter(provider, access_token=access_token, config=config).connections():
            if row.get("tenantType", "ORGANISATION") != "ORGANISATION" or not row.get("tenantId"):
                continue
            companies.append(
                Company(
                    id=str(row["tenantId"]),
                    name=row.get("tenantName") or "",
                    details={"connection_id": row.get("id", ""), "tenant_type": row.get("tenantType", "")},
                )
            )
        return companies
    if provider == "freshbooks":
        adapter = _adapter(provider, access_token=access_token, config=config)
        answer = adapter._send("GET", f"{adapter.config.api_url}/auth/api/v1/users/me", kind="identity")
        companies = []
        for business in adapter.businesses(answer.data):
            details = business.details or {}
            companies.append(
                Company(
                    id=business.id,
                    name=business.name,
                    details={"business_id": details.get("id"), "business_uuid": details.get("business_uuid", "")},
                )
            )
        return companies
    if provider == "wave":
        return [
            Company(id=b.id, name=b.name, details={"currency": ((b.details or {}).get("currency") or {}).get("code", "")})
            for b in _adapter(provider, access_token=access_token, config=config).businesses()
        ]
    raise ValueError(f"Unknown provider {provider!r}")
