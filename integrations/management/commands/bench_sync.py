"""`python manage.py bench_sync --provider quickbooks|xero|freshbooks|wave --items N [--latency-ms L]
[--batch-latency-ms B] [--baseline-sample S] [--json]`

Benchmarks the push engine against the built-in sandbox over real HTTP: resets the provider's
sandbox, connects a fresh organization with N catalog items, syncs them, and prints the wall time,
requests, batches, fallbacks, 429s, database queries, peak RSS and CPU of this process, the floor the
sandbox's limits allow (integrations.bench.floor) and, in the same run, the one-record-per-request
baseline and the seed's strategy (integrations.bench.strategies) on a reset sandbox each.

The sandbox is served by a `runserver` subprocess on a free port (its CPU and memory are not ours),
unless --use-site-url says one already serves it at SITE_URL (tests: pytest-django's live_server).
The benchmark organization is deleted at the end unless --keep.
"""

import json
import signal
import sys
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from integrations.bench import measure
from integrations.bench.catalog import catalog_create, catalog_items
from integrations.bench.floor import floor_for
from integrations.bench.sandbox import control, minted_adapter, organization_connect, sandbox_reset
from integrations.bench.server import sandbox_server
from integrations.bench.strategies import baseline_run, push_requests, seed_strategy_run
from integrations.models import ExternalLink, SyncRun
from integrations.providers.registry import adapter_class
from integrations.sync import runs, throttle

SEED_BATCH = 30


