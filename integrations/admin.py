"""Django admin of integrations: organization-scoped views of connections, links, runs and
notifications, plus thin actions that call the sync and connection services.

Every admin is scoped to the user's organizations (OrganizationScopedAdmin), so an action only ever
receives the user's own rows; tokens are never shown (Credential has no admin). Rows are written by the
services, so these admins do not add or change them. Refusals (ValidationError, ReconnectRequired and
other provider errors) become admin messages in the service's own words, never a traceback.

The catalog and invoices apps must not import integrations, so "Sync selected to <Provider>" is added
here: the registered Item and Invoice admins are replaced by subclasses carrying the extra actions.
"""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from blueclerk import admin as blueclerk_admin
from blueclerk.admin import OrganizationScopedAdmin, scope_to_user
from catalog.models import Item
from invoices.models import Invoice

from . import services
from .models import Connection, ExternalLink, IncomeAccount, Notification, Provider, SyncEvent, SyncRun
from .providers.base import ProviderError
from .services.sync import MAX_SELECTED_ITEMS
from .tokens import get_access_token

MAX_SELECTED_INVOICES = 100


def _refusal(error):
    """The sentence a person sees for a service refusal or a provider error."""
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return error.message


def _has_sync_permission(request):
    """Acting on a connection (sync, refresh, disconnect) needs Django's 'change connection' permission."""
    return request.user.has_perm("integrations.change_connection")


class ReadOnlyAdmin(OrganizationScopedAdmin, blueclerk_admin.ReadOnlyAdmin, admin.ModelAdmin):
    """Shows rows only: the services own every write."""

    def has_sync_permission(self, request):
        return _has_sync_permission(request)

    def for_each_connection(self, request, connections, act, done):
        """`act(connection)` on each, through its service; `done(connection, result)` words the success.
        A refusal becomes an error message in the service's words and the others still go."""
        for connection in connections:
            try:
                result = act(connection)
            except (ValidationError, ProviderError) as error:
                self.message_user(request, f"{connection}: {_refusal(error)}", messages.ERROR)
            else:
                self.message_user(request, f"{connection}: {done(connection, result)}", messages.SUCCESS)


@admin.register(Connection)
class ConnectionAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "provider", "status"]
    actions = ["sync_now", "refresh_token", "disconnect"]

    @admin.action(description="Sync now", permissions=["sync"])
    def sync_now(self, request, queryset):
        self.for_each_connection(
            request,
            queryset,
            lambda connection: services.sync_now(connection=connection, requested_by=request.user),
            lambda connection, run: f"sync queued (run {run.pk}).",
        )

    @admin.action(description="Refresh token", permissions=["sync"])
    def refresh_token(self, request, queryset):
        self.for_each_connection(
            request,
            queryset,
            lambda connection: get_access_token(connection, force_refresh=True),  # the token is never shown
            lambda connection, token: "token refreshed.",
        )

    @admin.action(description="Disconnect", permissions=["sync"])
    def disconnect(self, request, queryset):
        self.for_each_connection(
            request,
            queryset,
            lambda connection: services.connection_disconnect(connection=connection),
            lambda connection, _: "disconnected.",
        )


@admin.register(ExternalLink)
class ExternalLinkAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "kind", "status"]
    list_filter = ["connection__provider", "kind", "status"]
    actions = ["retry"]

    @admin.action(description="Retry", permissions=["sync"])
    def retry(self, request, queryset):
        by_connection = {}
        for link in queryset.select_related("connection"):
            by_connection.setdefault(link.connection, []).append(link.pk)
        self.for_each_connection(
            request,
            by_connection,
            lambda connection: services.sync_retry(
                connection=connection, link_ids=by_connection[connection], requested_by=request.user
            ),
            lambda connection, run: f"{len(by_connection[connection])} record(s) queued for retry (run {run.pk}).",
        )


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    pass


@admin.register(SyncEvent)
class SyncEventAdmin(ReadOnlyAdmin):
    pass


@admin.register(IncomeAccount)
class IncomeAccountAdmin(ReadOnlyAdmin):
    pass


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    pass


