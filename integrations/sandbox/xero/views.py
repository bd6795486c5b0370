"""Xero Accounting API of the sandbox, under /sandbox/xero/api.xro/2.0/, and Identity's /connections.

PUT creates, POST creates or updates; both take one element or {"<Collection>": [...]}. With
`summarizeErrors=false` the answer is 200 and every element carries StatusAttributeString (OK or
ERROR) and, when it failed, ValidationErrors; otherwise any failure answers 400 with Xero's
ValidationException body listing the failed elements (the valid ones were still saved, as in Xero).
Every accounting call needs `xero-tenant-id` (403 otherwise). GETs honour If-Modified-Since, `page`
(100 a page, `pageSize` up to 1000; Items are not paged), `where` (Field=="value" joined by AND),
`IDs`, `InvoiceNumbers`, `ContactIDs`, `Statuses`; a list of invoices has LineItems only when paged.
"""

import datetime
import json
import re
import uuid
from email.utils import parsedate_to_datetime

from django.http import HttpResponse, JsonResponse

from .. import core, policies
from . import entities
from .entities import XeroInvalid

COLLECTIONS = {
    "Items": ("item", "ItemID", entities.save_item),
    "Contacts": ("contact", "ContactID", entities.save_contact),
    "Invoices": ("invoice", "InvoiceID", entities.save_invoice),
    "Payments": ("payment", "PaymentID", entities.save_payment),
    "Accounts": ("account", "AccountID", None),
}
PAGED = ("Invoices", "Contacts", "Payments")
# Xero compares ids with a guid literal (`Invoice.InvoiceID==guid("...")`, any case): its value is the quoted id.
WHERE_RE = re.compile(r'\s*([A-Za-z.]+)\s*==\s*(?:(?:[Gg][Uu][Ii][Dd]\()?"([^"]*)"\)?|([A-Za-z0-9.\-]+))\s*')


def _tenant(request, kwargs):
    tenant = request.headers.get("xero-tenant-id")
    if not tenant:
        raise core.Answer(policies.forbidden_company("xero", ""))
    return tenant.strip()


def _idempotency_key(request):
    return request.headers.get("Idempotency-Key") if request.method in ("PUT", "POST", "PATCH") else None


def _kind(request, kwargs):
    return COLLECTIONS.get(kwargs.get("collection"), ("", ""))[0] or None


def _is_batch(request, kwargs):
    return request.method in ("PUT", "POST")


def envelope(collection, elements, status=200):
    body = {
        "Id": str(uuid.uuid4()),
        "Status": "OK",
        "ProviderName": "BlueClerk",
        "DateTimeUTC": entities.xero_datetime(core.now()),
        collection: elements,
    }
    return JsonResponse(body, status=status)


def not_found():
    return HttpResponse("The resource you're looking for cannot be found", status=404, content_type="text/html")


def validation_exception(elements, message="A validation exception occurred"):
    return JsonResponse({"ErrorNumber": 10, "Type": "ValidationException", "Message": message, "Elements": elements}, status=400)


def _elements(collection, body):
    if isinstance(body, dict) and isinstance(body.get(collection), list):
        return body[collection]
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        return [body]
    return None


@core.api_view(
    "xero",
    kind=_kind,
    batch=_is_batch,
    company=_tenant,
    idempotency_key=_idempotency_key,
    methods=("GET", "PUT", "POST"),
)
def collection(request, ctx, collection, object_id=None):
    if collection not in COLLECTIONS:
        return not_found()
    if len(request.headers.get("Idempotency-Key") or "") > 128:
        return validation_exception([], "The Idempotency-Key header must not be more than 128 characters long.")
    kind, id_field, save = COLLECTIONS[collection]
    if request.method == "GET":
        return _read(request, ctx, collection, kind, object_id)
    if save is None:
        return validation_exception([], f"The {collection} endpoint does not accept {request.method} in the sandbox.")
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        return JsonResponse(
            {"ErrorNumber": 14, "Type": "PostDataInvalidException", "Message": "JSON for post data was invalid"}, status=400
        )
    elements = _elements(collection, body)
    if not elements:
        return JsonResponse(
            {"ErrorNumber": 14, "Type": "PostDataInvalidException", "Message": "No data has been supplied"}, status=400
        )
    if object_id is not None:
        if len(elements) != 1:
            return validation_exception([], "Only one element may be posted to a single resource.")
        elements = [{**elements[0], id_field: object_id}]
    ctx.note_batch_size(len(elements))
    summarize = request.GET.get("summarizeErrors", "true").lower() != "false"
    answered, failed = [], []
    for element in elements:
        if not isinstance(element, dict):
            element = {}
        try:
            saved = save(ctx.company, element, ctx, request.method == "PUT")
        except XeroInvalid as invalid:
            errored = {
                **element,
                "StatusAttributeString": "ERROR",
                "ValidationErrors": [{"Message": m} for m in invalid.messages],
            }
            answered.append(errored)
            failed.append(errored)
        else:
            answered.append({**saved, "StatusAttributeString": "OK"} if not summarize else saved)
    if failed and summarize:
        return validation_exception(failed)
    return envelope(collection, answered)


