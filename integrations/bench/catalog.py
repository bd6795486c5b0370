"""The benchmark catalog: the demo's trade items (blueclerk.demo), then numbered variants of them
when more are asked for than the demo knows (about 4,700), all with distinct names and codes."""

from __future__ import annotations

from blueclerk.demo import demo_items
from catalog.models import Item


def bench_items(count):
    """`count` (name, code, description, unit_price, kind) tuples with distinct names and codes."""
    base = demo_items(min(count, 4000))
    rows = []
    for round_ in range(count // len(base) + 1):
        for d in base:
            if len(rows) == count:
                return rows
            if round_ == 0:
                rows.append((d.name, d.code, d.description, d.unit_price, d.kind))
            else:
                rows.append((f"{d.name[:90]} #{round_ + 1}", f"{d.code}-{round_ + 1}", d.description, d.unit_price, d.kind))
    return rows


def catalog_create(*, organization, count):
    """Creates `count` items in `organization` in bulk (no per-item hooks: none are linked yet, so
    the planner sees them all as out of date). Returns the items."""
    items = [
        Item(organization=organization, name=name, code=code, description=description, unit_price=price, kind=kind)
        for name, code, description, price, kind in bench_items(count)
    ]
    Item.objects.bulk_create(items, batch_size=1000)
    return list(Item.objects.filter(organization=organization).order_by("pk"))
