"""The control endpoint `/sandbox/<provider>/_control`: read the report, set latency, limits and faults.

GET answers the report; POST takes any of the keys below and answers the report (plus `access_token`
and `company` for `mint_token`); DELETE forgets the provider's whole state. It is JSON only and exists
only when PROVIDER_SANDBOX is on (the whole app is mounted only then).

POST keys: latency_ms, batch_latency_ms, limits (object, merged; null removes a limit),
fail_next_batches (N) with fail_mode ("5xx" | "timeout" | "html") and timeout_seconds,
reject_names (regular expression, "" for none), validate_xsd (QuickBooks), revoke_refresh_token, expire_access_tokens,
unavailable_seconds (S, 0 ends it), mint_token with optional company (external id).
"""

import json
import re
from datetime import timedelta

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from . import core, oauth, policies
from .models import SandboxObject, SandboxProvider

FAIL_MODES = ("5xx", "timeout", "html")


def report(provider):
    """The control report: objects per kind, requests per kind, peaks, counts of faults and tokens."""
    policy = policies.policy(provider)
    row = core.provider_row(provider)
    config = core.provider_config(provider, row)
    companies = core.companies(provider)
    counts = dict.fromkeys(policy.object_kinds, 0)
    for kind, n in _object_counts(provider):
        counts[kind] = n
    counters = core.counters(provider)
    requests = dict.fromkeys(policy.request_kinds, 0)
    for name, value in counters.items():
        if name.startswith("requests."):
            requests[name.removeprefix("requests.")] = value
    unavailable = 0
    if row.unavailable_until and row.unavailable_until > core.now():
        unavailable = round((row.unavailable_until - core.now()).total_seconds(), 1)
    return {
        "provider": provider,
        "objects": counts,
        "requests": requests,
        "largest_batch": counters.get("largest_batch", 0),
        "max_in_flight": counters.get("max_in_flight", 0),
        "throttled": counters.get("throttled", 0),
        "throttled_by": {n.removeprefix("throttled."): v for n, v in counters.items() if n.startswith("throttled.")},
        "refreshes": counters.get("refreshes", 0),
        "invalid_grants": counters.get("invalid_grants", 0),
        "faults_injected": counters.get("faults_injected", 0),
        "idempotent_replays": counters.get("idempotent_replays", 0),
        "fail_next_batches": counters.get("fail_next_batches", 0),
        "unavailable_seconds": unavailable,
        "latency_ms": config["latency_ms"],
        "batch_latency_ms": config["batch_latency_ms"],
        "fail_mode": config["fail_mode"],
        "timeout_seconds": config["timeout_seconds"],
        "reject_names": config["reject_names"],
        "validate_xsd": config["validate_xsd"],
        "limits": config["limits"],
        "companies": [{"id": c.external_id, "name": c.name, **c.details} for c in companies],
    }


def _object_counts(provider):
    from django.db.models import Count

    return (
        SandboxObject.objects.filter(company__provider=provider)
        .exclude(status="deleted")
        .values_list("kind")
        .annotate(n=Count("id"))
        .order_by()
    )


class ControlError(ValueError):
    pass


def control_apply(*, provider, settings):
    """Apply POSTed control settings; returns extra answer fields (mint_token's token and company)."""
    extra = {}
    core.provider_row(provider)
    from django.db import transaction

    with transaction.atomic():
        row = SandboxProvider.objects.select_for_update().get(name=provider)
        config = dict(row.config)
        for key in ("latency_ms", "batch_latency_ms", "timeout_seconds"):
            if key in settings:
                value = settings[key]
                if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                    raise ControlError(f"{key} must be a number of at least 0.")
                config[key] = value
        if "validate_xsd" in settings:
            config["validate_xsd"] = bool(settings["validate_xsd"])
        if "fail_mode" in settings:
            if settings["fail_mode"] not in FAIL_MODES:
                raise ControlError(f"fail_mode must be one of {', '.join(FAIL_MODES)}.")
            config["fail_mode"] = settings["fail_mode"]
        if "reject_names" in settings:
            pattern = settings["reject_names"] or ""
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ControlError(f"reject_names is not a valid regular expression: {exc}.") from None
            config["reject_names"] = pattern
        if "limits" in settings:
            if not isinstance(settings["limits"], dict):
                raise ControlError("limits must be an object.")
            limits = dict(config.get("limits") or {})
            for key, value in settings["limits"].items():
                if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                    raise ControlError(f"limits.{key} must be a whole number or null.")
                limits[key] = value
            config["limits"] = limits
        row.config = config
        if "unavailable_seconds" in settings:
            seconds = settings["unavailable_seconds"] or 0
            row.unavailable_until = core.now() + timedelta(seconds=float(seconds)) if seconds else None
        row.save()
    if "fail_next_batches" in settings:
        count = settings["fail_next_batches"]
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ControlError("fail_next_batches must be a whole number.")
        core.counter_set(provider, "fail_next_batches", count)
    if settings.get("revoke_refresh_token"):
        extra["revoked_refresh_tokens"] = oauth.revoke_refresh_tokens(provider)
    if settings.get("expire_access_tokens"):
        extra["expired_access_tokens"] = oauth.expire_access_tokens(provider)
    if settings.get("mint_token"):
        try:
            access, refresh, company = oauth.mint_token(provider=provider, company=settings.get("company"))
        except ValueError as exc:
            raise ControlError(str(exc)) from None
        extra.update({"access_token": access, "refresh_token": refresh, "company": company.external_id})
    return extra


@csrf_exempt
def control(request, provider):
    policies.policy(provider)
    if request.method == "GET":
        return JsonResponse(report(provider))
    if request.method == "DELETE":
        core.provider_reset(provider)
        return JsonResponse(report(provider))
    if request.method != "POST":
        return JsonResponse({"error": "Use GET, POST or DELETE."}, status=405)
    try:
        settings = json.loads(request.body or b"{}")
    except ValueError:
        return JsonResponse({"error": "The body must be a JSON object."}, status=400)
    if not isinstance(settings, dict):
        return JsonResponse({"error": "The body must be a JSON object."}, status=400)
    try:
        extra = control_apply(provider=provider, settings=settings)
    except ControlError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse({**report(provider), **extra})
