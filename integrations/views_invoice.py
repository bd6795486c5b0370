"""Invoice detail, the sync panel: for each connected provider "Sync to <Provider>" before the first
sync and "Resync to <Provider>" after (SENT and PAID invoices), the sync state, the remote number and
the invoice's sync history (SyncEvent). Loaded by htmx into templates/invoices/invoice_detail.html.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from blueclerk.views import organization_required
from invoices.models import Invoice

from . import services
from .models import Connection, ExternalLink, Kind, Provider, SyncEvent

HISTORY = 20
SYNCABLE = (Invoice.Status.SENT, Invoice.Status.PAID)


def invoice_sync_rows(invoice):
    """One row a connected provider: connection, link (or None), events (newest first), button label."""
    connections = list(Connection.objects.filter(organization_id=invoice.organization_id, status=Connection.Status.CONNECTED))
    links = {
        link.connection_id: link
        for link in ExternalLink.objects.filter(connection__in=connections, kind=Kind.INVOICE, local_id=invoice.pk)
    }
    payment_ids = list(invoice.payments.values_list("pk", flat=True))
    rows = []
    for connection in connections:
        link = links.get(connection.pk)
        events = list(
            SyncEvent.objects.filter(connection=connection)
            .filter(Q(kind=Kind.INVOICE, local_id=invoice.pk) | Q(kind=Kind.PAYMENT, local_id__in=payment_ids))
            .order_by("-created_at", "-id")[:HISTORY]
        )
        synced_once = bool(link and link.remote_id)
        verb = "Resync" if synced_once else "Sync"
        rows.append(
            {
                "connection": connection,
                "link": link,
                "events": events,
                "label": f"{verb} to {connection.provider_name}",
                "can_sync": invoice.status in SYNCABLE,
            }
        )
    return rows


def _invoice(request, invoice_id):
    return get_object_or_404(Invoice, organization=request.organization, pk=invoice_id)


def _render(request, invoice):
    return render(request, "integrations/_invoice_panel.html", {"invoice": invoice, "rows": invoice_sync_rows(invoice)})


@organization_required
def invoice_panel(request, invoice_id):
    return _render(request, _invoice(request, invoice_id))


@organization_required
@require_POST
def invoice_sync(request, provider, invoice_id):
    """Sync / Resync the invoice (and its unsynced payments) to one provider."""
    if provider not in Provider.values:
        raise Http404("No such provider.")
    invoice = _invoice(request, invoice_id)
    connection = get_object_or_404(Connection, organization=request.organization, provider=provider)
    try:
        services.invoice_sync(invoice=invoice, connection=connection, requested_by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Invoice {invoice.number} is on its way to {connection.provider_name}.")
    if request.htmx:
        return _render(request, invoice)
    return redirect(reverse("invoice_detail", args=[invoice.pk]) + "#sync")
