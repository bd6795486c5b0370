"""What differs between the four emulated providers: token rules, limits, kinds and error bodies.

The engine (core.py, oauth.py, control.py) is generic; it asks the policy of the provider at hand.
Facts come from ../shared/providers/FACTS.md and QUICKBOOKS.md (copied rules, not guesses, except
where marked).
"""

import base64
import datetime
import json
import secrets
import string
import uuid
from dataclasses import dataclass, field

from django.http import HttpResponse, JsonResponse
from django.utils import timezone

DAY = 86400


@dataclass(frozen=True)
class ProviderPolicy:
    name: str
    display_name: str
    access_lifetime: int  # seconds
    refresh_lifetime: int | None  # seconds; None: never expires
    refresh_grace: int  # seconds an already rotated refresh token may still be used (Xero: 30 min)
    client_auth: tuple[str, ...]  # accepted client authentication: "basic" (HTTP Basic), "json" or "form" body
    id_style: str  # how new object ids look: "numeric" or "uuid"
    object_kinds: tuple[str, ...]  # the control report's "objects" keys, in the provider's words
    request_kinds: tuple[str, ...]  # the control report's "requests" keys
    limits: dict = field(default_factory=dict)  # defaults; the control endpoint overrides them
    realm_param: str = ""  # the company id added to the OAuth callback (QuickBooks: realmId)
    multi_company_consent: bool = False  # Xero: one consent may reach several tenants


POLICIES = {
    "quickbooks": ProviderPolicy(
        name="quickbooks",
        display_name="QuickBooks",
        access_lifetime=3600,
        refresh_lifetime=100 * DAY,
        refresh_grace=0,
        client_auth=("basic",),
        id_style="numeric",
        object_kinds=("item", "customer", "invoice", "payment", "account"),
        request_kinds=("batch", "item", "customer", "invoice", "payment", "query", "token", "cdc", "companyinfo"),
        limits={"max_batch_size": 30, "per_minute": 500, "batch_per_minute": 40, "per_second": 10, "in_flight": 10},
        realm_param="realmId",
    ),
    "xero": ProviderPolicy(
        name="xero",
        display_name="Xero",
        access_lifetime=1800,
        refresh_lifetime=60 * DAY,
        refresh_grace=1800,
        client_auth=("basic", "form"),  # xero-python sends them in the form body
        id_style="uuid",
        object_kinds=("item", "contact", "invoice", "payment", "account"),
        request_kinds=("batch", "item", "contact", "invoice", "payment", "account", "token", "connections"),
        limits={"per_minute": 60, "in_flight": 5, "per_day": 5000, "app_per_minute": 10000},
        multi_company_consent=True,
    ),
    "freshbooks": ProviderPolicy(
        name="freshbooks",
        display_name="FreshBooks",
        access_lifetime=43200,
        refresh_lifetime=None,
        refresh_grace=0,
        client_auth=("json",),
        id_style="numeric",
        object_kinds=("item", "client", "invoice", "payment"),
        request_kinds=("item", "client", "invoice", "payment", "users_me", "token"),
        # FreshBooks publishes no limits; these are off until the control endpoint sets some.
        limits={},
    ),
    "wave": ProviderPolicy(
        name="wave",
        display_name="Wave",
        access_lifetime=7200,
        refresh_lifetime=None,  # UNCONFIRMED; treated like FreshBooks
        refresh_grace=0,
        client_auth=("form",),
        id_style="uuid",
        object_kinds=("product", "customer", "invoice", "payment", "account"),
        request_kinds=("graphql", "product", "customer", "invoice", "payment", "businesses", "token"),
        limits={},
    ),
}

PROVIDER_NAMES = tuple(POLICIES)

DEFAULT_CONFIG = {
    "latency_ms": 0,
    "batch_latency_ms": 0,
    "fail_mode": "5xx",
    "timeout_seconds": 30,  # how long the "timeout" fault sleeps before answering 504
    "reject_names": "",
    "validate_xsd": False,  # QuickBooks: check received entities against Intuit's XSD (2010 fault if not)
}

