"""Settings → Integrations, the sync part of a provider card: counts, last sync, Sync Now with a live
progress bar (htmx polling until the run ends), recent runs, failed records with Retry (one or all).

The card loads its sync panel with htmx (`sync_panel`); every change goes through
integrations.services. Everyone in the organization may sync and retry; connecting stays with managers.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from blueclerk.tenancy import require_manager
from blueclerk.views import organization_required
from catalog.models import Item
from invoices.models import Customer, Invoice, Payment

from . import services
from .models import Connection, ExternalLink, Kind, Provider, SyncRun
from .providers.base import ProviderError, ReconnectRequired
from .services.deposit import (
    CHOSEN_BY_DEFAULT,
    bank_accounts_of,
    bank_accounts_refresh,
    deposit_account_of,
    deposit_account_set,
)
from .services.sync import RETRYABLE, sync_run_progress

RECENT_RUNS = 5
FAILED_SHOWN = 50
# What Wave's card says plainly (providers/FACTS.md): no webhooks, items are not pulled, payments are
# read invoice by invoice, and two-way sync is limited to what Wave's public API exposes.
LIMITATIONS = {
    Provider.WAVE: [
        "Wave sends no webhooks: changes made in Wave arrive with the scheduled check, every 15 minutes.",
        "Items are not pulled from Wave: edit products and services here; they are pushed to Wave.",
        "Payments are read invoice by invoice: a payment recorded in Wave shows up here as the invoice's paid status.",
        "Two-way sync is limited: customers, items, invoices and payments go to Wave; only changed customers "
        "and invoices' paid status come back.",
    ]
}
DEPOSIT_PROVIDERS = (Provider.XERO, Provider.WAVE)
_LABELS = {
    Kind.CUSTOMER: (Customer, "display_name"),
    Kind.ITEM: (Item, "name"),
    Kind.INVOICE: (Invoice, "number"),
}


def _connection(request, provider):
    if provider not in Provider.values:
        raise Http404("No such provider.")
    return get_object_or_404(Connection, organization=request.organization, provider=provider)


def _message(exc):
    return " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)


def sync_counts(connection):
    """{synced, pending, failed, needs_mapping} of the connection's records, from their links."""
    rows = ExternalLink.objects.filter(connection=connection).values_list("status").annotate(n=Count("id")).order_by()
    by_status = dict(rows)
    S = ExternalLink.Status
    return {
        "synced": by_status.get(S.SYNCED, 0),
        "pending": by_status.get(S.PENDING, 0) + by_status.get(S.UNCERTAIN, 0),
        "failed": by_status.get(S.FAILED, 0) + by_status.get(S.BLOCKED, 0),
        "needs_mapping": by_status.get(S.NEEDS_MAPPING, 0),
    }


def failed_records(connection, limit=FAILED_SHOWN):
    """The links waiting on a person, newest first, each with `label` (the record's name or number)."""
    links = list(ExternalLink.objects.filter(connection=connection, status__in=RETRYABLE).order_by("-updated_at", "-id")[:limit])
    ids = {}
    for link in links:
        ids.setdefault(link.kind, set()).add(link.local_id)
    labels = {}
    for kind, local_ids in ids.items():
        if kind in _LABELS:
            model, field = _LABELS[kind]
            rows = model.objects.filter(organization_id=connection.organization_id, pk__in=local_ids).values_list("pk", field)
            labels.update({(kind, pk): value for pk, value in rows})
        elif kind == Kind.PAYMENT:
            rows = Payment.objects.filter(organization_id=connection.organization_id, pk__in=local_ids).values_list(
                "pk", "invoice__number"
            )
            labels.update({(kind, pk): f"Payment on invoice {number}" for pk, number in rows})
    for link in links:
        link.label = labels.get((link.kind, link.local_id), f"{link.get_kind_display()} #{link.local_id}")
        link.error = link.last_error or (
            "Waiting for an income account: map the item in Account mapping."
            if link.status == ExternalLink.Status.NEEDS_MAPPING
            else ""
        )
    return links


def _panel_context(request, connection):
    runs = list(SyncRun.objects.filter(connection=connection).order_by("-created_at", "-id")[:RECENT_RUNS])
    # The bar follows the active run, else it keeps showing how the latest run ended.
    active = next((r for r in runs if r.is_active), None)
    shown = active or (runs[0] if runs else None)
    return {
        "connection": connection,
        "provider": connection.provider,
        "counts": sync_counts(connection),
        "runs": runs,
        "active_run": active,
        "progress": sync_run_progress(run=shown) if shown else None,
        "failed": failed_records(connection),
        "limitations": LIMITATIONS.get(connection.provider, []),
        "usable": connection.is_usable,
        "deposit": connection.provider in DEPOSIT_PROVIDERS,
        **(_deposit_context(connection) if connection.provider in DEPOSIT_PROVIDERS else {}),
        "can_manage": request.membership.can_manage_integrations,
    }


