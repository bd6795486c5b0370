"""Red / amber / green for each connection of an organization, and the banners every staff page shows.

- red: the connection needs a person to reconnect (its grant is gone). The banner says
  "Your QuickBooks connection has expired. Go to Settings → Integrations → Reconnect QuickBooks." and
  links to the Integrations settings.
- amber: connected, but records could not be synced (failed, blocked, waiting for an account mapping,
  or uncertain), counted from ExternalLink statuses: "N items aren't synced yet" with Sync Now.
- green: connected and nothing waiting on a person, with the last sync time.
Disconnected connections have no health and show no banner.
"""

from dataclasses import dataclass, field

from django.db.models import Count
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.timezone import localtime

from .models import Connection, ExternalLink
from .providers.base import reconnect_message

RED, AMBER, GREEN = "red", "amber", "green"
PROBLEM_STATUSES = {
    ExternalLink.Status.FAILED: "failed",
    ExternalLink.Status.BLOCKED: "blocked",
    ExternalLink.Status.NEEDS_MAPPING: "waiting for an income account",
    ExternalLink.Status.UNCERTAIN: "waiting to be checked",
}


@dataclass
class Health:
    connection: Connection
    level: str
    message: str
    counts: dict = field(default_factory=dict)  # {link status: number}
    action_url: str = ""
    action_label: str = ""
    sync_url: str = ""  # amber: where the banner's Sync Now button posts

    def as_banner(self):
        return {
            "level": self.level,
            "message": self.message,
            "action_url": self.action_url,
            "action_label": self.action_label,
            "sync_url": self.sync_url,
        }


def _counts_by_connection(connection_ids):
    counts = {}
    rows = (
        ExternalLink.objects.filter(connection_id__in=connection_ids)
        .values_list("connection_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for connection_id, status, n in rows:
        counts.setdefault(connection_id, {})[status] = n
    return counts


def _last_push_fell_short(connection):
    """True when the connection's latest finished push run did not succeed (partial or failed)."""
    from .models import SyncRun

    last = (
        SyncRun.objects.filter(connection=connection, direction="push")
        .exclude(status__in=[SyncRun.Status.QUEUED, SyncRun.Status.RUNNING])
        .order_by("-pk")
        .values_list("status", flat=True)
        .first()
    )
    return last in (SyncRun.Status.PARTIAL, SyncRun.Status.FAILED)


def connection_health(connection, counts=None):
    """The Health of one connection (None when it is disconnected)."""
    if counts is None:
        counts = _counts_by_connection([connection.pk]).get(connection.pk, {})
    url = reverse("integrations:index") + f"#{connection.provider}"
    name = connection.provider_name
    if connection.status == Connection.Status.RECONNECT_REQUIRED:
        return Health(connection, RED, reconnect_message(name), counts, url, f"Reconnect {name}")
    if connection.status != Connection.Status.CONNECTED:
        return None
    problems = [(counts.get(status, 0), words) for status, words in PROBLEM_STATUSES.items() if counts.get(status, 0)]
    if counts.get(ExternalLink.Status.PENDING) and _last_push_fell_short(connection):
        # The provider was unreachable (or the run failed): the records waiting are not "in sync".
        problems.append((counts[ExternalLink.Status.PENDING], "waiting to be sent"))
    if problems:
        total = sum(n for n, _ in problems)
        detail = ", ".join(f"{n} {words}" for n, words in problems)
        items = "1 item isn't" if total == 1 else f"{total} items aren't"
        sync_url = reverse("integrations:sync_now", args=[connection.provider])
        return Health(
            connection, AMBER, f"{items} synced yet to {name} ({detail}).", counts, url, f"Review {name} sync", sync_url
        )
    last = date_format(localtime(connection.last_sync_at), "M j, Y H:i") if connection.last_sync_at else "never"
    return Health(connection, GREEN, f"{name} is connected and in sync. Last sync: {last}.", counts, url, "")


def organization_health(organization):
    """[Health] of the organization's connections that are not disconnected, in provider order."""
    connections = list(Connection.objects.filter(organization=organization).exclude(status=Connection.Status.DISCONNECTED))
    counts = _counts_by_connection([c.pk for c in connections])
    healths = [connection_health(c, counts.get(c.pk, {})) for c in connections]
    return [h for h in healths if h is not None]


def banner_list(organization):
    """The banners of the organization, one a connected provider: red first, then amber, then green."""
    healths = organization_health(organization)
    healths.sort(key=lambda h: {RED: 0, AMBER: 1}.get(h.level, 2))
    return [h.as_banner() for h in healths]


def banners(request):
    """Context processor: `health_banners` for templates/_health_banners.html on every staff page."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"health_banners": []}
    organization = getattr(request, "organization", None)
    if not organization:
        return {"health_banners": []}
    return {"health_banners": banner_list(organization)}
