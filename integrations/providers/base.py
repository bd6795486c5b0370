"""The adapter protocol: what the sync engine, the connection flow and the wizard ask of a provider.

Adapters speak HTTP only: no ORM, no settings look-ups beyond the ProviderConfig they are given.
They translate between the neutral records below (CustomerData, ItemData, InvoiceData, PaymentData)
and the provider's JSON, and raise the error types below, which say whether a failure is permanent.

Concurrency: an adapter instance is used by one thread at a time; the throttle it is given is shared
by every process and machine that talks to the same connection (integrations.sync.throttle).
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar, Protocol

# --- Configuration --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderConfig:
    """Endpoints and client credentials of one provider, resolved from settings (providers.config)."""

    name: str  # "quickbooks", "xero", "freshbooks", "wave"
    display_name: str  # "QuickBooks", ...
    client_id: str
    client_secret: str
    auth_url: str
    token_url: str
    api_url: str
    revoke_url: str = ""
    scopes: tuple[str, ...] = ()
    webhook_secret: str = ""


@dataclass(frozen=True)
class Limit:
    """At most `count` requests of `kind` ("batch", "single" or "any") per `seconds`."""

    kind: str
    count: int
    seconds: float


# --- Tokens and companies -------------------------------------------------------------------------


@dataclass
class TokenSet:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds
    refresh_expires_in: int | None = None
    scope: str = ""
    token_type: str = "bearer"

    def __repr__(self):  # never print tokens
        return f"TokenSet(expires_in={self.expires_in}, scope={self.scope!r})"


@dataclass
class Company:
    """One company/tenant/business/account the grant reaches."""

    id: str
    name: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Account:
    """An account of the provider's chart: an income account (offered in the account mapping) or a
    bank account (where payments are deposited, Xero and Wave)."""

    remote_id: str
    name: str
    code: str = ""
    account_type: str = ""
    active: bool = True


# --- Neutral records ------------------------------------------------------------------------------


@dataclass
class CustomerData:
    display_name: str
    company: str = ""
    email: str = ""
    phone: str = ""
    billing_line1: str = ""
    billing_line2: str = ""
    billing_city: str = ""
    billing_region: str = ""
    billing_postal_code: str = ""
    billing_country: str = ""
    active: bool = True


@dataclass
class ItemData:
    name: str
    code: str = ""
    description: str = ""
    unit_price: Decimal = Decimal("0.00")
    kind: str = "service"  # "service" | "product"
    active: bool = True
    income_account_id: str = ""  # remote id of the income account ("" when the provider has none)


@dataclass
class LineData:
    item_remote_id: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    item_code: str = ""  # Xero lines reference items by Code
    income_account_id: str = ""  # Xero lines need an AccountCode


@dataclass
class InvoiceData:
    number: str
    customer_remote_id: str
    issue_date: datetime.date
    due_date: datetime.date
    lines: list[LineData]
    status: str = "SENT"  # our status: DRAFT, SENT, PAID, VOID
    currency: str = "USD"
    notes: str = ""
    total: Decimal = Decimal("0.00")


@dataclass
class PaymentData:
    invoice_remote_id: str
    customer_remote_id: str
    amount: Decimal
    date: datetime.date
    method: str = "other"
    reference: str = ""
    currency: str = "USD"
    deposit_account_id: str = ""  # Xero/Wave need the account the money went into


@dataclass
class RemoteRecord:
    """A record as the provider has it. `data` is neutral (CustomerData, ...) when the kind is known."""

    kind: str
    remote_id: str
    version: str = ""  # QuickBooks SyncToken, ...
    number: str = ""  # invoice number / item code as the provider shows it
    data: Any = None
    updated_at: datetime.datetime | None = None
    deleted: bool = False  # deleted or voided in the provider
    raw: dict[str, Any] | None = None
    # For payments pulled from the provider: the remote invoice they apply to.
    invoice_remote_id: str = ""


# --- Push requests and results --------------------------------------------------------------------


@dataclass
class PushRequest:
    kind: str  # "customer", "item", "invoice", "payment"
    local_id: int
    data: Any  # CustomerData | ItemData | InvoiceData | PaymentData
    remote_id: str | None = None  # None: create; else update
    remote_version: str = ""
    # Derived from stable data (connection, kind, local id, payload hash) so a retry after a crash
    # reuses it. QuickBooks: requestid (<= 36 in a batch, <= 50 alone); Xero: Idempotency-Key (<= 128).
    idempotency_key: str = ""

    @property
    def is_create(self):
        return not self.remote_id


@dataclass
class PushResult:
    local_id: int
    ok: bool
    remote_id: str = ""
    remote_version: str = ""
    remote_number: str = ""
    error: ProviderError | None = None
    request: Any = None  # what was sent for this record (for the audit; no secrets)
    response: Any = None  # what came back for this record
    duration_ms: int = 0


# --- Errors ---------------------------------------------------------------------------------------


class ProviderError(Exception):
    """A provider call failed. `permanent` says whether retrying the same request can help."""

    permanent = True

    def __init__(self, message, *, provider="", code="", status=None, body=None):
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.code = str(code) if code else ""
        self.status = status
        self.body = body

    def __str__(self):
        return self.message


class TransientError(ProviderError):
    """5xx, connection refused, unavailable: the same request may succeed later."""

    permanent = False


class UncertainOutcome(TransientError):
    """The request was sent but no answer came (timeout): a create may have happened. Look up first."""


class MalformedResponse(TransientError):
    """The answer was not what the API documents (an HTML error page instead of JSON, ...)."""


class RateLimited(TransientError):
    """429. `retry_after` seconds to wait (QuickBooks: 60 when it does not say)."""

    def __init__(self, message, *, retry_after=60.0, problem="", **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = float(retry_after)
        self.problem = problem


class AuthenticationFailed(ProviderError):
    """401/403 from the API. The caller refreshes the token once; if it persists, it is permanent."""

    permanent = False


class InvalidGrant(ProviderError):
    """The token endpoint answered invalid_grant: the refresh token is dead (rotated, revoked, expired)."""


class ReconnectRequired(ProviderError):
    """The connection's grant is gone; a person must reconnect. Every surface shows `message`."""

    def __init__(self, provider_display_name, *, provider=""):
        super().__init__(reconnect_message(provider_display_name), provider=provider, code="reconnect_required")
        self.provider_display_name = provider_display_name


