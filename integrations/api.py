"""JSON API of integrations (DRF): thin views over integrations.services.

Every query is limited to the user's organizations, so another organization's ids answer 404 in the
URL (and as the link to retry) and 400 with a message as items or account in the JSON body; nothing is
written either way. A service's ValidationError answers 400 with its messages; a sync service's refusal
of a connection that needs reconnecting answers 401 {"detail": <friendly message>, "code":
"reconnect_required"} (api_errors), while mappings, kept here, can change meanwhile as on the grid;
changing mappings is for owners and admins (403 otherwise)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import OuterRef, Subquery
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from blueclerk.tenancy import organizations_of, require_manager
from catalog.models import Item
from invoices.models import Invoice

from . import services
from .models import Connection, ExternalLink, IncomeAccount, ItemAccountMapping, SyncRun
from .providers.base import ReconnectRequired
from .serializers import (
    BulkMappingResultSerializer,
    BulkMappingSerializer,
    ConnectionSerializer,
    FailureSerializer,
    InvoiceSyncRequestSerializer,
    ItemAccountResultSerializer,
    ItemAccountSerializer,
    ItemIdsSerializer,
    MappingSerializer,
    RetryRequestSerializer,
    RunProgressSerializer,
)
from .services.sync import RETRYABLE, sync_run_progress


def _connections(user):
    return Connection.objects.filter(organization__in=organizations_of(user))


def _connection(request, pk):
    return get_object_or_404(_connections(request.user), pk=pk)


def _call(service, connection, **kwargs):
    """Run a service: its refusal for a connection needing reconnection is 401 (api_errors), any other
    ValidationError 400 with its messages."""
    try:
        return service(connection=connection, **kwargs)
    except DjangoValidationError as exc:
        if getattr(exc, "code", None) == "reconnect_required":
            raise ReconnectRequired(connection.provider_name, provider=connection.provider) from exc
        raise ApiValidationError({"detail": exc.messages}) from exc


def _is_id(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _ids(request, field):
    value = request.data.get(field)
    if not isinstance(value, list) or not all(_is_id(i) for i in value):
        raise ApiValidationError({field: ["Give a list of ids."]})
    return value


def _started(run):
    return Response(sync_run_progress(run=run), status=status.HTTP_202_ACCEPTED)


class ConnectionList(generics.ListAPIView):
    """The connections of the user's organizations, each with its health."""

    serializer_class = ConnectionSerializer

    def get_queryset(self):
        return _connections(self.request.user).order_by("pk")


class ConnectionDetail(generics.RetrieveAPIView):
    """One connection of the user's organizations (another organization's id answers 404)."""

    serializer_class = ConnectionSerializer
    get_queryset = ConnectionList.get_queryset


class ConnectionSync(APIView):
    """POST: start (or join) Sync Now; 202 with the run's progress."""

    @extend_schema(request=None, responses={202: RunProgressSerializer})
    def post(self, request, pk):
        connection = _connection(request, pk)
        return _started(_call(services.sync_now, connection, requested_by=request.user))


class RunDetail(APIView):
    """GET: a sync run's progress."""

    @extend_schema(responses=RunProgressSerializer)
    def get(self, request, pk):
        run = get_object_or_404(SyncRun, pk=pk, connection__organization__in=organizations_of(request.user))
        return Response(sync_run_progress(run=run))


class MappingList(generics.ListAPIView):
    """GET: the organization's items with the income account each one uses on this connection (paged)."""

    serializer_class = MappingSerializer

    def get_queryset(self):
        self.connection = _connection(self.request, self.kwargs["pk"])
        # Each item's own account comes with the page's query: no look-up of every mapping of the connection.
        own = ItemAccountMapping.objects.filter(connection=self.connection, item_id=OuterRef("pk"))
        return (
            Item.objects.filter(organization_id=self.connection.organization_id)
            .annotate(own_account_id=Subquery(own.values("income_account_id")))
            .order_by("name", "pk")
        )

    def get_serializer_context(self):
        context = super().get_serializer_context()
        connection = getattr(self, "connection", None)
        if connection is not None:
            context["default_account_id"] = connection.default_income_account_id
        return context


