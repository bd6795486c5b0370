from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .models import Item


@login_required
def item_list(request):
    items = Item.objects.filter(organization=request.organization)[:50]
    return render(request, "catalog/item_list.html", {"items": items, "nav": "catalog"})
