"""The sandbox engine every emulated provider builds on: state, companies, objects, limits, faults.

Provider packages (quickbooks/, xero/, freshbooks/, wave/) write their views with `api_view`, which
checks availability, the bearer token, the company, the limits, latency, faults and idempotency
before the view runs, and counts everything for the control report. See README.md beside this file.
"""

import functools
import hashlib
import importlib
import logging
import random
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Min, Q
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from . import policies
from .models import (
    SandboxCompany,
    SandboxCounter,
    SandboxGrant,
    SandboxIdempotency,
    SandboxObject,
    SandboxProvider,
    SandboxRequest,
)

logger = logging.getLogger(__name__)

# A request that never finished (killed worker) stops counting as in flight after this long.
IN_FLIGHT_HORIZON = timedelta(seconds=300)


def now():
    return timezone.now()


# --- Provider state and control counters ------------------------------------------------------------


def provider_row(provider):
    policies.policy(provider)
    row, _ = SandboxProvider.objects.get_or_create(name=provider)
    return row


def provider_config(provider, row=None):
    """The provider's effective settings: defaults, overridden by what the control endpoint set."""
    row = row or provider_row(provider)
    config = dict(policies.DEFAULT_CONFIG)
    config.update({k: v for k, v in row.config.items() if k != "limits"})
    limits = dict(policies.policy(provider).limits)
    limits.update(row.config.get("limits") or {})
    config["limits"] = limits
    return config


def counter_add(provider, name, n=1):
    """Add `n` to a control counter (atomic across processes)."""
    if not SandboxCounter.objects.filter(provider=provider, name=name).update(value=F("value") + n):
        try:
            with transaction.atomic():
                SandboxCounter.objects.create(provider=provider, name=name, value=n)
        except IntegrityError:
            SandboxCounter.objects.filter(provider=provider, name=name).update(value=F("value") + n)


def counter_max(provider, name, value):
    """Raise a control counter to `value` if it is lower (atomic across processes)."""
    if SandboxCounter.objects.filter(provider=provider, name=name, value__lt=value).update(value=value):
        return
    if not SandboxCounter.objects.filter(provider=provider, name=name).exists():
        try:
            with transaction.atomic():
                SandboxCounter.objects.create(provider=provider, name=name, value=value)
        except IntegrityError:
            SandboxCounter.objects.filter(provider=provider, name=name, value__lt=value).update(value=value)


def counter_take(provider, name):
    """Take one from a positive counter; True when there was one to take (e.g. fail_next_batches)."""
    return bool(SandboxCounter.objects.filter(provider=provider, name=name, value__gt=0).update(value=F("value") - 1))


def counter_set(provider, name, value):
    SandboxCounter.objects.update_or_create(provider=provider, name=name, defaults={"value": value})


def counters(provider):
    return dict(SandboxCounter.objects.filter(provider=provider).values_list("name", "value"))


def provider_reset(provider):
    """Forget everything the sandbox holds for `provider`: companies, objects, grants, settings, counters."""
    with transaction.atomic():
        SandboxCompany.objects.filter(provider=provider).delete()
        SandboxGrant.objects.filter(provider=provider).delete()
        SandboxCounter.objects.filter(provider=provider).delete()
        SandboxRequest.objects.filter(provider=provider).delete()
        SandboxIdempotency.objects.filter(provider=provider).delete()
        SandboxProvider.objects.filter(name=provider).delete()


# --- Companies --------------------------------------------------------------------------------------


def companies(provider):
    """The provider's sandbox companies, creating the default two (with their accounts) on first use."""
    found = list(SandboxCompany.objects.filter(provider=provider))
    if found:
        return found
    with transaction.atomic():
        # The provider row lock makes one process create the defaults while the others wait.
        provider_row(provider)
        SandboxProvider.objects.select_for_update().get(name=provider)
        found = list(SandboxCompany.objects.filter(provider=provider))
        if found:
            return found
        for index, name in enumerate(policies.COMPANY_NAMES):
            company_create(provider=provider, name=name, index=index)
        return list(SandboxCompany.objects.filter(provider=provider))


