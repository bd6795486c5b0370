"""QuickBooks Online v3 data API of the sandbox, under /sandbox/quickbooks/v3/company/<realmId>/.

Validation faults answer HTTP 400 with {"Fault": ..., "time": ...}; inside a batch each operation
answers its own {"bId", "Fault"} and the batch is 200. More than `limits.max_batch_size` operations
(30) is fault 1040 for the whole batch. Writes with `requestid` replay the first answer.
"""

import datetime
import json

from django.db import transaction
from django.http import JsonResponse

from .. import core, policies
from . import entities, query, xsd
from .entities import KINDS, QBFault

ENTITY_BY_URL = {entity.lower(): entity for entity in KINDS}


def _realm(request, kwargs):
    return kwargs["realm_id"]


def _request_id(request):
    return request.GET.get("requestid") if request.method == "POST" else None


def answer(body, status=200):
    body = {**body, "time": policies.qb_time()}
    return JsonResponse(body, status=status)


def fault_answer(fault, status=400):
    return answer({"Fault": fault.body()}, status=status)


def _json_body(request):
    try:
        return json.loads(request.body or b"{}")
    except ValueError:
        raise core.Answer(
            fault_answer(QBFault(2010, "Request has invalid or unsupported property", "The request body is not valid JSON."))
        ) from None


def _kind_of(request, kwargs):
    return KINDS.get(ENTITY_BY_URL.get(kwargs.get("entity", "").lower(), ""), kwargs.get("entity", "").lower())


def operate(company, entity, operation, body, ctx):
    """One create/update/delete/void on `entity`: the entity JSON (or raises QBFault)."""
    if ctx is not None and ctx.config.get("validate_xsd") and operation in ("create", "update") and isinstance(body, dict):
        try:
            xsd.validate(entity, body)
        except xsd.Invalid as invalid:
            raise QBFault(
                2010,
                "Request has invalid or unsupported property",
                f"Property Name:{invalid} specified is unsupported or invalid",
            ) from None
    if operation == "create":
        if isinstance(body, dict) and body.get("Id"):
            return entities.update(company, entity, body, ctx)
        return entities.create(company, entity, body, ctx)
    if operation == "update":
        return entities.update(company, entity, body, ctx)
    if operation == "delete":
        return entities.delete(company, entity, body)
    if operation == "void":
        return entities.void(company, entity, body)
    raise QBFault(2010, "Request has invalid or unsupported property", f"Unsupported operation {operation}")


@core.api_view("quickbooks", kind=_kind_of, company=_realm, idempotency_key=_request_id, methods=("GET", "POST"))
def entity_collection(request, ctx, realm_id, entity):
    """POST .../<entity>: create, or update when the body has an Id; ?operation=delete|void|update."""
    name = ENTITY_BY_URL.get(entity.lower())
    if name is None or request.method != "POST":
        return fault_answer(QBFault(2010, "Unsupported Operation", f"Operation {request.method} {entity} is not supported."))
    if len(request.GET.get("requestid") or "") > 50:
        return fault_answer(
            QBFault(
                2050,
                "String length is either shorter or longer than supported by specification",
                "requestid may have at most 50 characters.",
                "requestid",
            )
        )
    body = _json_body(request)
    operation = request.GET.get("operation", "create")
    if isinstance(body, dict) and name in body and isinstance(body[name], dict) and len(body) == 1:
        body = body[name]
    try:
        result = operate(ctx.company, name, operation, body, ctx)
    except QBFault as fault:
        return fault_answer(fault)
    return answer({name: result})


@core.api_view("quickbooks", kind=_kind_of, company=_realm, methods=("GET", "POST"))
def entity_detail(request, ctx, realm_id, entity, object_id):
    name = ENTITY_BY_URL.get(entity.lower())
    if name is None:
        return fault_answer(QBFault(2010, "Unsupported Operation", f"Entity {entity} is not supported."))
    try:
        return answer({name: entities.read(ctx.company, name, object_id)})
    except QBFault as fault:
        return fault_answer(fault)


@core.api_view("quickbooks", kind="companyinfo", company=_realm, methods=("GET",))
def company_info(request, ctx, realm_id, object_id):
    return answer({"CompanyInfo": entities.company_info(ctx.company)})


@core.api_view("quickbooks", kind="query", company=_realm, methods=("GET", "POST"))
def query_view(request, ctx, realm_id):
    """GET ?query=... or POST with the query as the (text) body."""
    text = request.GET.get("query") if request.method == "GET" else request.body.decode("utf-8", "replace")
    if not text:
        return fault_answer(QBFault(4000, "Error parsing query", "QueryParserError: query is missing"))
    try:
        return answer({"QueryResponse": query.run(ctx.company, text)})
    except QBFault as fault:
        return fault_answer(fault)


def _is_batch(request, kwargs):
    return request.method == "POST"


