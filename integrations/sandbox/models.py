"""The sandbox's own state: what the emulated providers "store" on their side.

Everything lives in these tables (never in process memory) so the web server, the workers and the
test live servers see one provider. Concurrency rules, written down here because the tables enforce
them:
- uniqueness of names, codes and numbers is a database constraint (SandboxObject.unique_key and
  alt_key), so of two simultaneous creates of one name exactly one wins and the other gets the
  provider's duplicate fault;
- versions (QuickBooks' SyncToken) move by a conditional UPDATE ... WHERE version = expected, so a
  stale writer is refused, never silently overwrites;
- counters move by UPDATE ... SET value = value + n; limits are counted from SandboxRequest rows
  under a row lock on the company (PostgreSQL) or an IMMEDIATE transaction (SQLite).
"""

from django.db import models


class SandboxProvider(models.Model):
    """One emulated provider's settings as set through its control endpoint (latency, limits, faults)."""

    name = models.CharField(max_length=20, unique=True)  # "quickbooks", "xero", "freshbooks", "wave"
    config = models.JSONField(default=dict)
    unavailable_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.name


class SandboxCounter(models.Model):
    """A named number of a provider's control report ("requests.batch", "throttled", ...)."""

    provider = models.CharField(max_length=20)
    name = models.CharField(max_length=60)
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "name"], name="sandbox_counter_unique")]

    def __str__(self):
        return f"{self.provider} {self.name}={self.value}"


class SandboxCompany(models.Model):
    """A QuickBooks realm, a Xero tenant, a FreshBooks account or a Wave business."""

    provider = models.CharField(max_length=20)
    external_id = models.CharField(max_length=100)  # realmId, tenantId, account_id, business id
    name = models.CharField(max_length=200)
    currency = models.CharField(max_length=3, default="USD")
    details = models.JSONField(default=dict, blank=True)  # provider-specific extras (business_uuid, ...)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "external_id"], name="sandbox_company_unique"),
        ]

    def __str__(self):
        return f"{self.provider}: {self.name} ({self.external_id})"


class SandboxObject(models.Model):
    """One record in a sandbox company: an item, customer/contact/client, invoice, payment, account.

    `data` is the provider's own JSON for the record. `unique_key` is the normalised value that must be
    unique within (company, unique_scope) (QuickBooks shares one name space between customers, vendors
    and employees, hence a scope apart from the kind); `alt_key` is a second unique value within
    (company, kind), e.g. a Xero item's Code beside its Name. Deleted and archived records release
    their keys (the provider module clears them).
    """

    company = models.ForeignKey(SandboxCompany, on_delete=models.CASCADE, related_name="records")
    kind = models.CharField(max_length=40)
    object_id = models.CharField(max_length=100)
    data = models.JSONField(default=dict)
    version = models.PositiveIntegerField(default=0)
    unique_scope = models.CharField(max_length=40, blank=True, default="")
    unique_key = models.CharField(max_length=600, null=True, blank=True)
    alt_key = models.CharField(max_length=600, null=True, blank=True)
    status = models.CharField(max_length=20, default="active")  # "active" | "deleted" | provider words
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["company", "kind", "object_id"], name="sandbox_object_id_unique"),
            models.UniqueConstraint(
                fields=["company", "unique_scope", "unique_key"],
                condition=models.Q(unique_key__isnull=False),
                name="sandbox_object_key_unique",
            ),
            models.UniqueConstraint(
                fields=["company", "kind", "alt_key"],
                condition=models.Q(alt_key__isnull=False),
                name="sandbox_object_alt_key_unique",
            ),
        ]
        indexes = [models.Index(fields=["company", "kind", "updated_at"], name="sandbox_object_changed")]

    def __str__(self):
        return f"{self.kind} {self.object_id}"


class SandboxGrant(models.Model):
    """A user's consent: this client may reach these companies until revoked."""

    provider = models.CharField(max_length=20)
    client_id = models.CharField(max_length=200)
    scope = models.TextField(blank=True, default="")
    redirect_uri = models.TextField(blank=True, default="")
    companies = models.ManyToManyField(SandboxCompany, related_name="grants")
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.provider} grant {self.pk}"


class SandboxToken(models.Model):
    """An authorization code, access token or refresh token of a grant."""

    CODE = "code"
    ACCESS = "access"
    REFRESH = "refresh"

    grant = models.ForeignKey(SandboxGrant, on_delete=models.CASCADE, related_name="tokens")
    kind = models.CharField(max_length=10)
    token = models.CharField(max_length=200, unique=True)
    expires_at = models.DateTimeField(null=True, blank=True)  # None: never expires
    used_at = models.DateTimeField(null=True, blank=True)  # codes: exchanged; refresh tokens: rotated
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["grant", "kind"], name="sandbox_token_grant_kind")]

    def __str__(self):
        return f"{self.kind} token of grant {self.grant_id}"


class SandboxRequest(models.Model):
    """One request counted against a provider's limits: the sliding windows and the in-flight count."""

    provider = models.CharField(max_length=20)
    scope = models.CharField(max_length=100)  # the company's external id (realm, tenant)
    is_batch = models.BooleanField(default=False)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["provider", "scope", "started_at"], name="sandbox_request_window"),
            models.Index(fields=["provider", "started_at"], name="sandbox_request_app_window"),
        ]


class SandboxIdempotency(models.Model):
    """The first answer to a request carrying an idempotency key, replayed for repeats."""

    provider = models.CharField(max_length=20)
    scope = models.CharField(max_length=100)
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(null=True, blank=True)  # None while the first is running
    content_type = models.CharField(max_length=100, blank=True, default="")
    body = models.BinaryField(default=b"")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "scope", "key"], name="sandbox_idempotency_unique"),
        ]