def company_create(*, provider, name, index=0, currency="USD"):
    """A new sandbox company with the default chart of accounts (via the provider's seed module)."""
    external_id, details = policies.new_company_identity(provider, index)
    company = SandboxCompany.objects.create(
        provider=provider, external_id=external_id, name=name, currency=currency, details=details
    )
    seed = _provider_module(provider, "seed")
    if seed is not None and hasattr(seed, "seed_company"):
        seed.seed_company(company)
    else:
        for account_name, code, account_kind in policies.DEFAULT_ACCOUNTS:
            object_create(
                company=company,
                kind="account",
                data={"name": account_name, "code": code, "type": account_kind},
                unique_key=account_name.lower(),
            )
    return company


def company_get(provider, external_id):
    """The company with this external id, or None. Ensures the defaults exist first."""
    companies(provider)
    return SandboxCompany.objects.filter(provider=provider, external_id=external_id).first()


def _provider_module(provider, name):
    try:
        return importlib.import_module(f"integrations.sandbox.{provider}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith(f"integrations.sandbox.{provider}"):
            return None
        raise


# --- Objects ----------------------------------------------------------------------------------------


class Duplicate(Exception):
    """Another live record already holds this unique name/code/number."""

    def __init__(self, existing=None, key=""):
        super().__init__(key)
        self.existing = existing
        self.key = key


class Stale(Exception):
    """The record changed since the version the caller read (QuickBooks 5010)."""


class NotFound(Exception):
    pass


def object_create(*, company, kind, data, unique_key=None, unique_scope=None, alt_key=None, object_id=None, status="active"):
    """Insert a record; raises Duplicate when `unique_key` (within `unique_scope`, default the kind) or
    `alt_key` (within the kind) is taken. `object_id`: a string, a callable(pk) -> str, or None for
    the provider's default (QuickBooks/FreshBooks numeric, Xero/Wave UUID).

    The caller finishes `data` with the id afterwards if its JSON carries it (see `object_save`).
    """
    style = policies.policy(company.provider).id_style
    deferred = None
    if object_id is None:
        if style == "numeric":
            deferred = str
        else:
            object_id = str(uuid.uuid4())
    elif callable(object_id):
        deferred = object_id
    try:
        with transaction.atomic():
            obj = SandboxObject.objects.create(
                company=company,
                kind=kind,
                object_id=object_id or f"pending-{uuid.uuid4()}",
                data=data,
                unique_scope=unique_scope if unique_scope is not None else kind,
                unique_key=unique_key,
                alt_key=alt_key,
                status=status,
            )
            if deferred is not None:
                obj.object_id = deferred(obj.pk)
                SandboxObject.objects.filter(pk=obj.pk).update(object_id=obj.object_id)
    except IntegrityError:
        scope = unique_scope if unique_scope is not None else kind
        existing = None
        if unique_key is not None:
            existing = SandboxObject.objects.filter(company=company, unique_scope=scope, unique_key=unique_key).first()
        if existing is None and alt_key is not None:
            existing = SandboxObject.objects.filter(company=company, kind=kind, alt_key=alt_key).first()
        raise Duplicate(existing, unique_key or alt_key or "") from None
    return obj


def object_get(*, company, kind, object_id):
    try:
        return SandboxObject.objects.get(company=company, kind=kind, object_id=str(object_id))
    except SandboxObject.DoesNotExist:
        raise NotFound(f"{kind} {object_id}") from None


def object_find(*, company, kind, unique_key=None, alt_key=None, unique_scope=None):
    qs = SandboxObject.objects.filter(company=company)
    if unique_key is not None:
        return qs.filter(unique_scope=unique_scope if unique_scope is not None else kind, unique_key=unique_key).first()
    return qs.filter(kind=kind, alt_key=alt_key).first()


def object_list(*, company, kind, changed_since=None, include_deleted=False):
    qs = SandboxObject.objects.filter(company=company, kind=kind)
    if changed_since is not None:
        qs = qs.filter(updated_at__gt=changed_since)
    if not include_deleted:
        qs = qs.exclude(status="deleted")
    return qs.order_by("id")


_KEEP = object()


def object_save(obj, *, data, expected_version=None, unique_key=_KEEP, alt_key=_KEEP, status=None, bump=True):
    """Write `data` (and keys) to `obj`, moving its version on by one when `bump`.

    With `expected_version`, the write only happens if nobody else wrote since (else Stale). Raises
    Duplicate when a new key is taken. Returns the object with its new version.
    """
    fields = {"data": data, "updated_at": now()}
    if unique_key is not _KEEP:
        fields["unique_key"] = unique_key
    if alt_key is not _KEEP:
        fields["alt_key"] = alt_key
    if status is not None:
        fields["status"] = status
    if bump:
        fields["version"] = F("version") + 1
    qs = SandboxObject.objects.filter(pk=obj.pk)
    if expected_version is not None:
        qs = qs.filter(version=expected_version)
    try:
        with transaction.atomic():
            changed = qs.update(**fields)
    except IntegrityError:
        key = fields.get("unique_key") or fields.get("alt_key") or ""
        existing = None
        if fields.get("unique_key"):
            existing = (
                SandboxObject.objects.filter(
                    company_id=obj.company_id, unique_scope=obj.unique_scope, unique_key=fields["unique_key"]
                )
                .exclude(pk=obj.pk)
                .first()
            )
        raise Duplicate(existing, key) from None
    if not changed:
        if not SandboxObject.objects.filter(pk=obj.pk).exists():
            raise NotFound(f"{obj.kind} {obj.object_id}")
        raise Stale(f"{obj.kind} {obj.object_id}")
    obj.refresh_from_db()
    return obj


# --- Limits -----------------------------------------------------------------------------------------


class Throttled(Exception):
    def __init__(self, problem, retry_after, limit=""):
        super().__init__(problem)
        self.problem = problem
        self.limit = limit  # which limit refused it ("per_second", "batch_per_minute", ...)
        self.retry_after = retry_after
        self.usage = None


@dataclass
class Usage:
    """Requests counted in each window when a request was let in (it included)."""

    limits: dict
    in_flight: int = 0
    second: int = 0
    minute: int = 0
    batch_minute: int = 0
    day: int = 0
    app_minute: int = 0
    request_id: int | None = None

    def remaining(self, key, used):
        limit = self.limits.get(key)
        return None if limit is None else max(0, int(limit) - used)


# Sliding windows: (usage key, seconds, batch requests only, every scope of the provider).
WINDOWS = (
    ("second", 1, False, False),
    ("minute", 60, False, False),
    ("batch_minute", 60, True, False),
    ("day", 86400, False, False),
    ("app_minute", 60, False, True),
)


def _counts_at(provider, scope, t, keys):
    """Requests let in so far in each window (t - seconds, t] of `keys`."""
    mine = Q(scope=scope)
    aggregates = {}
    for key, seconds, batch_only, every_scope in WINDOWS:
        if key in keys:
            where = Q(started_at__gt=t - timedelta(seconds=seconds), started_at__lte=t) & (Q() if every_scope else mine)
            aggregates[key] = Count("id", filter=where & Q(is_batch=True) if batch_only else where)
    widest = max(seconds for key, seconds, *_ in WINDOWS if key in keys)
    return SandboxRequest.objects.filter(
        provider=provider, started_at__gt=t - timedelta(seconds=widest), started_at__lte=t
    ).aggregate(**aggregates)


def limits_enter(*, provider, scope, is_batch, limits, company_pk=None, arrived=None):
    """Count a request that arrived at `arrived` against the provider's limits for `scope`, or raise
    Throttled.

    A request is dated when it arrives, as the provider times it, whatever it waits for here after (a
    token and company look-up, other requests' turn at the lock). Check and record happen in one
    transaction under a lock on the company row (PostgreSQL; SQLite's IMMEDIATE transactions serialise
    writers anyway), so N processes together never let in more than the limits allow. The check is
    exact for every window that holds the new request: those ending at its arrival and those ending at
    each request that arrived after it but was let in first. A refused request is not counted.
    """
    arrived = arrived or now()
    with transaction.atomic():
        if company_pk is not None and connection.vendor == "postgresql":
            list(SandboxCompany.objects.select_for_update().filter(pk=company_pk).values_list("pk"))
        row = SandboxRequest.objects.create(provider=provider, scope=scope, is_batch=is_batch, started_at=arrived)
        keys = {"second", "minute", "batch_minute", "day"} | (
            {"app_minute"} if limits.get("app_per_minute") is not None else set()
        )
        usage = {key: 0 for key in ("second", "minute", "batch_minute", "day", "app_minute")}
        later = SandboxRequest.objects.filter(
            provider=provider, started_at__gt=arrived, started_at__lt=arrived + timedelta(seconds=60)
        ).values_list("started_at", flat=True)
        for t in [arrived, *sorted(set(later))]:
            # A window ending at t holds the new request only while t - arrived < its length.
            open_keys = {key for key, seconds, *_ in WINDOWS if key in keys and t - arrived < timedelta(seconds=seconds)}
            for key, count in _counts_at(provider, scope, t, open_keys).items():
                usage[key] = max(usage[key], count or 0)
        usage["in_flight"] = SandboxRequest.objects.filter(
            provider=provider, scope=scope, finished_at__isnull=True, started_at__gt=arrived - IN_FLIGHT_HORIZON
        ).count()
        checks = (
            ("in_flight", usage["in_flight"], "concurrent", None),
            ("per_day", usage["day"], "day", 86400),
            ("app_per_minute", usage["app_minute"], "appminute", 60),
            ("per_minute", usage["minute"], "minute", 60),
            ("batch_per_minute", usage["batch_minute"] if is_batch else 0, "minute", 60),
            ("per_second", usage["second"], "second", 1),
        )
        for key, used, problem, window in checks:
            limit = limits.get(key)
            if limit is not None and used > int(limit):
                row.delete()
                refused = Throttled(problem, _retry_after(provider, scope, arrived, window, key == "batch_per_minute"), key)
                # What the answer's X-*-Remaining headers report: the refused request does not count.
                refused.usage = Usage(limits=limits, **{name: max(0, count - 1) for name, count in usage.items()})
                raise refused
    if random.random() < 0.005:
        SandboxRequest.objects.filter(started_at__lt=arrived - timedelta(days=1, minutes=5)).delete()
    return Usage(limits=limits, request_id=row.pk, **usage)


def _retry_after(provider, scope, moment, window, batch_only):
    """Seconds until the oldest request in the window leaves it (at least 1)."""
    if window is None:
        return None
    qs = SandboxRequest.objects.filter(provider=provider, started_at__gt=moment - timedelta(seconds=window))
    if window != 60 or not batch_only:
        qs = qs.filter(scope=scope)
    if batch_only:
        qs = qs.filter(is_batch=True)
    oldest = qs.aggregate(oldest=Min("started_at"))["oldest"]
    if oldest is None:
        return 1
    return max(1, int((oldest + timedelta(seconds=window) - moment).total_seconds() + 0.999))


def limits_exit(usage):
    if usage is not None and usage.request_id is not None:
        SandboxRequest.objects.filter(pk=usage.request_id).update(finished_at=now())


# --- Idempotency ------------------------------------------------------------------------------------


def _request_hash(request):
    return hashlib.sha256(request.method.encode() + request.get_full_path().encode() + request.body).hexdigest()


def idempotent(*, provider, scope, key, request, run, wait_seconds=30.0):
    """Run `run()` once per (provider, scope, key); repeats get the first answer (status and body).

    A repeat arriving while the first is still running waits for it. A first run that raised or
    answered 5xx leaves no record, so a retry runs again (like the providers, which keep only
    completed answers).
    """
    request_hash = _request_hash(request)
    try:
        with transaction.atomic():
            record = SandboxIdempotency.objects.create(provider=provider, scope=scope, key=key, request_hash=request_hash)
    except IntegrityError:
        deadline = time.monotonic() + wait_seconds
        while True:
            record = SandboxIdempotency.objects.filter(provider=provider, scope=scope, key=key).first()
            if record is None:  # the first failed: this one becomes the first
                return idempotent(provider=provider, scope=scope, key=key, request=request, run=run, wait_seconds=wait_seconds)
            if record.status is not None or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        counter_add(provider, "idempotent_replays")
        response = HttpResponse(bytes(record.body), status=record.status or 409, content_type=record.content_type)
        response["X-Sandbox-Idempotent-Replay"] = "true"
        return response
    try:
        response = run()
    except BaseException:
        SandboxIdempotency.objects.filter(pk=record.pk).delete()
        raise
    if response.status_code >= 500 or getattr(response, "streaming", False):
        SandboxIdempotency.objects.filter(pk=record.pk).delete()
        return response
    SandboxIdempotency.objects.filter(pk=record.pk).update(
        status=response.status_code, content_type=response.get("Content-Type", ""), body=response.content
    )
    return response


# --- The request pipeline ---------------------------------------------------------------------------


class Answer(Exception):
    """Raise from a resolver or view helper to answer at once with `response`."""

    def __init__(self, response):
        super().__init__(response.status_code)
        self.response = response


@dataclass
class Context:
    """What an `api_view` view is told about the request."""

    provider: str
    config: dict
    grant: SandboxGrant | None = None
    company: SandboxCompany | None = None
    is_batch: bool = False
    kind: str | None = None
    usage: Usage | None = None
    extra_headers: dict = field(default_factory=dict)
    cache: dict = field(default_factory=dict)  # per-request memo for views (e.g. accounts looked up once a batch)

    @property
    def limits(self):
        return self.config["limits"]

    def reachable_companies(self):
        return list(self.grant.companies.all()) if self.grant else []

    def rejects(self, name):
        """True when the control endpoint's `reject_names` pattern matches `name`."""
        pattern = self.config.get("reject_names") or ""
        return bool(pattern) and name is not None and re.search(pattern, str(name)) is not None

    def count(self, name, n=1):
        counter_add(self.provider, name, n)

    def count_request(self, kind):
        counter_add(self.provider, f"requests.{kind}")

    def note_batch_size(self, size):
        counter_max(self.provider, "largest_batch", size)


def _sleep_ms(ms):
    if ms and float(ms) > 0:
        time.sleep(float(ms) / 1000.0)


def _value(spec, request, kwargs):
    return spec(request, kwargs) if callable(spec) else spec


def api_view(provider, *, kind=None, batch=False, company=None, auth=True, idempotency_key=None, methods=None):
    """Decorate a sandbox API view `view(request, ctx, **kwargs)`.

    provider: "quickbooks" | "xero" | "freshbooks" | "wave".
    kind: the "requests" counter to add to ("item", "batch", ...), or callable(request, kwargs); None
        when the view counts itself with ctx.count_request(kind).
    batch: bool or callable(request, kwargs): the request is a batch (counts against batch limits,
        gets batch_latency_ms, and may be failed by fail_next_batches).
    company: callable(request, kwargs) -> external id of the company addressed, or None. The company
        must be one the grant reaches, else the provider's 403. Limits are counted per company (or
        per grant when there is none).
    auth: check the bearer token (the provider's 401 otherwise).
    idempotency_key: callable(request) -> key or None (QuickBooks requestid, Xero Idempotency-Key).
    methods: allowed HTTP methods (405 otherwise).
    """
    from . import oauth

    def decorate(view):
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request, **kwargs):
            if methods and request.method not in methods:
                return HttpResponse(status=405, headers={"Allow": ", ".join(methods)})
            arrived = now()  # the provider times a request when it arrives
            row = provider_row(provider)
            config = provider_config(provider, row)
            ctx = Context(provider=provider, config=config)
            request_kind = _value(kind, request, kwargs)
            if request_kind:
                ctx.kind = request_kind
                ctx.count_request(request_kind)
            if row.unavailable_until and row.unavailable_until > now():
                return policies.unavailable(provider, (row.unavailable_until - now()).total_seconds())
            try:
                if auth:
                    ctx.grant = oauth.grant_for_bearer(provider, request)
                company_id = company(request, kwargs) if company else None
                if company_id is not None:
                    ctx.company = company_get(provider, company_id)
                    if ctx.company is None or (ctx.grant and not ctx.grant.companies.filter(pk=ctx.company.pk).exists()):
                        return policies.forbidden_company(provider, company_id)
                ctx.is_batch = bool(_value(batch, request, kwargs))
                scope = ctx.company.external_id if ctx.company else (f"grant:{ctx.grant.pk}" if ctx.grant else "app")
                try:
                    ctx.usage = limits_enter(
                        provider=provider,
                        scope=scope,
                        is_batch=ctx.is_batch,
                        limits=ctx.limits,
                        company_pk=ctx.company.pk if ctx.company else None,
                        arrived=arrived,
                    )
                except Throttled as exc:
                    ctx.usage = exc.usage
                    counter_add(provider, "throttled")
                    counter_add(provider, f"throttled.{exc.limit}")
                    return _finish(provider, ctx, policies.throttled(provider, exc.problem, exc.retry_after))
                try:
                    counter_max(provider, "max_in_flight", ctx.usage.in_flight)
                    response = _run(view, request, ctx, kwargs, scope, idempotency_key)
                finally:
                    limits_exit(ctx.usage)
            except Answer as answer:
                response = answer.response
            return _finish(provider, ctx, response)

        return wrapper

    return decorate