def _read(request, ctx, collection, kind, object_id):
    if object_id is not None:
        obj = _find(ctx.company, kind, collection, object_id)
        if obj is None:
            return not_found()
        return envelope(collection, [entities.render(obj)])
    qs = core.object_list(company=ctx.company, kind=kind, include_deleted=request.GET.get("includeArchived") == "true")
    since = request.headers.get("If-Modified-Since")
    if since:
        try:
            moment = parsedate_to_datetime(since) if "," in since else datetime.datetime.fromisoformat(since)
        except (TypeError, ValueError):
            return validation_exception([], "If-Modified-Since is not a valid date.")
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.UTC)
        qs = qs.filter(updated_at__gt=moment)
    lists = {"IDs": None, "InvoiceNumbers": "InvoiceNumber", "ContactIDs": "Contact.ContactID", "Statuses": "Status"}
    records = [entities.render(obj) for obj in qs]
    for param, field in lists.items():
        if request.GET.get(param):
            wanted = {v.strip().lower() for v in request.GET[param].split(",")}
            field = field or COLLECTIONS[collection][1]
            records = [r for r in records if str(_field(r, field) or "").lower() in wanted]
    where = request.GET.get("where")
    if where:
        conditions = []
        for part in re.split(r"\s+(?:AND|&&)\s+", where):
            match = WHERE_RE.fullmatch(part)
            if not match:
                return validation_exception([], f"The where clause '{where}' could not be understood by the sandbox.")
            conditions.append((match.group(1), match.group(2) if match.group(2) is not None else match.group(3)))
        records = [r for r in records if all(str(_field(r, f)).lower() == v.lower() for f, v in conditions)]
    if collection in PAGED and request.GET.get("page"):
        size = min(int(request.GET.get("pageSize") or 100), 1000)
        page = max(int(request.GET["page"]), 1)
        records = records[(page - 1) * size : page * size]
    elif collection == "Invoices":
        # Xero: a list of invoices carries line items only when paged (or read one by one).
        records = [{k: v for k, v in r.items() if k != "LineItems"} for r in records]
    return envelope(collection, records)


def _field(record, path):
    value = record
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _find(company, kind, collection, object_id):
    try:
        return core.object_get(company=company, kind=kind, object_id=str(object_id).lower())
    except core.NotFound:
        pass
    if collection == "Items":
        return core.object_find(company=company, kind="item", alt_key=str(object_id).lower())
    if collection == "Invoices":
        return core.object_find(company=company, kind="invoice", alt_key=str(object_id).lower())
    return None


@core.api_view("xero", kind="organisation", company=_tenant, methods=("GET",))
def organisation(request, ctx):
    company = ctx.company
    return envelope(
        "Organisations",
        [
            {
                "OrganisationID": company.external_id,
                "Name": company.name,
                "LegalName": company.name,
                "ShortCode": company.details.get("ShortCode", ""),
                "BaseCurrency": company.currency,
                "CountryCode": "US",
                "OrganisationType": "COMPANY",
                "OrganisationStatus": "ACTIVE",
                "Version": "US",
                "IsDemoCompany": False,
                "PaysTax": True,
                "FinancialYearEndDay": 31,
                "FinancialYearEndMonth": 12,
                "CreatedDateUTC": entities.xero_datetime(company.created_at),
            }
        ],
    )


def _connection(grant, company):
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{grant.pk}:{company.external_id}")),
        "authEventId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"grant:{grant.pk}")),
        "tenantId": company.external_id,
        "tenantType": "ORGANISATION",
        "tenantName": company.name,
        "createdDateUtc": grant.created_at.strftime("%Y-%m-%dT%H:%M:%S.%f0"),
        "updatedDateUtc": grant.created_at.strftime("%Y-%m-%dT%H:%M:%S.%f0"),
    }


@core.api_view("xero", kind="connections", methods=("GET",))
def connections(request, ctx):
    """GET /connections: the tenants the token's grant reaches."""
    return JsonResponse([_connection(ctx.grant, c) for c in ctx.reachable_companies()], safe=False)


@core.api_view("xero", kind="connections", methods=("DELETE",))
def connection_delete(request, ctx, connection_id):
    """DELETE /connections/<id>: the app no longer reaches that tenant."""
    for company in ctx.reachable_companies():
        if _connection(ctx.grant, company)["id"] == connection_id:
            ctx.grant.companies.remove(company)
            return HttpResponse(status=204)
    return not_found()
