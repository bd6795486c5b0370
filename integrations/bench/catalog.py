"""The benchmark catalog: the demo's trade items (blueclerk.demo), then numbered variants of them
when more are asked for than the demo knows (about 4,700), all with distinct names and codes."""

from __future__ import annotations

from itertools import islice

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
    names at most `name_limit` characters, one at a time."""
    base = demo_items(min(count, 4000))
    number = 0
    for round_ in range(count // len(base) + 1):
        for d in base:
            if number == count:
                return
            number += 1
            if round_ == 0:
                yield (_fit(d.name, name_limit, number), d.code, d.description, d.unit_price, d.kind)
            else:
                name = _fit(f"{d.name} #{number}", name_limit, number)
                yield (name, f"{d.code}-{round_ + 1}", d.description, d.unit_price, d.kind)


def catalog_create(*, organization, count, provider="", chunk=1000):
    """Creates `count` items in `organization` in bulk, `chunk` at a time without keeping them (no
    per-item hooks: none are linked yet, so the planner sees them all as out of date): the benchmark's
    peak memory is the sync's, not the catalog's. Returns how many were created."""
    rows = bench_items(count, name_limit=NAME_LIMITS.get(provider, 100))
    created = 0
    while part := list(islice(rows, chunk)):
        Item.objects.bulk_create(
            [Item(organization=organization, name=n, code=c, description=d, unit_price=p, kind=k) for n, c, d, p, k in part]
        )
        created += len(part)
    return created


def catalog_items(organization):
    """The benchmark catalog's items, in id order (for the comparison strategies)."""
    return list(Item.objects.filter(organization=organization).order_by("pk"))