class MappingItem(APIView):
    """PUT/PATCH {"account": <IncomeAccount id or null>}: one item's account (owners and admins)."""

    @extend_schema(request=ItemAccountSerializer, responses=ItemAccountResultSerializer)
    def put(self, request, pk, item_id):
        connection = _connection(request, pk)
        require_manager(request, organization_id=connection.organization_id)
        if "account" not in request.data or not (request.data["account"] is None or _is_id(request.data["account"])):
            raise ApiValidationError({"account": ["Choose an income account (or null for the default)."]})
        get_object_or_404(Item, pk=item_id, organization_id=connection.organization_id)
        changed = _call(services.item_account_set, connection, item_id=item_id, account_id=request.data["account"])
        return Response({"item": item_id, "account": request.data["account"], "changed": changed})

    @extend_schema(request=ItemAccountSerializer, responses=ItemAccountResultSerializer)
    def patch(self, request, pk, item_id):
        return self.put(request, pk, item_id)


class MappingBulk(APIView):
    """POST {"account": id, "items": [ids]} or {"account": id, "unmapped": true}: map many items to one
    account (owners and admins)."""

    @extend_schema(request=BulkMappingSerializer, responses=BulkMappingResultSerializer)
    def post(self, request, pk):
        connection = _connection(request, pk)
        require_manager(request, organization_id=connection.organization_id)
        account = request.data.get("account")
        if not _is_id(account):
            raise ApiValidationError({"account": ["Choose an income account."]})
        if not IncomeAccount.objects.filter(connection=connection, pk=account).exists():
            # Checked here too: with no item to map, the service would never look at the account.
            raise ApiValidationError({"account": [f"Choose one of the income accounts fetched from {connection.provider_name}."]})
        if request.data.get("unmapped") is True:
            item_ids, changed = _call(services.items_map_unmapped, connection, account_id=account)
        else:
            item_ids = _ids(request, "items")
            changed = _call(services.mapping_save, connection, item_accounts=dict.fromkeys(item_ids, account))
        return Response({"mapped": len(item_ids), "changed": changed})


class ItemsSync(APIView):
    """POST {"items": [ids]}: push the chosen items (at most 100); 202 with the run's progress."""

    @extend_schema(request=ItemIdsSerializer, responses={202: RunProgressSerializer})
    def post(self, request, pk):
        connection = _connection(request, pk)
        item_ids = _ids(request, "items")
        return _started(_call(services.items_sync_selected, connection, item_ids=item_ids, requested_by=request.user))


class InvoiceSync(APIView):
    """POST {"provider": "quickbooks"}: Sync/Resync the invoice to that connection; 202 with progress."""

    @extend_schema(request=InvoiceSyncRequestSerializer, responses={202: RunProgressSerializer})
    def post(self, request, pk):
        invoice = get_object_or_404(Invoice, pk=pk, organization__in=organizations_of(request.user))
        connection = get_object_or_404(
            Connection, organization_id=invoice.organization_id, provider=request.data.get("provider", "")
        )
        return _started(_call(services.invoice_sync, connection, invoice=invoice, requested_by=request.user))


class FailureList(generics.ListAPIView):
    """GET: the connection's failed, blocked and needs-mapping records with their readable errors."""

    serializer_class = FailureSerializer

    def get_queryset(self):
        connection = _connection(self.request, self.kwargs["pk"])
        return ExternalLink.objects.filter(connection=connection, status__in=RETRYABLE).order_by("pk")


class FailureRetry(APIView):
    """POST {"link": id} to retry one record, {} to retry them all; 202 with the run's progress."""

    @extend_schema(request=RetryRequestSerializer, responses={202: RunProgressSerializer})
    def post(self, request, pk):
        connection = _connection(request, pk)
        link_ids = None
        if request.data.get("link") is not None:
            if not _is_id(request.data["link"]):
                raise ApiValidationError({"link": ["Choose a record to retry."]})
            link_ids = [get_object_or_404(ExternalLink, connection=connection, pk=request.data["link"]).pk]
        try:
            return _started(_call(services.sync_retry, connection, link_ids=link_ids, requested_by=request.user))
        except ApiValidationError as exc:
            raise ApiValidationError({"link": exc.detail["detail"]} if link_ids else exc.detail) from exc
