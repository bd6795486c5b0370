"""Settings → Integrations → Account Mapping: the grid of every item with its income account.

The grid is paged, searchable and filtered (mapped / unmapped / failed) in the database: a page costs the
same few queries whatever the size of the catalog (the page's items, one COUNT, and one look-up each for
the page's mappings and sync states). A select saves by itself through htmx and answers the small status
text shown in place; the services send `mapping_changed` after commit, so the item is synced again.
Bulk actions: Map Selected, Map All Unmapped (to the account chosen in the toolbar) and Sync Selected
(at most `MAX_SELECTED_ITEMS` a click, as the page says before the click).
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_http_methods, require_POST

from blueclerk.tenancy import require_manager
from blueclerk.views import organization_required, paginate
from catalog.models import Item

from . import services
from .forms import DefaultAccountForm
from .models import Connection, ExternalLink, IncomeAccount, ItemAccountMapping, Kind, Provider
from .services.mapping import grid_items, has_own_account
from .services.sync import MAX_SELECTED_ITEMS

FILTERS = {"": "All items", "mapped": "Own account", "unmapped": "Default account", "failed": "Failed to sync"}
FAILED = [ExternalLink.Status.FAILED, ExternalLink.Status.BLOCKED, ExternalLink.Status.NEEDS_MAPPING]


def _connection(request, provider):
    if provider not in Provider.values:
        raise Http404("No such provider.")
    return get_object_or_404(Connection, organization=request.organization, provider=provider)


def _message(exc):
    return " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)


def _grid_items(connection, *, search, show):
    """The grid's items, filtered in the database (no per-item work)."""
    items = grid_items(connection)
    if search:
        items = items.filter(Q(name__icontains=search) | Q(code__icontains=search))
    if show == "mapped":
        items = items.filter(has_own_account(connection))
    elif show == "unmapped":
        items = items.exclude(has_own_account(connection))
    elif show == "failed":
        failed = ExternalLink.objects.filter(connection=connection, kind=Kind.ITEM, local_id=OuterRef("pk"), status__in=FAILED)
        items = items.filter(Exists(failed))
    return items.order_by("name", "id")


def _back(request, provider):
    """Back to the grid with the same search, filter and page."""
    url = reverse("integrations:mapping", args=[provider])
    query = request.POST.get("return_query", "")
    return redirect(f"{url}?{query}" if query else url)


@organization_required
@require_http_methods(["GET", "POST"])
def mapping(request, provider):
    """The default income account (form) and the grid of per-item accounts."""
    connection = _connection(request, provider)
    accounts = list(IncomeAccount.objects.filter(connection=connection, active=True))
    form = DefaultAccountForm(
        request.POST or None, accounts=accounts, initial={"default_account": connection.default_income_account_id}
    )
    if request.method == "POST":
        require_manager(request)
        if form.is_valid():
            try:
                changed = services.mapping_save(connection=connection, default_account_id=form.cleaned_data["default_account"])
            except ValidationError as exc:
                form.add_error(None, _message(exc))
            else:
                messages.success(request, f"Default income account saved ({len(changed)} item(s) will be sent again).")
                return redirect("integrations:mapping", provider=provider)
    search = request.GET.get("q", "").strip()
    show = request.GET.get("show", "")
    show = show if show in FILTERS else ""
    page, querystring = paginate(request, _grid_items(connection, search=search, show=show))
    ids = [item.pk for item in page]
    chosen = dict(
        ItemAccountMapping.objects.filter(connection=connection, item_id__in=ids).values_list("item_id", "income_account_id")
    )
    links = {
        link.local_id: link
        for link in ExternalLink.objects.filter(connection=connection, kind=Kind.ITEM, local_id__in=ids).only(
            "local_id", "status", "last_error"
        )
    }
    rows = [{"item": item, "account_id": chosen.get(item.pk), "link": links.get(item.pk)} for item in page]
    return render(
        request,
        "integrations/mapping.html",
        {
            "nav": "settings",
            "connection": connection,
            "accounts": accounts,
            "form": form,
            "rows": rows,
            "page": page,
            "querystring": querystring,
            "return_query": request.GET.urlencode(),
            "search": search,
            "show": show,
            "filters": FILTERS,
            "max_selected": MAX_SELECTED_ITEMS,
            "can_manage": request.membership.can_manage_integrations,
        },
    )


@organization_required
@require_POST
def mapping_item(request, provider, item_id):
    """One item's account (htmx autosave): answers the small status text shown next to the select."""
    require_manager(request)
    connection = _connection(request, provider)
    get_object_or_404(Item, organization=request.organization, pk=item_id)
    value = request.POST.get("account") or None
    try:
        services.item_account_set(connection=connection, item_id=item_id, account_id=int(value) if value else None)
    except (ValidationError, ValueError) as exc:
        text = _message(exc) if isinstance(exc, ValidationError) else "Choose an income account."
        if request.htmx:
            return HttpResponse(format_html('<span class="error" role="alert">{}</span>', text), status=422)
        messages.error(request, text)
    else:
        if request.htmx:
            return HttpResponse('<span class="muted" role="status">Saved</span>')
        messages.success(request, "Saved.")
    return _back(request, provider)


@organization_required
@require_POST
def mapping_bulk(request, provider):
    """The toolbar's buttons: Map Selected, Map All Unmapped, Sync Selected to <Provider>."""
    require_manager(request)
    connection = _connection(request, provider)
    action = request.POST.get("action", "")
    selected = request.POST.getlist("item")
    try:
        item_ids = [int(i) for i in selected]
        if action in ("map_selected", "map_unmapped"):
            account_id = request.POST.get("bulk_account") or None
            if account_id is None:
                raise ValidationError("Choose the income account to map the items to.")
            if action == "map_selected":
                if not item_ids:
                    raise ValidationError("Tick at least one item to map.")
                changed = services.mapping_save(connection=connection, item_accounts=dict.fromkeys(item_ids, int(account_id)))
            else:
                item_ids, changed = services.items_map_unmapped(connection=connection, account_id=int(account_id))
            messages.success(
                request, f"{len(item_ids)} item(s) mapped; {len(changed)} will be sent to {connection.provider_name} again."
            )
        elif action == "sync_selected":
            services.items_sync_selected(connection=connection, item_ids=item_ids, requested_by=request.user)
            messages.success(request, f"{len(item_ids)} item(s) are being sent to {connection.provider_name}.")
        else:
            raise ValidationError("Unknown action.")
    except ValueError:
        messages.error(request, "Choose items and an income account from the lists.")
    except ValidationError as exc:
        messages.error(request, _message(exc))
    return _back(request, provider)