class Command(BaseCommand):
    help = "Benchmark a full catalog sync against the sandbox: wall time, floor, baseline and seed strategy."

    def add_arguments(self, parser):
        parser.add_argument("--provider", required=True, choices=["quickbooks", "xero", "freshbooks", "wave"])
        parser.add_argument("--items", type=int, required=True, help="catalog items to sync")
        parser.add_argument("--latency-ms", type=int, default=330, help="sandbox latency of a single request (default 330)")
        parser.add_argument("--batch-latency-ms", type=int, default=500, help="sandbox latency of a batch request (default 500)")
        parser.add_argument(
            "--baseline-sample", type=int, default=300, help="records the one-per-request baseline sends (scaled to N)"
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=0,
            help="also sync this many organizations at once with a qcluster of this many workers",
        )
        parser.add_argument("--skip-comparisons", action="store_true", help="measure our sync only")
        parser.add_argument("--use-site-url", action="store_true", help="the sandbox is already served at SITE_URL")
        parser.add_argument("--keep", action="store_true", help="keep the benchmark organization")
        parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")

    def handle(self, *args, **options):
        from django.conf import settings

        if options["items"] < 1:
            raise CommandError("--items must be at least 1.")
        # Stopped with SIGTERM: unwind, so the sandbox server and the qcluster subprocesses stop too.
        previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        try:
            if options["use_site_url"]:
                result = self._bench(settings.SITE_URL, options)
            else:
                with sandbox_server(provider=options["provider"]) as url:
                    result = self._bench(url, options)
        finally:
            signal.signal(signal.SIGTERM, previous)
        self._print(result, options)

    # --- the benchmark -----------------------------------------------------------------------------

    def _bench(self, url, options):
        provider, n = options["provider"], options["items"]
        single_ms, batch_ms = options["latency_ms"], options["batch_latency_ms"]
        self.stderr.write(f"Resetting the {provider} sandbox and creating {n} items…")
        sandbox_reset(base_url=url, provider=provider, single_ms=single_ms, batch_ms=batch_ms)
        organization, connection, _ = organization_connect(base_url=url, provider=provider)
        try:
            catalog_create(organization=organization, count=n, provider=provider)
            before = control(url, provider)
            self.stderr.write("Syncing…")
            cpu0 = measure.cpu_seconds()
            with measure.counting_queries() as queries:
                started = time.monotonic()
                run = self._drive(connection)
                wall = time.monotonic() - started
            cpu = measure.cpu_seconds() - cpu0
            peak = measure.peak_rss_mb()
            report = control(url, provider)
            throttle.close_all_connections()
            batch_size = adapter_class(provider).batch_sizes.get("item", 1)
            floor = floor_for(
                records=n,
                batch_size=batch_size,
                limits=report.get("limits") or {},
                single_latency=single_ms / 1000,
                batch_latency=batch_ms / 1000,
            )
            push_requests_sent = max(1, run.requests)
            result = {
                "provider": provider,
                "items": n,
                "latency_ms": single_ms,
                "batch_latency_ms": batch_ms,
                "status": run.status,
                "synced": run.succeeded,
                "failed": run.failed,
                "errors": list(
                    ExternalLink.objects.filter(connection=connection)
                    .exclude(status=ExternalLink.Status.SYNCED)
                    .values_list("last_error", flat=True)[:3]
                ),
                "wall_s": round(wall, 2),
                "floor_s": round(floor.seconds, 2),
                "ratio_to_floor": round(wall / floor.seconds, 3) if floor.seconds else None,
                "floor_how": floor.explanation,
                "floor_batches": floor.batches,
                "floor_singles": floor.singles,
                "requests": run.requests,
                "requests_by_kind": _delta(before.get("requests", {}), report.get("requests", {})),
                "batches": run.batches,
                "fallbacks": run.fallbacks,
                "continuations": run.continuations,
                "throttled": report.get("throttled", 0),
                "throttled_by": report.get("throttled_by", {}),
                "throttled_seen_by_us": run.throttled,
                "max_in_flight": report.get("max_in_flight"),
                "largest_batch": report.get("largest_batch"),
                "limits": report.get("limits"),
                "queries": queries.count,
                "queries_per_100_records": round(queries.count * 100 / n, 2),
                "queries_per_batch": round(queries.count / push_requests_sent, 2),
                "peak_rss_mb": round(peak, 1),
                "cpu_s": round(cpu, 2),
                "cpu_ms_per_record": round(cpu * 1000 / n, 3),
            }
            if not options["skip_comparisons"]:
                result.update(self._comparisons(url, provider, catalog_items(organization), options, wall))
            if options["workers"]:
                result.update(self._workers(url, provider, options, wall))
            return result
        finally:
            if not options["keep"]:
                organization.delete()

    def _drive(self, connection):
        """The run executed here, budget after budget, as `manage.py sync` does."""
        with transaction.atomic():
            run, _ = runs.run_request(
                connection=connection, trigger=SyncRun.Trigger.COMMAND, scope=runs.make_scope(kinds=["item"])
            )
        while True:
            claimed = runs.run_claim(run_id=run.pk)
            if claimed is None:
                run.refresh_from_db()
                if not run.is_active:
                    return run
                time.sleep(0.5)
                continue
            if runs.run_execute(run=claimed, progress=None):
                claimed.refresh_from_db()
                return claimed
            runs.run_checkpoint(run=claimed)

    def _comparisons(self, url, provider, items, options, wall):
        single_ms, batch_ms = options["latency_ms"], options["batch_latency_ms"]
        n = len(items)
        sample = min(n, max(1, options["baseline_sample"]))
        self.stderr.write(f"Baseline: {sample} records one per request…")
        sandbox_reset(base_url=url, provider=provider, single_ms=single_ms, batch_ms=batch_ms)
        adapter, account = minted_adapter(base_url=url, provider=provider)
        baseline = baseline_run(adapter=adapter, requests=push_requests(items[:sample], account))
        baseline_wall = baseline.wall_s * n / sample
        seed_batch = min(SEED_BATCH, adapter_class(provider).batch_sizes.get("item", 1))
        self.stderr.write(f"Seed strategy: {n} records in sequential batches of {seed_batch}…")
        sandbox_reset(base_url=url, provider=provider, single_ms=single_ms, batch_ms=batch_ms)
        adapter, account = minted_adapter(base_url=url, provider=provider)
        seed = seed_strategy_run(adapter=adapter, requests=push_requests(items, account), batch_size=seed_batch)
        return {
            "baseline_sample": sample,
            "baseline_sample_wall_s": round(baseline.wall_s, 2),
            "baseline_wall_s": round(baseline_wall, 2),
            "baseline_scaled": sample < n,
            "baseline_throttled": baseline.throttled,
            "baseline_failed": baseline.failed,
            "comparison_errors": (baseline.errors + seed.errors)[:3],
            "speedup": round(baseline_wall / wall, 2) if wall else None,
            "seed_strategy_wall_s": round(seed.wall_s, 2),
            "seed_strategy_requests": seed.requests,
            "seed_strategy_batches": seed.batches,
            "seed_strategy_fallbacks": seed.fallbacks,
            "seed_strategy_throttled": seed.throttled,
            "seed_strategy_failed": seed.failed,
            "speedup_vs_seed_strategy": round(seed.wall_s / wall, 2) if wall else None,
        }

    def _workers(self, url, provider, options, single_wall):
        from integrations.bench.workers import workers_run

        w, n = options["workers"], options["items"]
        self.stderr.write(f"Workers: {w} organizations of {n} items at once on a qcluster of {w} workers…")
        sandbox_reset(base_url=url, provider=provider, single_ms=options["latency_ms"], batch_ms=options["batch_latency_ms"])
        wall, finished, organizations = workers_run(base_url=url, provider=provider, workers=w, items=n)
        try:
            report = control(url, provider)
            single = n / single_wall if single_wall else 0
            total = sum(r.succeeded for r in finished) / wall if wall else 0
            return {
                "workers": w,
                "workers_wall_s": round(wall, 2),
                "workers_synced": sum(r.succeeded for r in finished),
                "workers_failed": sum(r.failed for r in finished),
                "workers_statuses": sorted(r.status for r in finished),
                "workers_errors": sorted({r.error for r in finished if r.error}),
                "workers_throughput_per_s": round(total, 2),
                "single_throughput_per_s": round(single, 2),
                "workers_throughput_ratio": round(total / single, 2) if single else None,
                "workers_throttled": report.get("throttled", 0),
                "workers_throttled_by": report.get("throttled_by", {}),
                "workers_max_in_flight": report.get("max_in_flight"),
            }
        finally:
            if not options["keep"]:
                for organization in organizations:
                    organization.delete()

    # --- output ------------------------------------------------------------------------------------

    def _print(self, r, options):
        w = self.stdout.write
        w(
            f"bench_sync {r['provider']}: {r['items']} items, {r['batch_latency_ms']} ms per batch, {r['latency_ms']} ms per single request"
        )
        w(f"  run: {r['status']}, {r['synced']} synced, {r['failed']} failed, {r['continuations']} continuations")
        w(f"  wall time: {r['wall_s']:.2f} s")
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(r["requests_by_kind"].items()) if v)
        w(f"  requests: {r['requests']} pushes ({r['batches']} batches); sandbox counted by kind: {kinds}")
        w(
            f"  fallbacks: {r['fallbacks']}; 429s received: {r['throttled']}{_by(r['throttled_by'])}; largest batch {r['largest_batch']}; "
            f"most in flight {r['max_in_flight']}"
        )
        w(
            f"  database queries (sync thread): {r['queries']} = {r['queries_per_100_records']} per 100 records, "
            f"{r['queries_per_batch']} per request"
        )
        w(f"  peak RSS: {r['peak_rss_mb']} MB; CPU in this process: {r['cpu_s']} s = {r['cpu_ms_per_record']} ms per record")
        w(f"  floor: {r['floor_s']:.2f} s ({r['floor_how']})")
        w(f"  wall / floor: {r['ratio_to_floor']}")
        if "baseline_wall_s" in r:
            scaled = (
                f", measured on {r['baseline_sample']} records ({r['baseline_sample_wall_s']} s) and scaled linearly"
                if r["baseline_scaled"]
                else ""
            )
            w(
                f"  baseline (one record per request, sequential): {r['baseline_wall_s']:.2f} s{scaled}; "
                f"{r['baseline_throttled']} 429s; speed-up {r['speedup']}x"
            )
            w(
                f"  seed strategy (sequential batches, limits ignored, singles on failure): {r['seed_strategy_wall_s']:.2f} s, "
                f"{r['seed_strategy_requests']} requests, {r['seed_strategy_fallbacks']} fallbacks, {r['seed_strategy_throttled']} 429s, "
                f"{r['seed_strategy_failed']} failed; speed-up {r['speedup_vs_seed_strategy']}x"
            )
        if "workers_wall_s" in r:
            w(
                f"  {r['workers']} organizations at once on {r['workers']} qcluster workers: {r['workers_wall_s']:.2f} s, "
                f"{r['workers_synced']} synced, {r['workers_failed']} failed ({', '.join(r['workers_statuses'])}); "
                f"{r['workers_throughput_per_s']} records/s = {r['workers_throughput_ratio']}x one organization "
                f"({r['single_throughput_per_s']} records/s, measured above in this process); "
                f"429s {r['workers_throttled']}{_by(r['workers_throttled_by'])}, most in flight {r['workers_max_in_flight']}"
            )
        if options["json"]:
            w(json.dumps(r, sort_keys=True, default=str))


def _delta(before, after):
    return {k: after.get(k, 0) - before.get(k, 0) for k in after}


def _by(throttled_by):
    """ " (per_second 3, in_flight 1)": which of the sandbox's limits refused, when any did."""
    if not throttled_by:
        return ""
    return " (" + ", ".join(f"{limit} {count}" for limit, count in sorted(throttled_by.items())) + ")"