@organization_required
def sync_panel(request, provider):
    """The sync part of a provider card (htmx fragment, also a page of its own without htmx)."""
    connection = _connection(request, provider)
    return render(request, "integrations/_sync_panel.html", _panel_context(request, connection))


@organization_required
def run_progress(request, provider, run_id):
    """The progress bar of one run; it polls itself while the run is active."""
    connection = _connection(request, provider)
    run = get_object_or_404(SyncRun, connection=connection, pk=run_id)
    progress = sync_run_progress(run=run)
    # When the run has just ended, the fragment reloads the whole panel once (fresh counts, runs, failures).
    context = {"provider": provider, "progress": progress, "reload_panel": not progress["active"]}
    return render(request, "integrations/_run_progress.html", context)


def _back(request, connection):
    if request.htmx:
        return render(request, "integrations/_sync_panel.html", _panel_context(request, connection))
    return redirect(reverse("integrations:index") + f"#{connection.provider}")


@organization_required
@require_POST
def sync_now(request, provider):
    """Sync Now: start (or join) the run that pushes every out-of-date record."""
    connection = _connection(request, provider)
    try:
        services.sync_now(connection=connection, requested_by=request.user)
    except ValidationError as exc:
        messages.error(request, _message(exc))
    return _back(request, connection)


@organization_required
@require_POST
def retry(request, provider):
    """Retry one failed record (`link` in the form) or all of them."""
    connection = _connection(request, provider)
    link_id = request.POST.get("link", "")
    link_ids = None
    if link_id:
        if not link_id.isdigit():
            messages.error(request, "Choose a record to retry.")
            return _back(request, connection)
        link_ids = [get_object_or_404(ExternalLink, connection=connection, pk=int(link_id)).pk]
    try:
        services.sync_retry(connection=connection, link_ids=link_ids, requested_by=request.user)
    except ValidationError as exc:
        messages.error(request, _message(exc))
    return _back(request, connection)


def _deposit_context(connection):
    """The deposit account part of the panel: the fetched bank accounts (the chosen one marked), the
    choice, and whether the list was ever fetched."""
    choice = deposit_account_of(connection)
    chosen_id = choice["account"]["id"] if choice and choice["account"] else None
    return {
        "bank_accounts": [{**account, "selected": account["id"] == chosen_id} for account in bank_accounts_of(connection)],
        "bank_accounts_fetched": bool((connection.details or {}).get("bank_accounts_fetched_at")),
        "deposit_choice": choice,
        "deposit_chosen_by_default": bool(choice and choice["chosen_by"] == CHOSEN_BY_DEFAULT),
        "no_bank_account_message": no_bank_account_message(connection.provider_name),
    }


@organization_required
@require_POST
def deposit_account(request, provider):
    """Xero and Wave (owners and admins): choose the bank account payments go into
    (`deposit_account_id`, one of the fetched list), or `action=refresh` to fetch the list again."""
    require_manager(request)
    connection = _connection(request, provider)
    name = connection.provider_name
    try:
        if request.POST.get("action") == "refresh":
            _bank_accounts_refresh(request, connection)
        else:
            deposit_account_set(connection=connection, account_id=request.POST.get("deposit_account_id", ""))
            messages.success(request, f"Deposit account for {name} payments saved.")
    except ValidationError as exc:
        messages.error(request, _message(exc))
    except ReconnectRequired as exc:
        messages.error(request, exc.message)
    except ProviderError as exc:
        messages.error(
            request, f"{name} could not be reached to list its bank accounts ({exc.message}). Try Refresh list again later."
        )
    return redirect(reverse("integrations:index") + f"#{connection.provider}")


def _bank_accounts_refresh(request, connection):
    name = connection.provider_name
    connection = bank_accounts_refresh(connection=connection)
    count = len(bank_accounts_of(connection))
    if count:
        messages.success(request, f"{count} bank account{'s' if count != 1 else ''} fetched from {name}.")
    else:
        messages.warning(request, no_bank_account_message(name))


def no_bank_account_message(name):
    return f"{name} has no bank account to deposit payments to. Add one in {name}'s chart of accounts, then Refresh list."