class BatchFailed(TransientError):
    """A whole batch request failed (5xx, timeout, malformed answer, auth): fall back to single requests."""

    def __init__(self, message, *, cause=None, **kwargs):
        super().__init__(message, **kwargs)
        self.cause = cause


class RecordRejected(ProviderError):
    """The provider refused one record (validation). Permanent until the record changes."""


class DuplicateName(RecordRejected):
    """A record with this name/number already exists in the provider: look it up and link it."""


class StaleVersion(RecordRejected):
    """The update carried an old version (QuickBooks SyncToken 5010): re-read and retry once."""

    permanent = False


class NotFound(RecordRejected):
    """The remote record does not exist (deleted in the provider?)."""


def reconnect_message(provider_display_name):
    return (
        f"Your {provider_display_name} connection has expired. Go to Settings → Integrations → Reconnect {provider_display_name}."
    )


# --- Throttle -------------------------------------------------------------------------------------


class Throttle(Protocol):
    def slot(self, kind: str) -> contextlib.AbstractContextManager[None]:
        """Block until a request of `kind` ("batch" or "single") may start within every limit; held
        while the request is in flight."""

    def penalize(self, seconds: float) -> None:
        """A 429 came anyway: nobody starts a request on this connection for `seconds`."""


class NoThrottle:
    def slot(self, kind):
        return contextlib.nullcontext()

    def penalize(self, seconds):
        return None


@dataclass
class RequestStats:
    """Counted by the adapter for the SyncRun and the benchmark."""

    requests: int = 0
    batches: int = 0
    throttled: int = 0  # 429s received
    by_kind: dict[str, int] = field(default_factory=dict)

    def count(self, kind):
        self.requests += 1
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1


# --- The adapter ----------------------------------------------------------------------------------

TokenProvider = Callable[..., str]
"""token_provider(force_refresh=False) -> a valid access token; raises ReconnectRequired."""


class ProviderAdapter:
    """One provider's data API for one connected company.

    Subclasses set the class attributes and implement the methods. Every HTTP request goes through
    `self.throttle.slot(kind)` and is counted in `self.stats`. On a 401 the adapter asks
    `token_provider(force_refresh=True)` once and repeats the request; a second 401 raises
    AuthenticationFailed with permanent=True.
    """

    name: ClassVar[str]
    display_name: ClassVar[str]
    # Records per write request for each kind (1: no batching).
    batch_sizes: ClassVar[dict[str, int]] = {}
    max_in_flight: ClassVar[int] = 1
    limits: ClassVar[tuple[Limit, ...]] = ()
    # Kinds that need an income account on items (QuickBooks, Xero, Wave).
    requires_income_account: ClassVar[bool] = False

    def __init__(self, *, config, company_id, token_provider, throttle=None, session=None, timeout=30.0):
        from .http import provider_session

        self.config = config
        self.company_id = company_id
        self.token_provider = token_provider
        self.throttle = throttle or NoThrottle()
        self.session = session or provider_session()
        self.timeout = timeout
        self.stats = RequestStats()

    # Company and reference data
    def company(self) -> Company:
        raise NotImplementedError

    def income_accounts(self) -> list[Account]:
        raise NotImplementedError

    def bank_accounts(self) -> list[Account]:
        """The active accounts a payment can be deposited to, in the provider's order; `remote_id` is
        what PaymentData.deposit_account_id takes. Only providers that need one (Xero, Wave)."""
        raise NotImplementedError

    # Reads
    def fetch(self, kind: str, remote_id: str) -> RemoteRecord:
        raise NotImplementedError

    def find(self, kind: str, data) -> RemoteRecord | None:
        """Look a record up by its natural key (name, code, number); None when absent."""
        raise NotImplementedError

    def changed(self, kind: str, since: datetime.datetime | None) -> Iterator[RemoteRecord]:
        """Every record of `kind` changed since `since` (all when None), neutral data filled in."""
        raise NotImplementedError

    # Writes
    def batch_size(self, kind: str) -> int:
        return self.batch_sizes.get(kind, 1)

    def push_batch(self, kind: str, requests: list[PushRequest]) -> list[PushResult]:
        """Push several records in one request. Per-record failures come back as results with
        `error`; a failure of the whole request raises BatchFailed."""
        if len(requests) != 1:
            raise NotImplementedError(f"{self.name} has no batch endpoint for {kind}")
        return [self.push_one(kind, requests[0])]

    def push_one(self, kind: str, request: PushRequest) -> PushResult:
        """Push one record. A rejection comes back as a result with `error`; transient failures raise."""
        raise NotImplementedError

    # Webhooks
    @classmethod
    def verify_webhook(cls, *, body: bytes, headers, secret: str) -> bool:
        raise NotImplementedError

    def confirm_webhook(self, *, callback_id: str, verifier: str) -> None:
        """FreshBooks: send a callback's verifier back (PUT .../events/callbacks/<id>) so FreshBooks
        starts delivering; raises RecordRejected when FreshBooks refuses the verifier."""
        raise NotImplementedError
