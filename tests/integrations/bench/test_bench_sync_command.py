"""`manage.py bench_sync` on a tiny catalog against the live test server's sandbox (zero latency).
Figures that depend on time are only checked for presence, never for their value."""

import io
import json

import pytest
import requests
from django.core.management import call_command

from blueclerk.models import Organization
from catalog.models import Item
from integrations.bench.catalog import bench_items
from integrations.sync import throttle

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

KEYS = {
    "wall_s",
    "floor_s",
    "ratio_to_floor",
    "baseline_wall_s",
    "speedup",
    "requests",
    "batches",
    "fallbacks",
    "throttled",
    "queries_per_batch",
    "peak_rss_mb",
    "cpu_ms_per_record",
    "seed_strategy_wall_s",
    "speedup_vs_seed_strategy",
}


@pytest.fixture
def sandbox(live_server, settings):
    settings.SITE_URL = live_server.url
    yield live_server.url
    throttle.close_all_connections()


def bench(provider, items, *extra):
    out = io.StringIO()
    call_command(
        "bench_sync",
        "--provider",
        provider,
        "--items",
        str(items),
        "--latency-ms",
        "0",
        "--batch-latency-ms",
        "0",
        "--baseline-sample",
        "4",
        "--use-site-url",
        "--json",
        *extra,
        stdout=out,
        stderr=io.StringIO(),
    )
    lines = out.getvalue().strip().splitlines()
    return lines, json.loads(lines[-1])


@pytest.mark.parametrize("provider,batch", [("quickbooks", 30), ("xero", 50)])
def test_it_syncs_the_catalog_and_compares_it_with_the_baseline_and_the_seed_strategy(sandbox, provider, batch):
    lines, result = bench(provider, 37)
    assert KEYS <= set(result)
    assert result["status"] == "succeeded"
    assert (result["synced"], result["failed"]) == (37, 0)
    assert result["throttled"] == 0
    assert result["batches"] >= 1 and result["requests"] >= result["batches"]
    assert result["largest_batch"] <= batch
    assert result["floor_batches"] * batch + result["floor_singles"] >= 37
    assert (result["baseline_sample"], result["baseline_scaled"], result["baseline_failed"]) == (4, True, 0)
    assert result["seed_strategy_failed"] == 0
    assert result["seed_strategy_batches"] == 2  # 37 records in sequential batches of 30
    # The seed strategy ran last, on a reset sandbox: the catalog is there once.
    report = requests.get(f"{sandbox}/sandbox/{provider}/_control", timeout=10).json()
    assert report["objects"]["item"] == 37
    text = "\n".join(lines)
    assert "scaled linearly" in text and "floor:" in text and "seed strategy" in text
    assert not Organization.objects.filter(slug__startswith=f"bench-{provider}-").exists()


def test_it_can_measure_our_sync_only_and_keep_the_organization(sandbox):
    _, result = bench("quickbooks", 5, "--skip-comparisons", "--keep")
    assert result["synced"] == 5
    assert "baseline_wall_s" not in result
    organization = Organization.objects.get(slug__startswith="bench-quickbooks-")
    assert Item.objects.filter(organization=organization).count() == 5


@pytest.mark.parametrize("limit", [100, 50])
def test_the_catalog_has_distinct_names_and_codes_beyond_the_demo_universe(limit):
    rows = list(bench_items(9000, name_limit=limit))
    assert len(rows) == 9000
    assert len({name.lower() for name, *_ in rows}) == 9000
    assert len({code for _, code, *_ in rows}) == 9000
    assert max(len(name) for name, *_ in rows) <= limit