@core.api_view("quickbooks", kind="batch", batch=_is_batch, company=_realm, idempotency_key=_request_id, methods=("POST",))
def batch(request, ctx, realm_id):
    """POST .../batch {"BatchItemRequest": [...]}: each operation answers on its own bId."""
    body = _json_body(request)
    items = body.get("BatchItemRequest") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        return fault_answer(
            QBFault(2020, "Required param missing, need to supply the required value for the API", "BatchItemRequest is required")
        )
    ctx.note_batch_size(len(items))
    request_id = request.GET.get("requestid")
    if request_id is not None and (
        len(request_id) > 36 or any(len(str(i.get("bId", ""))) > 10 for i in items if isinstance(i, dict))
    ):
        return fault_answer(
            QBFault(
                2050,
                "String length is either shorter or longer than supported by specification",
                "With requestid, a batch's requestid may have at most 36 characters and each bId at most 10.",
                "requestid",
            )
        )
    limit = ctx.limits.get("max_batch_size")
    if limit is not None and len(items) > int(limit):
        return fault_answer(
            QBFault(
                1040,
                "Request has exceeded the maximum number of allowed batch items",
                f"Max {limit} items in a batch; {len(items)} sent.",
            )
        )
    responses = []
    # One transaction for the whole batch: one commit instead of thirty. Every operation that writes
    # more than one row runs in its own savepoint (entities.py), so a failed one leaves the others.
    with transaction.atomic():
        for item in items:
            bid = str(item.get("bId", ""))
            try:
                responses.append({"bId": bid, **_batch_item(ctx, item)})
            except QBFault as fault:
                responses.append({"bId": bid, "Fault": fault.body()})
    return answer({"BatchItemResponse": responses})


def _batch_item(ctx, item):
    if "Query" in item:
        return {"QueryResponse": query.run(ctx.company, item["Query"])}
    entity = next((name for name in KINDS if name in item), None)
    if entity is None:
        raise QBFault(2010, "Request has invalid or unsupported property", "The batch item names no supported entity.")
    operation = item.get("operation") or "create"
    if item.get("optionsData") == "void" or operation == "void":
        operation = "void"
    return {entity: operate(ctx.company, entity, operation, item[entity], ctx)}


@core.api_view("quickbooks", kind="cdc", company=_realm, methods=("GET",))
def cdc(request, ctx, realm_id):
    """Change data capture: ?entities=Item,Customer&changedSince=<ISO 8601>; deleted ones as status Deleted."""
    names = [n.strip() for n in request.GET.get("entities", "").split(",") if n.strip()]
    since_text = request.GET.get("changedSince", "")
    since = query._as_datetime(since_text)
    if not names or since is None:
        return fault_answer(
            QBFault(
                2020,
                "Required param missing, need to supply the required value for the API",
                "entities and changedSince are required",
            )
        )
    if since < core.now() - datetime.timedelta(days=30):
        return fault_answer(QBFault(2030, "Invalid ID", "changedSince may be at most 30 days in the past"))
    answers = []
    remaining = 1000
    for raw in names:
        entity = {e.lower(): e for e in KINDS}.get(raw.lower())
        if entity is None:
            return fault_answer(QBFault(2010, "Request has invalid or unsupported property", f"Unsupported entity {raw}"))
        records = []
        for obj in core.object_list(company=ctx.company, kind=KINDS[entity], changed_since=since, include_deleted=True)[
            :remaining
        ]:
            if obj.status == "deleted":
                records.append(
                    {
                        "domain": "QBO",
                        "status": "Deleted",
                        "Id": obj.object_id,
                        "MetaData": {"LastUpdatedTime": entities.qb_datetime(obj.updated_at)},
                    }
                )
            else:
                records.append(entities._public(entities.render(obj)))
        remaining -= len(records)
        page = {entity: records, "startPosition": 1, "maxResults": len(records)} if records else {}
        answers.append(page)
    return answer({"CDCResponse": [{"QueryResponse": answers}]})


def discovery(request):
    """Intuit's OpenID discovery document, pointing at the sandbox (intuitlib accepts its URL as environment)."""
    base = request.build_absolute_uri("/sandbox/quickbooks").rstrip("/")
    return JsonResponse(
        {
            "issuer": "https://oauth.platform.intuit.com/op/v1",
            "authorization_endpoint": f"{base}/connect/oauth2",
            "token_endpoint": f"{base}/oauth2/v1/tokens/bearer",
            "userinfo_endpoint": f"{base}/v1/openid_connect/userinfo",
            "revocation_endpoint": f"{base}/v2/oauth2/tokens/revoke",
            "jwks_uri": f"{base}/oauth2/v1/keys",
            "response_types_supported": ["code"],
            "scopes_supported": ["openid", "email", "profile", "address", "phone"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        }
    )
