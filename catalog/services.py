"""Writes to the catalog. Each one commits atomically and announces the change after commit."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Lower

from blueclerk.changes import announce_change

from .models import Item

ITEM_FIELDS = ("name", "code", "description", "unit_price", "kind", "active")


def _validate_unique(item):
    others = Item.objects.filter(organization_id=item.organization_id).exclude(pk=item.pk)
    if others.annotate(lname=Lower("name")).filter(lname=item.name.lower()).exists():
        raise ValidationError({"name": f"An item named '{item.name}' already exists."})
    if item.code and others.filter(code=item.code).exists():
        raise ValidationError({"code": f"An item with code '{item.code}' already exists."})


def _clean(item):
    item.name = (item.name or "").strip()
    item.code = (item.code or "").strip()
    if not item.name:
        raise ValidationError({"name": "An item needs a name."})
    item.full_clean(exclude=["organization"], validate_constraints=False)
    _validate_unique(item)


@transaction.atomic
def item_create(*, organization, name, unit_price=0, code="", description="", kind=Item.Kind.SERVICE, active=True, origin=None):
    item = Item(
        organization=organization, name=name, code=code, description=description, unit_price=unit_price, kind=kind, active=active
    )
    _clean(item)
    item.save()
    announce_change(organization_id=organization.id, kind="item", ids=[item.id], action="created", origin=origin)
    return item


@transaction.atomic
def item_update(*, item, origin=None, **changes):
    unknown = set(changes) - set(ITEM_FIELDS)
    if unknown:
        raise TypeError(f"item_update() got unexpected fields: {', '.join(sorted(unknown))}")
    item = Item.objects.select_for_update().get(pk=item.pk)
    changed = [f for f, v in changes.items() if getattr(item, f) != v]
    if not changed:
        return item
    for field in changed:
        setattr(item, field, changes[field])
    _clean(item)
    item.save()
    announce_change(organization_id=item.organization_id, kind="item", ids=[item.id], action="updated", origin=origin)
    return item
