"""Django admin of integrations: read-only views of connections, links, runs and notifications.

Every admin is scoped to the user's organizations (OrganizationScopedAdmin); tokens are never shown
(Credential has no admin). Rows are written by the services, so these admins do not add or change them.
"""

from django.contrib import admin

from blueclerk.admin import OrganizationScopedAdmin

from .models import Connection, ExternalLink, IncomeAccount, Notification, SyncEvent, SyncRun


class ReadOnlyAdmin(OrganizationScopedAdmin, admin.ModelAdmin):
    """Shows rows only: the services own every write."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Connection)
class ConnectionAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "provider"]


@admin.register(ExternalLink)
class ExternalLinkAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "kind", "status"]
    list_filter = ["connection__provider", "kind", "status"]


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
