"""An in-memory provider for push tests that keeps the adapter protocol faithfully.

`FakeBook` is the provider's state (shared by every adapter instance and thread, like a real service):
records by kind, versions, idempotency keys answered, and the faults a test asks for. `FakeAdapter`
speaks for one connection: every request takes a throttle slot and is counted in `stats`.

Rules it enforces, as the providers do:
- batches larger than `batch_sizes[kind]` are refused (ValueError: a bug in the engine);
- item names containing ':' are rejected per record ("names cannot contain ':'");
- a payment larger than its invoice's open balance is rejected per record;
- a create whose name/number exists answers DuplicateName; an update with an old version StaleVersion;
- a repeated idempotency key answers the first result again without creating anything.
Faults on demand: `fail_batches` (numbers of push_batch calls that fail as a whole, after applying
when `apply_failed_batches`), `uncertain_creates` (local ids whose create is applied and then times
out), `rate_limited` (how many next requests answer 429), `stale_once` (local ids whose next update
meets a newer version).
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import threading
from decimal import Decimal

from integrations.providers.base import (
    BatchFailed,
    DuplicateName,
    ProviderAdapter,
    ProviderConfig,
    PushResult,
    RateLimited,
    RecordRejected,
    RemoteRecord,
    StaleVersion,
    UncertainOutcome,
)


class FakeBook:
    def __init__(self):
        self.lock = threading.RLock()
        self.records = {}  # (kind, remote_id) -> RemoteRecord
        self.ids = itertools.count(1)
        self.keys = {}  # idempotency key -> PushResult
        self.batch_calls = 0
        self.fail_batches = set()
        self.apply_failed_batches = True
        self.uncertain_creates = set()
        self.rate_limited = 0
        self.retry_after = 0.05
        self.stale_once = set()
        self.replay_keys = True  # False: a repeated idempotency key is not recognised (its window passed)
        self.creates = []  # (kind, local_id) per create applied
        self.batch_lengths = []
        self.requests = []  # ("batch"|"single"|"find"|"fetch", kind)

    def of(self, kind):
        return [r for (k, _), r in self.records.items() if k == kind]

    def count(self, kind):
        return len(self.of(kind))


class FakeAdapter(ProviderAdapter):
    name = "quickbooks"
    display_name = "QuickBooks"
    batch_sizes = {"item": 30, "customer": 30, "invoice": 30, "payment": 30}
    max_in_flight = 4
    limits = ()
    requires_income_account = True

    def __init__(self, book, throttle=None):
        super().__init__(
            config=ProviderConfig("quickbooks", "QuickBooks", "id", "secret", "", "", ""),
            company_id="realm-1",
            token_provider=lambda **kw: "token",
            throttle=throttle,
        )
        self.book = book

    # --- transport ------------------------------------------------------------------------------

    def _request(self, throttle_kind, what, kind):
        with self.throttle.slot(throttle_kind):
            self.stats.count(kind)
            if throttle_kind == "batch":
                self.stats.batches += 1
            with self.book.lock:
                self.book.requests.append((what, kind))
                if self.book.rate_limited > 0:
                    self.book.rate_limited -= 1
                    self.stats.throttled += 1
                    self.throttle.penalize(self.book.retry_after)
                    raise RateLimited("Too many requests", retry_after=self.book.retry_after, provider=self.name, status=429)

    # --- reads ----------------------------------------------------------------------------------

    def fetch(self, kind, remote_id):
        self._request("single", "fetch", kind)
        with self.book.lock:
            return copy.deepcopy(self.book.records[(kind, str(remote_id))])

    def find(self, kind, data, *, local_id=None):
        self._request("single", "find", kind)
        with self.book.lock:
            return copy.deepcopy(self._find(kind, data))

    def _find(self, kind, data):
        for record in self.book.of(kind):
            if kind == "item" and record.data.name.casefold() == data.name.casefold():
                return record
            if kind == "customer" and record.data.display_name.casefold() == data.display_name.casefold():
                return record
            if kind == "invoice" and record.data.number == data.number:
                return record
            if (
                kind == "payment"
                and record.invoice_remote_id == data.invoice_remote_id
                and record.data.amount == data.amount
                and record.data.date == data.date
            ):
                return record
        return None

    # --- writes ---------------------------------------------------------------------------------

    def push_batch(self, kind, requests):
        if len(requests) > self.batch_size(kind):
            raise ValueError(f"batch of {len(requests)} > {self.batch_size(kind)}")
        self._request("batch", "batch", kind)
        with self.book.lock:
            self.book.batch_calls += 1
            self.book.batch_lengths.append(len(requests))
            number = self.book.batch_calls
            if number in self.book.fail_batches:
                if self.book.apply_failed_batches:
                    for request in requests:
                        self._apply(kind, request)
                raise BatchFailed("HTTP 503 from the batch endpoint", provider=self.name, status=503)
            return [self._apply(kind, request) for request in requests]

    def push_one(self, kind, request):
        self._request("single", "single", kind)
        with self.book.lock:
            result = self._apply(kind, request)
            if request.is_create and request.local_id in self.book.uncertain_creates:
                self.book.uncertain_creates.discard(request.local_id)
                raise UncertainOutcome("Read timed out", provider=self.name)
            return result

    def _apply(self, kind, request):
        book = self.book
        if book.replay_keys and request.idempotency_key and request.idempotency_key in book.keys:
            return copy.deepcopy(book.keys[request.idempotency_key])
        data = request.data
        error = self._validate(kind, request)
        if error is not None:
            return PushResult(local_id=request.local_id, ok=False, error=error, request=_plain(data))
        if request.is_create:
            remote_id = str(next(book.ids))
            record = RemoteRecord(
                kind=kind,
                remote_id=remote_id,
                version="0",
                number=getattr(data, "number", ""),
                data=copy.deepcopy(data),
                invoice_remote_id=getattr(data, "invoice_remote_id", ""),
            )
            book.records[(kind, remote_id)] = record
            book.creates.append((kind, request.local_id))
        else:
            record = book.records[(kind, request.remote_id)]
            if request.local_id in book.stale_once:
                book.stale_once.discard(request.local_id)
                record.version = str(int(record.version) + 1)
            if request.remote_version and request.remote_version != record.version:
                error = StaleVersion("Stale Object Error: You and someone else edited the same record", code="5010")
                return PushResult(local_id=request.local_id, ok=False, error=error, request=_plain(data))
            record.data = copy.deepcopy(data)
            record.version = str(int(record.version) + 1)
        result = PushResult(
            local_id=request.local_id,
            ok=True,
            remote_id=record.remote_id,
            remote_version=record.version,
            remote_number=record.number,
            request=_plain(data),
            response={"Id": record.remote_id, "SyncToken": record.version, "Authorization": "Bearer secret-token"},
        )
        if request.idempotency_key:
            book.keys[request.idempotency_key] = copy.deepcopy(result)
        return result

    def _validate(self, kind, request):
        data = request.data
        if kind == "item" and ":" in data.name:
            return RecordRejected("names cannot contain ':'", code="2170", provider=self.name)
        if request.is_create:
            existing = self._find(kind, data) if kind != "payment" else None
            if existing is not None:
                return DuplicateName(f"Duplicate Name Exists Error: {kind} exists", code="6240", provider=self.name)
        if kind == "payment":
            invoice = self.book.records.get(("invoice", data.invoice_remote_id))
            if invoice is None:
                return RecordRejected("the invoice does not exist", provider=self.name)
            paid = sum(
                (p.data.amount for p in self.book.of("payment") if p.invoice_remote_id == data.invoice_remote_id), Decimal("0")
            )
            if paid + data.amount > invoice.data.total:
                return RecordRejected("the payment is more than the invoice's open balance", code="6000", provider=self.name)
        return None


def _plain(data):
    return dataclasses.asdict(data) if dataclasses.is_dataclass(data) else data
