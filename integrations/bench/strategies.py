"""The two comparison strategies, run over HTTP on a reset sandbox with no throttle of ours:

- baseline: one record per request, one after another (the seed's old 20-minute sync);
- seed strategy: batches of `batch_size` one after another, ignoring the limits; a batch that fails
  (429 included) falls back to single requests.
A single request answered 429 waits the Retry-After the provider gives and is sent again (nothing is
dropped), and that wait is part of the strategy's time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from integrations.providers.base import ItemData, PushRequest, RateLimited

MAX_SINGLE_ATTEMPTS = 20


@dataclass
class StrategyResult:
    records: int
    wall_s: float
    requests: int = 0
    batches: int = 0
    fallbacks: int = 0
    throttled: int = 0
    failed: int = 0
    errors: list = field(default_factory=list)


def push_requests(items, income_account_id):
    return [
        PushRequest(
            kind="item",
            local_id=item.pk,
            data=ItemData(
                name=item.name,
                code=item.code,
                description=item.description,
                unit_price=item.unit_price,
                kind=item.kind,
                active=item.active,
                income_account_id=income_account_id,
            ),
        )
        for item in items
    ]


def _single(adapter, request, result):
    for _ in range(MAX_SINGLE_ATTEMPTS):
        result.requests += 1
        try:
            answer = adapter.push_one("item", request)
        except RateLimited as exc:
            result.throttled += 1
            time.sleep(max(0.1, exc.retry_after))
            continue
        except Exception as exc:  # a failure of this record; the strategy goes on
            result.failed += 1
            result.errors.append(str(exc))
            return
        if not answer.ok:
            result.failed += 1
            result.errors.append(str(answer.error))
        return
    result.failed += 1


def baseline_run(*, adapter, requests):
    """Every record in its own request, sequentially."""
    result = StrategyResult(records=len(requests), wall_s=0.0)
    started = time.monotonic()
    for request in requests:
        _single(adapter, request, result)
    result.wall_s = time.monotonic() - started
    return result


def seed_strategy_run(*, adapter, requests, batch_size=30):
    """Sequential batches of `batch_size`, no throttle; a failed batch goes again one record per request."""
    result = StrategyResult(records=len(requests), wall_s=0.0)
    started = time.monotonic()
    for start in range(0, len(requests), batch_size):
        chunk = requests[start : start + batch_size]
        result.requests += 1
        result.batches += 1
        try:
            answers = adapter.push_batch("item", chunk)
        except Exception as exc:  # the seed falls back on any failure of the batch
            if isinstance(exc, RateLimited):
                result.throttled += 1
            result.fallbacks += 1
            for request in chunk:
                _single(adapter, request, result)
            continue
        for answer in answers:
            if not answer.ok:
                result.failed += 1
                result.errors.append(str(answer.error))
    result.wall_s = time.monotonic() - started
    return result