def _run(view, request, ctx, kwargs, scope, idempotency_key):
    config = ctx.config
    _sleep_ms(config.get("latency_ms"))
    if ctx.is_batch:
        _sleep_ms(config.get("batch_latency_ms"))
        if counter_take(ctx.provider, "fail_next_batches"):
            counter_add(ctx.provider, "faults_injected")
            mode = config.get("fail_mode") or "5xx"
            if mode == "timeout":
                time.sleep(float(config.get("timeout_seconds") or 30))
                return policies.gateway_timeout(ctx.provider)
            if mode == "html":
                return policies.html_error(ctx.provider)
            return policies.server_error(ctx.provider)
    key = idempotency_key(request) if idempotency_key else None
    if key:
        return idempotent(provider=ctx.provider, scope=scope, key=key, request=request, run=lambda: view(request, ctx, **kwargs))
    return view(request, ctx, **kwargs)


def _finish(provider, ctx, response):
    for name, value in ctx.extra_headers.items():
        response[name] = value
    if provider == "xero" and ctx.usage is not None:
        usage = ctx.usage
        for header, key, used in (
            ("X-DayLimit-Remaining", "per_day", usage.day),
            ("X-MinLimit-Remaining", "per_minute", usage.minute),
            ("X-AppMinLimit-Remaining", "app_per_minute", usage.app_minute),
        ):
            remaining = usage.remaining(key, used)
            if remaining is not None:
                response[header] = str(remaining)
    return response
