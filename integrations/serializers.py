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
    """One catalog item and the income account it uses ("account" null: the connection's default)."""

    item = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    account = serializers.SerializerMethodField()
    uses_default = serializers.SerializerMethodField()

    def get_account(self, item) -> int | None:
        return self.context.get("accounts", {}).get(item.pk, self.context.get("default_account_id"))

    def get_uses_default(self, item) -> bool:
        return item.pk not in self.context.get("accounts", {})


class FailureSerializer(serializers.ModelSerializer):
    error = serializers.CharField(source="last_error")

    class Meta:
        model = ExternalLink
        fields = ["id", "kind", "local_id", "status", "error"]
