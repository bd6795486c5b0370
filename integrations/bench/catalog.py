"""The benchmark catalog: the demo's trade items (blueclerk.demo), then numbered variants of them
when more are asked for than the demo knows (about 4,700), all with distinct names and codes."""

from __future__ import annotations

from blueclerk.demo import demo_items
from catalog.models import Item

# Item name lengths the providers accept (Xero: 50; QuickBooks: 100). Longer demo names are cut and
# numbered, so they stay distinct.
NAME_LIMITS = {"xero": 50, "quickbooks": 100}


def _fit(name, limit, number):
    if len(name) <= limit:
        return name
    tag = f" #{number}"
    return name[: limit - len(tag)].rstrip(" ,(") + tag


def bench_items(count, *, name_limit=100):
    """`count` (name, code, description, unit_price, kind) tuples with distinct names and codes,
    names at most `name_limit` characters."""
    base = demo_items(min(count, 4000))
    rows = []
    for round_ in range(count // len(base) + 1):
        for d in base:
            if len(rows) == count:
                return rows
            number = len(rows) + 1
            if round_ == 0:
                rows.append((_fit(d.name, name_limit, number), d.code, d.description, d.unit_price, d.kind))
            else:
                name = _fit(f"{d.name} #{number}", name_limit, number)
                rows.append((name, f"{d.code}-{round_ + 1}", d.description, d.unit_price, d.kind))
    return rows


def catalog_create(*, organization, count, provider=""):
    """Creates `count` items in `organization` in bulk (no per-item hooks: none are linked yet, so
    the planner sees them all as out of date). Returns the items."""
    items = [
        Item(organization=organization, name=name, code=code, description=description, unit_price=price, kind=kind)
        for name, code, description, price, kind in bench_items(count, name_limit=NAME_LIMITS.get(provider, 100))
    ]
    Item.objects.bulk_create(items, batch_size=1000)
    return list(Item.objects.filter(organization=organization).order_by("pk"))
