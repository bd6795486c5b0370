from django.contrib import admin

from blueclerk.admin import OrganizationScopedAdmin, ServiceSavedAdmin, ServiceSavedAdminForm

from . import services
from .models import Item


class ItemAdminForm(ServiceSavedAdminForm):
    """Saves through catalog.services.item_create / item_update (name and code clashes show on the form)."""

    class Meta:
        model = Item
        fields = ["organization", *services.ITEM_FIELDS]

    def save_through_service(self, data):
        fields = {name: data[name] for name in services.ITEM_FIELDS if name in data}
        if self.instance.pk:
            return services.item_update(item=self.instance, **fields)
        return services.item_create(organization=data["organization"], **fields)


@admin.register(Item)
class ItemAdmin(OrganizationScopedAdmin, ServiceSavedAdmin, admin.ModelAdmin):
    form = ItemAdminForm
    list_display = ["name", "code", "kind", "unit_price", "active", "organization"]
    list_filter = ["kind", "active"]
    search_fields = ["name", "code"]
    list_select_related = ["organization"]
    readonly_fields = ["created_at", "updated_at"]
    list_per_page = 50
    show_full_result_count = False  # the catalog is large; skip the second COUNT(*)
