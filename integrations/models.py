"""What we know about each accounting connection and what has been synced through it.

ExternalLink is the sync state: one row per (connection, kind, local record), unique also per remote
id. A record is out of date when the hash of its current payload differs from `pushed_hash`. The
scheduled sweep recomputes that, so a lost task loses nothing.
"""

from django.conf import settings
from django.db import models

from blueclerk.models import OrganizationOwned


class Provider(models.TextChoices):
    QUICKBOOKS = "quickbooks", "QuickBooks"
    XERO = "xero", "Xero"
    FRESHBOOKS = "freshbooks", "FreshBooks"
    WAVE = "wave", "Wave"


class Kind(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    ITEM = "item", "Item"
    INVOICE = "invoice", "Invoice"
    PAYMENT = "payment", "Payment"


class Connection(OrganizationOwned):
    class Status(models.TextChoices):
        CONNECTED = "connected", "Connected"
        RECONNECT_REQUIRED = "reconnect_required", "Reconnect required"
        DISCONNECTED = "disconnected", "Disconnected"

    provider = models.CharField(max_length=20, choices=Provider.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CONNECTED)
    # QuickBooks realmId, Xero tenantId, FreshBooks account_id, Wave business id.
    company_id = models.CharField(max_length=100, blank=True)
    company_name = models.CharField(max_length=255, blank=True)
    # Provider-specific identity details (FreshBooks business_uuid, Xero connection id, ...).
    details = models.JSONField(default=dict, blank=True)
    default_income_account = models.ForeignKey(
        "IncomeAccount", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Post-connection wizard: {"customers": "done"|"skipped", "items": ..., "accounts": ...}.
    wizard = models.JSONField(default=dict, blank=True)
    connected_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    connected_at = models.DateTimeField(null=True, blank=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)
    reconnect_required_at = models.DateTimeField(null=True, blank=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "provider"], name="one_connection_per_provider")]
        ordering = ["provider"]

    def __str__(self):
        return f"{self.get_provider_display()} for {self.organization}"

    @property
    def provider_name(self):
        return self.get_provider_display()

    @property
    def is_usable(self):
        return self.status == self.Status.CONNECTED


