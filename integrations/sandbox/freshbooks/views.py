"""FreshBooks' identity and accounting endpoints in the sandbox, under /sandbox/freshbooks/.

`GET auth/api/v1/users/me`, and under `accounting/account/<account_id>/`: `users/clients`,
`items/items`, `invoices/invoices`, `payments/payments` (GET list, POST create) and `.../<id>`
(GET read, PUT update, DELETE for invoices). Shapes: see engine.py.
"""

import functools
import json

from django.db import transaction
from django.http import JsonResponse

from .. import core
from .book import FreshBooksBook
from .engine import RESOURCES, FreshBooksAccount, FreshBooksError

WRITES = {"POST", "PUT", "DELETE"}

# The accounting API's answer to a missing, unknown or expired token (java SDK fixture
# get_client_response__no_auth.json); the identity endpoint answers the OAuth-style body the core sends.
ACCOUNTING_UNAUTHORIZED = {
    "code": 16,
    "message": "Request failed with status_code: 401",
    "details": [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "1003",
            "domain": "accounting.api.freshbooks.com",
            "metadata": {
                "object": "",
                "message": "The server could not verify that you are authorized to access the URL requested.",
                "value": "",
                "field": "",
            },
        }
    ],
}


def users_me_identity(grant):
    """The identity of the sandbox bookkeeper behind `grant`, shaped like the SDK's auth_me fixture."""
    companies = list(grant.companies.all())
    memberships = []
    for company in companies:
        details = company.details or {}
        memberships.append(
            {
                "id": 140000 + company.pk,
                "role": "owner",
                "unacknowledged_change": False,
                "business": {
                    "id": details.get("business_id", company.pk),
                    "business_uuid": details.get("business_uuid", ""),
                    "name": company.name,
                    "account_id": company.external_id,
                    "date_format": "mm/dd/yyyy",
                    "address": {
                        "id": 70000 + company.pk,
                        "street": "",
                        "city": "",
                        "province": "",
                        "country": "United States",
                        "postal_code": "",
                    },
                    "phone_number": {"id": 66000 + company.pk, "phone_number": ""},
                    "business_clients": [],
                },
            }
        )
    identity = 10000 + grant.pk
    return {
        "response": {
            "id": identity,
            "identity_id": identity,
            "identity_uuid": f"sandbox-identity-{grant.pk}",
            "first_name": "Sandbox",
            "last_name": "Bookkeeper",
            "email": "bookkeeper@sandbox.invalid",
            "language": "en",
            "confirmed_at": grant.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "created_at": grant.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "unconfirmed_email": None,
            "setup_complete": True,
            "phone_numbers": [],
            "addresses": [],
            "profile": {
                "setup_complete": True,
                "first_name": "Sandbox",
                "last_name": "Bookkeeper",
                "phone_number": None,
                "address": None,
                "professions": [
                    {
                        "id": 60000 + grant.pk,
                        "business_id": None,
                        "title": "Bookkeeping",
                        "company": companies[0].name if companies else "",
                        "designation": None,
                    }
                ],
                "has_password": True,
            },
            "profession": {
                "id": 60000 + grant.pk,
                "business_id": None,
                "title": "Bookkeeping",
                "company": companies[0].name if companies else "",
                "designation": None,
            },
            "links": {"me": f"/service/auth/api/v1/users?id={identity}", "roles": f"/service/auth/api/v1/users/role/{identity}"},
            "permissions": {c.external_id: {} for c in companies},
            "groups": [
                {
                    "id": identity + n,
                    "group_id": 7000 + c.pk,
                    "role": "owner",
                    "identity_id": identity,
                    "identity_uuid": f"sandbox-identity-{grant.pk}",
                    "business_id": (c.details or {}).get("business_id", c.pk),
                    "active": True,
                }
                for n, c in enumerate(companies)
            ],
            "subscription_statuses": {c.external_id: "active" for c in companies},
            "integrations": {},
            "business_memberships": memberships,
            "identity_origin": None,
            "roles": [
                {
                    "id": 60000 + c.pk,
                    "role": "admin",
                    "systemid": 650000 + c.pk,
                    "userid": 1,
                    "created_at": grant.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "links": {"destroy": f"/service/auth/api/v1/users/role/{60000 + c.pk}"},
                    "accountid": c.external_id,
                }
                for c in companies
            ],
        }
    }


@core.api_view("freshbooks", kind="users_me", methods=["GET"])
def users_me(request, ctx):
    return JsonResponse(users_me_identity(ctx.grant))


def _resource(kwargs):
    return RESOURCES.get(f"{kwargs['group']}/{kwargs['resource']}")


def _kind(request, kwargs):
    found = _resource(kwargs)
    return found[0] if found else None


def accounting_view(view):
    """The pipeline of an accounting endpoint: the core's checks (token, account, limits, faults),
    with the accounting API's own 401 body."""
    piped = core.api_view(
        "freshbooks",
        kind=_kind,
        batch=lambda request, kwargs: request.method in WRITES,
        company=lambda request, kwargs: kwargs["account_id"],
        methods=["GET", "POST", "PUT", "DELETE"],
    )(view)

    @functools.wraps(piped)
    def wrapper(request, **kwargs):
        if _resource(kwargs) is None:
            return JsonResponse(
                {
                    "response": {
                        "errors": [{"errno": 1012, "field": "", "message": "Resource not found.", "object": "", "value": ""}]
                    }
                },
                status=404,
            )
        response = piped(request, **kwargs)
        if response.status_code == 401:
            response = JsonResponse(ACCOUNTING_UNAUTHORIZED, status=401)
        return response

    return wrapper


def _payload(request):
    try:
        return json.loads(request.body or b"null")
    except ValueError:
        raise FreshBooksError(400, 1005, "The server was unable to parse your request.") from None


def _answer(run):
    try:
        with transaction.atomic():
            status, body = run()
    except FreshBooksError as error:
        status, body = error.status, error.body()
    return JsonResponse(body, status=status)


@accounting_view
def collection(request, ctx, account_id, group, resource):
    kind, single, plural = _resource({"group": group, "resource": resource})
    account = FreshBooksAccount(FreshBooksBook(company=ctx.company, rejects=ctx.rejects))
    if request.method == "GET":
        return _answer(lambda: account.list(kind, plural, request.GET))
    if request.method == "POST":
        return _answer(lambda: account.create(kind, single, _payload(request)))
    return JsonResponse(
        {
            "response": {
                "errors": [
                    {"errno": 1005, "field": "", "message": "Method not allowed here.", "object": kind, "value": request.method}
                ]
            }
        },
        status=405,
    )


@accounting_view
def single(request, ctx, account_id, group, resource, object_id):
    kind, single_name, _plural = _resource({"group": group, "resource": resource})
    account = FreshBooksAccount(FreshBooksBook(company=ctx.company, rejects=ctx.rejects))
    if request.method == "GET":
        return _answer(lambda: account.get(kind, single_name, object_id))
    if request.method == "PUT":
        return _answer(lambda: account.update(kind, single_name, object_id, _payload(request)))
    if request.method == "DELETE" and kind == "invoice":
        return _answer(lambda: account.delete_invoice(object_id))
    message = f"Delete a {kind} by updating it with vis_state 1." if request.method == "DELETE" else "Method not allowed here."
    return JsonResponse(
        {"response": {"errors": [{"errno": 1005, "field": "", "message": message, "object": kind, "value": request.method}]}},
        status=405,
    )
