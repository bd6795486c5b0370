"""Wave's public GraphQL endpoint in the sandbox: POST /sandbox/wave/graphql/public (Bearer token)."""

import json

from django.http import JsonResponse
from graphql import GraphQLError, parse

from .. import core
from .book import WaveBook
from .engine import execute, request_kinds

READ_KINDS = {
    "customers": "customer",
    "customer": "customer",
    "products": "product",
    "product": "product",
    "invoices": "invoice",
    "invoice": "invoice",
    "invoicePayment": "payment",
}


def _body(request):
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _document(body):
    try:
        return parse(body.get("query") or "")
    except (GraphQLError, TypeError):
        return None


def _is_write(request, kwargs):
    """A mutation counts as a "batch" for the control's fail_next_batches and batch latency: Wave has
    no batch endpoint, and a failed write is what the fault is there to test."""
    body = _body(request)
    document = _document(body) if body else None
    if document is None:
        return False
    return any(d.kind == "operation_definition" and d.operation.value == "mutation" for d in document.definitions)


def _count(ctx, document, operation_name):
    ctx.count_request("graphql")
    if document is None:
        return
    kinds = [k for k in request_kinds(document, operation_name) if k != "query"]
    for definition in document.definitions:
        if definition.kind != "operation_definition" or definition.operation.value != "query":
            continue
        for root in definition.selection_set.selections:
            if getattr(root, "name", None) is None:
                continue
            if root.name.value == "businesses":
                kinds.append("businesses")
            if root.name.value == "business" and root.selection_set:
                kinds += [
                    READ_KINDS[f.name.value]
                    for f in root.selection_set.selections
                    if getattr(f, "name", None) and f.name.value in READ_KINDS
                ]
    for kind in dict.fromkeys(kinds):
        ctx.count_request(kind)


@core.api_view("wave", batch=_is_write, methods=["POST"])
def graphql_public(request, ctx):
    body = _body(request)
    if body is None:
        ctx.count_request("graphql")
        return JsonResponse({"errors": [{"message": "The request body must be a JSON object."}]}, status=400)
    _count(ctx, _document(body), body.get("operationName"))
    companies = ctx.reachable_companies()
    if not companies:
        return JsonResponse(
            {"errors": [{"message": "This token reaches no business.", "extensions": {"code": "FORBIDDEN"}}]}, status=403
        )
    book = WaveBook(company=companies[0], rejects=ctx.rejects)
    variables = body.get("variables")
    if variables is not None and not isinstance(variables, dict):
        return JsonResponse({"errors": [{"message": "Variables must be a JSON object."}]}, status=400)
    status, answer = execute(book=book, query=body.get("query"), variables=variables, operation_name=body.get("operationName"))
    return JsonResponse(answer, status=status)
