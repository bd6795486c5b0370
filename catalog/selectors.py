"""Reads of the catalog, always within one organization."""

from django.db.models import Case, Q, When
from django.shortcuts import get_object_or_404

from .models import Item


def item_list(*, organization, query="", kind="", active=None):
    """Items of the organization matching `query` (name, code or description), ordered by name.

    Returns a lazy queryset: page it (the list pages never load the whole catalog).
    """
    items = Item.objects.filter(organization=organization)
    query = (query or "").strip()
    if query:
        items = items.filter(Q(name__icontains=query) | Q(code__icontains=query) | Q(description__icontains=query))
    if kind:
        items = items.filter(kind=kind)
    if active is not None:
        items = items.filter(active=active)
    return items


def item_get(*, organization, pk):
    """The organization's item, or 404 (another organization's item does not exist for this one)."""
    return get_object_or_404(Item, organization=organization, pk=pk)


def item_suggestions(*, organization, query, limit=20):
    """Active items whose name or code contains `query`: what an invoice line offers while typing."""
    items = Item.objects.filter(organization=organization, active=True)
    query = (query or "").strip()
    if query:
        items = items.filter(Q(name__icontains=query) | Q(code__icontains=query))
        # What the user is typing the start of comes first ("trip" → "Trip charge" before "triple-gang box").
        starts = Case(When(Q(name__istartswith=query) | Q(code__istartswith=query), then=0), default=1)
        items = items.annotate(starts=starts).order_by("starts", "name", "id")
    return items.only("id", "name", "code", "unit_price")[:limit]


def item_find(*, organization, reference):
    """The item an invoice line names: by exact code first, then by name (both unique per organization).

    Accepts what the line's suggestions put in the box ("CODE · Name") as well as a bare code or name.
    Returns None when nothing matches.
    """
    reference = (reference or "").strip()
    if not reference:
        return None
    items = Item.objects.filter(organization=organization)
    candidates = [reference]
    if " · " in reference:
        candidates = [*reference.split(" · ", 1), reference]
    for candidate in candidates:
        candidate = candidate.strip()
        item = items.filter(code=candidate).exclude(code="").first() or items.filter(name__iexact=candidate).first()
        if item:
            return item
    return None
