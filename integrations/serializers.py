from rest_framework import serializers

from .health import connection_health
from .models import Connection, ExternalLink


class ConnectionSerializer(serializers.ModelSerializer):
    health = serializers.SerializerMethodField()

    class Meta:
        model = Connection
        fields = ["id", "provider", "status", "health"]

    def get_health(self, connection) -> dict | None:
        """{"level": green|amber|red, "message": ..., "counts": {link status: n}}; None when disconnected."""
        health = connection_health(connection)
        if health is None:
            return None
        return {"level": health.level, "message": health.message, "counts": dict(health.counts)}


class MappingSerializer(serializers.Serializer):
    """One catalog item and the income account it uses: its own (the item annotated with `own_account_id`,
    None without one) or the connection's default (`default_account_id` in the context; null if none)."""

    item = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    account = serializers.SerializerMethodField()
    uses_default = serializers.SerializerMethodField()

    def get_account(self, item) -> int | None:
        if item.own_account_id is not None:
            return item.own_account_id
        return self.context.get("default_account_id")

    def get_uses_default(self, item) -> bool:
        return item.own_account_id is None


class FailureSerializer(serializers.ModelSerializer):
    error = serializers.CharField(source="last_error")

    class Meta:
        model = ExternalLink
        fields = ["id", "kind", "local_id", "status", "error"]


# Request/response shapes of the action endpoints, for the OpenAPI schema (the views validate by hand).


class RunProgressSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    status_display = serializers.CharField()
    active = serializers.BooleanField()
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    succeeded = serializers.IntegerField()
    failed = serializers.IntegerField()
    blocked = serializers.IntegerField()
    percent = serializers.IntegerField()
    requests = serializers.IntegerField()
    batches = serializers.IntegerField()
    fallbacks = serializers.IntegerField()
    throttled = serializers.IntegerField()
    continuations = serializers.IntegerField()
    error = serializers.CharField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class ItemIdsSerializer(serializers.Serializer):
    items = serializers.ListField(child=serializers.IntegerField(), max_length=100)


class ItemAccountSerializer(serializers.Serializer):
    account = serializers.IntegerField(allow_null=True, help_text="IncomeAccount id; null: the default")


class ItemAccountResultSerializer(ItemAccountSerializer):
    item = serializers.IntegerField()
    changed = serializers.ListField(child=serializers.IntegerField())


class BulkMappingSerializer(serializers.Serializer):
    account = serializers.IntegerField()
    items = serializers.ListField(child=serializers.IntegerField(), required=False)
    unmapped = serializers.BooleanField(required=False, help_text="true: every active item without its own account")


class BulkMappingResultSerializer(serializers.Serializer):
    mapped = serializers.IntegerField()
    changed = serializers.ListField(child=serializers.IntegerField())


class InvoiceSyncRequestSerializer(serializers.Serializer):
    provider = serializers.CharField()


class RetryRequestSerializer(serializers.Serializer):
    link = serializers.IntegerField(required=False, help_text="one failed, blocked or unmapped link id; leave out to retry all")