COMPANY_NAMES = ("Northwind Plumbing", "Riverside Heating & Air")

# The chart of accounts every new sandbox company starts with: (name, code, kind). Provider seed
# modules turn these into their own account records.
DEFAULT_ACCOUNTS = (
    ("Sales", "200", "income"),
    ("Services", "210", "income"),
    ("Parts and Materials", "220", "income"),
    ("Service Agreements", "230", "income"),
    ("Business Checking", "090", "bank"),
)


def policy(provider):
    try:
        return POLICIES[provider]
    except KeyError:
        raise ValueError(f"Unknown sandbox provider {provider!r}") from None


def new_company_identity(provider, index):
    """(external id, details) for a new company of `provider`."""
    if provider == "quickbooks":
        return str(9341450000000000 + secrets.randbelow(10**9)), {}
    if provider == "xero":
        return str(uuid.uuid4()), {"ShortCode": "!" + "".join(secrets.choice(string.ascii_letters) for _ in range(5))}
    if provider == "freshbooks":
        account_id = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(6))
        return account_id, {"business_id": 100000 + secrets.randbelow(900000), "business_uuid": str(uuid.uuid4())}
    if provider == "wave":
        return base64.b64encode(f"Business:{uuid.uuid4()}".encode()).decode(), {}
    raise ValueError(provider)


# --- Error bodies -----------------------------------------------------------------------------------


def epoch_ms():
    return int(timezone.now().timestamp() * 1000)


def qb_time():
    """QuickBooks' `time` field: local ISO time with offset and milliseconds."""
    return timezone.now().astimezone(datetime.timezone(datetime.timedelta(hours=-7))).isoformat(timespec="milliseconds")


def unauthorized(provider, reason):
    """Each provider's answer to an unknown, expired or revoked bearer token."""
    if provider == "quickbooks":
        body = {
            "warnings": None,
            "intuitObject": None,
            "fault": {
                "error": [
                    {
                        "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                        "detail": reason,
                        "code": "3200",
                        "element": None,
                    }
                ],
                "type": "AUTHENTICATION",
            },
            "time": epoch_ms(),
        }
        response = JsonResponse(body, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="Intuit", error="invalid_token"'
        return response
    if provider == "xero":
        detail = "TokenExpired: token expired" if "expired" in reason.lower() else "AuthenticationUnsuccessful"
        response = JsonResponse(
            {
                "Type": None,
                "Title": "Unauthorized",
                "Status": 401,
                "Detail": detail,
                "Instance": str(uuid.uuid4()),
                "Extensions": {},
            },
            status=401,
        )
        response["WWW-Authenticate"] = f'Bearer error="invalid_token", error_description="{reason}"'
        return response
    if provider == "freshbooks":
        return JsonResponse(
            {"error": "unauthenticated", "error_description": "This action requires authentication to continue."},
            status=401,
        )
    # Wave answers GraphQL-style errors.
    return JsonResponse(
        {"errors": [{"message": "Unauthorized", "extensions": {"code": "UNAUTHENTICATED"}}]},
        status=401,
    )


def forbidden_company(provider, company_id):
    """The grant does not reach this company (or, for Xero, the tenant header is missing)."""
    if provider == "quickbooks":
        body = {
            "fault": {
                "error": [
                    {
                        "message": "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
                        "detail": f"The application is not authorized to access company {company_id}.",
                        "code": "3100",
                    }
                ],
                "type": "AUTHORIZATION",
            },
            "time": epoch_ms(),
        }
        return JsonResponse(body, status=403)
    if provider == "xero":
        return JsonResponse(
            {
                "Type": None,
                "Title": "Forbidden",
                "Status": 403,
                "Detail": "AuthenticationUnsuccessful",
                "Instance": str(uuid.uuid4()),
                "Extensions": {},
            },
            status=403,
        )
    if provider == "freshbooks":
        return JsonResponse(
            {
                "response": {
                    "errors": [
                        {
                            "errno": 1003,
                            "field": "userid",
                            "message": "The server could not verify that you are authorized to access the URL requested.",
                            "object": "user",
                            "value": "unknown",
                        }
                    ]
                }
            },
            status=403,
        )
    return JsonResponse(
        {"errors": [{"message": "You do not have permission to access this business.", "extensions": {"code": "FORBIDDEN"}}]},
        status=403,
    )


QB_THROTTLE_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="{time}">'
    '<Fault type="SERVICE"><Error code="3001">'
    "<Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>"
    "<Detail>The request limit was reached.</Detail>"
    "</Error></Fault></IntuitResponse>"
)


