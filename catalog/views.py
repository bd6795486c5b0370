"""Staff pages of the catalog. Reads through selectors, writes through services, scoped to the organization."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from blueclerk.views import apply_service_errors, organization_required, paginate

from . import selectors, services
from .forms import ItemFilterForm, ItemForm


@organization_required
def item_list(request):
    filters = ItemFilterForm(request.GET)
    filters.is_valid()
    items = selectors.item_list(
        organization=request.organization,
        query=filters.cleaned_data.get("q", ""),
        kind=filters.cleaned_data.get("kind", ""),
        active=filters.active_value(),
    )
    page, querystring = paginate(request, items)
    return render(
        request, "catalog/item_list.html", {"nav": "catalog", "filters": filters, "page": page, "querystring": querystring}
    )


@organization_required
def item_detail(request, pk):
    item = selectors.item_get(organization=request.organization, pk=pk)
    return render(request, "catalog/item_detail.html", {"nav": "catalog", "item": item})


@organization_required
def item_create(request):
    form = ItemForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            item = services.item_create(organization=request.organization, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, f"Item “{item.name}” added to the catalog.")
            return redirect("item_detail", pk=item.pk)
    return render(request, "catalog/item_form.html", {"nav": "catalog", "form": form})


@organization_required
def item_edit(request, pk):
    item = selectors.item_get(organization=request.organization, pk=pk)
    form = ItemForm(request.POST or None, instance=item)
    if request.method == "POST" and form.is_valid():
        try:
            item = services.item_update(item=item, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, f"Item “{item.name}” saved.")
            return redirect("item_detail", pk=item.pk)
    return render(request, "catalog/item_form.html", {"nav": "catalog", "form": form, "item": item})


@organization_required
def item_suggest(request):
    """<option>s of active items for an invoice line's datalist (htmx), searched by name or code.

    The line's input sends its own value under its own name (lines-N-item), or `q`.
    """
    query = request.GET.get("q") or next((v for k, v in request.GET.items() if k.endswith("-item")), "")
    items = selectors.item_suggestions(organization=request.organization, query=query)
    return render(request, "catalog/_item_options.html", {"items": items})