def _connected_providers(request):
    """Providers connected (not disconnected) by an organization the user may see, in display order."""
    connections = scope_to_user(Connection.objects.exclude(status=Connection.Status.DISCONNECTED), request.user)
    present = set(connections.values_list("provider", flat=True))
    return [(value, label) for value, label in Provider.choices if value in present]


def _connections_by_organization(provider, organization_ids):
    return {
        c.organization_id: c
        for c in Connection.objects.filter(provider=provider, organization_id__in=set(organization_ids)).exclude(
            status=Connection.Status.DISCONNECTED
        )
    }


class ProviderSyncActions:
    """Mixin adding one "Sync selected to <Provider>" action per provider the user's organizations have
    connected. Subclasses implement `sync_selected(request, queryset, provider, label)`."""

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not _has_sync_permission(request):
            return actions
        for provider, label in _connected_providers(request):
            name = f"sync_to_{provider}"

            def action(modeladmin, request, queryset, provider=provider, label=label):
                modeladmin.sync_selected(request, queryset, provider, label)

            actions[name] = (action, name, f"Sync selected to {label}")
        return actions


def _extended(model, mixin):
    """Replace the registered admin of `model` by a subclass of it carrying `mixin`."""
    base = type(admin.site._registry[model])
    admin.site.unregister(model)
    extended = type(base.__name__, (mixin, base), {"__module__": __name__, "__doc__": base.__doc__})
    admin.site.register(model, extended)
    return extended


class ItemSyncActions(ProviderSyncActions):
    def sync_selected(self, request, queryset, provider, label):
        count = queryset.count()
        if count > MAX_SELECTED_ITEMS:
            self.message_user(
                request,
                f"You can sync at most {MAX_SELECTED_ITEMS} items at a time; you chose {count}. "
                f"Use Sync now on the {label} connection to send the whole catalog.",
                messages.ERROR,
            )
            return
        by_organization = {}
        for organization_id, pk in queryset.values_list("organization_id", "pk"):
            by_organization.setdefault(organization_id, []).append(pk)
        connections = _connections_by_organization(provider, by_organization)
        for organization_id, item_ids in by_organization.items():
            connection = connections.get(organization_id)
            if connection is None:
                self.message_user(
                    request, f"{len(item_ids)} item(s) belong to an organization not connected to {label}.", messages.ERROR
                )
                continue
            try:
                run = services.items_sync_selected(connection=connection, item_ids=item_ids, requested_by=request.user)
            except (ValidationError, ProviderError) as error:
                self.message_user(request, _refusal(error), messages.ERROR)
            else:
                self.message_user(request, f"{len(item_ids)} item(s) queued to sync to {label} (run {run.pk}).", messages.SUCCESS)


class InvoiceSyncActions(ProviderSyncActions):
    def sync_selected(self, request, queryset, provider, label):
        count = queryset.count()
        if count > MAX_SELECTED_INVOICES:
            self.message_user(
                request,
                f"You can sync at most {MAX_SELECTED_INVOICES} invoices at a time; you chose {count}. "
                f"Use Sync now on the {label} connection to send them all.",
                messages.ERROR,
            )
            return
        invoices = list(queryset)
        connections = _connections_by_organization(provider, [i.organization_id for i in invoices])
        queued = 0
        for invoice in invoices:
            connection = connections.get(invoice.organization_id)
            if connection is None:
                self.message_user(
                    request, f"Invoice {invoice.number}: its organization is not connected to {label}.", messages.ERROR
                )
                continue
            try:
                services.invoice_sync(invoice=invoice, connection=connection, requested_by=request.user)
            except (ValidationError, ProviderError) as error:
                self.message_user(request, f"Invoice {invoice.number}: {_refusal(error)}", messages.ERROR)
            else:
                queued += 1
        if queued:
            self.message_user(request, f"{queued} invoice(s) queued to sync to {label}.", messages.SUCCESS)


ItemAdmin = _extended(Item, ItemSyncActions)
InvoiceAdmin = _extended(Invoice, InvoiceSyncActions)