def throttled(provider, problem, retry_after):
    """The 429 of `provider` for an exceeded limit (`problem`: concurrent, second, minute, batch, day, appminute)."""
    if provider == "quickbooks":
        # Intuit's gateway answers XML whatever the Accept header asked for.
        response = HttpResponse(QB_THROTTLE_XML.format(time=qb_time()), status=429, content_type="application/xml")
    elif provider == "xero":
        response = JsonResponse(
            {"Title": "Too Many Requests", "Status": 429, "Detail": f"Rate limit exceeded: {problem}"}, status=429
        )
        response["X-Rate-Limit-Problem"] = problem
    elif provider == "freshbooks":
        response = JsonResponse(
            {
                "response": {
                    "errors": [{"errno": 429, "field": None, "message": "Too many requests.", "object": None, "value": None}]
                }
            },
            status=429,
        )
    else:
        response = JsonResponse({"errors": [{"message": "Too many requests.", "extensions": {"code": "THROTTLED"}}]}, status=429)
    if retry_after is not None:
        response["Retry-After"] = str(int(retry_after))
    return response


def server_error(provider, status=500):
    """A batch-level 5xx as the provider sends it."""
    if provider == "quickbooks":
        body = {
            "Fault": {
                "Error": [
                    {
                        "Message": "An application error has occurred while processing your request",
                        "Detail": "System Failure Error: An unexpected error occurred while accessing or saving your data.",
                        "code": "10000",
                    }
                ],
                "type": "SystemFault",
            },
            "time": qb_time(),
        }
        return JsonResponse(body, status=status)
    if provider == "xero":
        return JsonResponse(
            {"ErrorNumber": 500, "Type": "UnknownErrorException", "Message": "An error occurred in Xero."}, status=status
        )
    if provider == "freshbooks":
        return JsonResponse(
            {
                "response": {
                    "errors": [{"errno": 500, "field": None, "message": "Internal Server Error", "object": None, "value": None}]
                }
            },
            status=status,
        )
    return JsonResponse(
        {"errors": [{"message": "Internal server error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}, status=status
    )


def html_error(provider, status=502):
    """The HTML error page a load balancer in front of the provider answers with."""
    name = policy(provider).display_name
    page = (
        "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>"
        f"<h1>502 Bad Gateway</h1><p>The {name} server is temporarily unable to service your request.</p>"
        "</body></html>"
    )
    return HttpResponse(page, status=status, content_type="text/html; charset=utf-8")


def gateway_timeout(provider):
    page = (
        "<!DOCTYPE html><html><head><title>504 Gateway Time-out</title></head><body><h1>504 Gateway Time-out</h1></body></html>"
    )
    return HttpResponse(page, status=504, content_type="text/html; charset=utf-8")


def unavailable(provider, retry_after):
    if provider == "quickbooks":
        body = {
            "Fault": {
                "Error": [{"Message": "Service Unavailable", "Detail": "The service is temporarily unavailable.", "code": "503"}],
                "type": "SERVICE",
            },
            "time": qb_time(),
        }
        response = JsonResponse(body, status=503)
    elif provider == "xero":
        response = JsonResponse(
            {"Title": "Service Unavailable", "Status": 503, "Detail": "Xero is temporarily unavailable."}, status=503
        )
    else:
        response = HttpResponse(json.dumps({"error": "Service Unavailable"}), status=503, content_type="application/json")
    response["Retry-After"] = str(max(1, int(retry_after)))
    return response


def oauth_error(error, status=400, description=None):
    body = {"error": error}
    if description:
        body["error_description"] = description
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    return response