class Credential(models.Model):
    """OAuth tokens of a connection, encrypted at rest (integrations.crypto). Refreshed only under
    select_for_update (integrations.tokens), so one process at a time rotates the refresh token."""

    connection = models.OneToOneField(Connection, on_delete=models.CASCADE, related_name="credential")
    access_token_encrypted = models.TextField(blank=True)
    refresh_token_encrypted = models.TextField(blank=True)
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    refresh_token_expires_at = models.DateTimeField(null=True, blank=True)
    scope = models.TextField(blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    refresh_count = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Credential of {self.connection}"


class IncomeAccount(models.Model):
    """An income account fetched from the provider, offered in the account mapping."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="income_accounts")
    remote_id = models.CharField(max_length=100)
    code = models.CharField(max_length=50, blank=True)
    name = models.CharField(max_length=255)
    account_type = models.CharField(max_length=60, blank=True)
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["connection", "remote_id"], name="income_account_unique_remote")]

    def __str__(self):
        return f"{self.code} {self.name}".strip()


class ItemAccountMapping(models.Model):
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="item_mappings")
    item = models.ForeignKey("catalog.Item", on_delete=models.CASCADE, related_name="+")
    income_account = models.ForeignKey(IncomeAccount, on_delete=models.CASCADE, related_name="mappings")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "item"], name="one_mapping_per_item")]


class ExternalLink(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SYNCED = "synced", "Synced"
        FAILED = "failed", "Failed"
        BLOCKED = "blocked", "Blocked"
        NEEDS_MAPPING = "needs_mapping", "Needs mapping"
        # A create was sent but its outcome is unknown (timeout after sending): look up before creating again.
        UNCERTAIN = "uncertain", "Uncertain"
        DELETED_REMOTE = "deleted_remote", "Deleted in provider"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="links")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    local_id = models.BigIntegerField()
    remote_id = models.CharField(max_length=100, null=True, blank=True)
    # QuickBooks SyncToken, or another provider's version marker.
    remote_version = models.CharField(max_length=50, blank=True)
    # What the provider shows as the record's number or name (invoice DocNumber, ...).
    remote_number = models.CharField(max_length=100, blank=True)
    pushed_hash = models.CharField(max_length=64, blank=True)
    # Hash of the payload of the last attempt that did not succeed (failed, blocked, needs mapping): such a
    # record is tried again when its payload changes or when someone asks (retry), not on every sweep.
    attempted_hash = models.CharField(max_length=64, blank=True)
    # Hash of the payload last read from the provider; a pull that applies it also sets pushed_hash,
    # so the change does not echo back.
    pulled_hash = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    last_error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    remote_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "kind", "local_id"], name="link_unique_local"),
            models.UniqueConstraint(
                fields=["connection", "kind", "remote_id"], condition=models.Q(remote_id__isnull=False), name="link_unique_remote"
            ),
        ]
        indexes = [models.Index(fields=["connection", "kind", "status"])]

    def __str__(self):
        return f"{self.connection.provider} {self.kind} {self.local_id} -> {self.remote_id or '?'}"


class SyncRun(models.Model):
    class Trigger(models.TextChoices):
        AUTOMATIC = "automatic", "Automatic"
        MANUAL = "manual", "Sync Now"
        SELECTED = "selected", "Selected records"
        INVOICE = "invoice", "Invoice sync"
        SCHEDULE = "schedule", "Scheduled sweep"
        COMMAND = "command", "Command"
        PULL = "pull", "Pull"
        WEBHOOK = "webhook", "Webhook"
        RETRY = "retry", "Retry"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Finished with failures"
        FAILED = "failed", "Failed"
        RECONNECT_REQUIRED = "reconnect_required", "Reconnect required"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="runs")
    trigger = models.CharField(max_length=20, choices=Trigger.choices, default=Trigger.AUTOMATIC)
    direction = models.CharField(max_length=4, choices=[("push", "Push"), ("pull", "Pull")], default="push")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    # Which kinds and (optionally) which local ids this run is limited to: {"kinds": [...], "ids": {...}}.
    scope = models.JSONField(default=dict, blank=True)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    blocked = models.PositiveIntegerField(default=0)
    requests = models.PositiveIntegerField(default=0)
    batches = models.PositiveIntegerField(default=0)
    fallbacks = models.PositiveIntegerField(default=0)
    throttled = models.PositiveIntegerField(default=0)
    continuations = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    notified = models.BooleanField(default=False)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["connection", "status"])]

    def __str__(self):
        return f"Sync run {self.pk} ({self.connection.provider}, {self.status})"

    @property
    def percent(self):
        if not self.total:
            return 100 if self.finished_at else 0
        return min(100, int(self.done * 100 / self.total))

    @property
    def is_active(self):
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)


class SyncEvent(models.Model):
    """The audit of one record's outcome in one run: what was sent, what came back, how long it took.
    Tokens and secrets are redacted before they are stored."""

    run = models.ForeignKey(SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    local_id = models.BigIntegerField(null=True, blank=True)
    remote_id = models.CharField(max_length=100, blank=True)
    direction = models.CharField(max_length=4, default="push")
    action = models.CharField(max_length=20)  # create, update, lookup, link, import, pull, delete
    outcome = models.CharField(max_length=20)  # ok, failed, blocked, skipped
    request = models.JSONField(null=True, blank=True)
    response = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["connection", "kind", "local_id"])]


class SyncCursor(models.Model):
    """Where the last pull of a kind stopped, per connection (survives restarts)."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="cursors")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    value = models.CharField(max_length=100, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "kind"], name="one_cursor_per_kind")]


class Notification(OrganizationOwned):
    class Level(models.TextChoices):
        ERROR = "error", "Error"
        WARNING = "warning", "Warning"
        INFO = "info", "Info"

    level = models.CharField(max_length=10, choices=Level.choices, default=Level.ERROR)
    title = models.CharField(max_length=200)
    message = models.TextField(blank=True)
    link = models.CharField(max_length=300, blank=True)
    connection = models.ForeignKey(Connection, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    run = models.ForeignKey(SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Set when one notification must not be repeated (e.g. "reconnect:<connection id>:<since>").
    dedupe_key = models.CharField(max_length=200, null=True, blank=True)
    read_by = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "dedupe_key"], condition=models.Q(dedupe_key__isnull=False), name="notification_dedupe"
            )
        ]

    def __str__(self):
        return self.title


class WebhookDelivery(models.Model):
    """One webhook event as a provider delivered it, kept so the same event delivered twice is applied
    once. `event_key` is the provider's event id (CloudEvents `id`) or, when the format has none, a
    digest of the fields that identify the change."""

    provider = models.CharField(max_length=20, choices=Provider.choices)
    connection = models.ForeignKey(Connection, null=True, blank=True, on_delete=models.CASCADE, related_name="webhook_deliveries")
    event_key = models.CharField(max_length=200)
    # The changes the event names: [{"kind": "invoice", "remote_id": "42", "operation": "update"}, ...].
    changes = models.JSONField(default=list, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["provider", "event_key"], name="webhook_delivery_once")]

    def __str__(self):
        return f"{self.provider} webhook {self.event_key}"


class ThrottleBucket(models.Model):
    """The database store of the shared request throttle (integrations.sync.throttle) when Redis is not
    configured: one row per connection, locked while a request slot is handed out."""

    key = models.CharField(max_length=100, unique=True)
    # time.time() until which nobody starts a request (a 429 asked us to wait).
    penalized_until = models.FloatField(default=0)


class ThrottleSlot(models.Model):
    """One request started through the throttle: counted in the sliding windows, and in flight until
    `ended` is set (slots never ended are considered finished after the request timeout)."""

    bucket = models.ForeignKey(ThrottleBucket, on_delete=models.CASCADE, related_name="slots")
    kind = models.CharField(max_length=10)
    started = models.FloatField()
    ended = models.FloatField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["bucket", "started"])]
