"""Admin of customers, invoices and payments, scoped to the user's organizations.

Customers save through the services. Invoices and payments are read-only here: their rules (numbers,
balances, statuses) live in invoices.services, reached through the staff pages and the two actions
below; an admin edit would bypass them.
"""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from blueclerk.admin import OrganizationScopedAdmin, ReadOnlyAdmin, ServiceSavedAdmin, ServiceSavedAdminForm

from . import services
from .models import Customer, Invoice, InvoiceLine, Payment


class CustomerAdminForm(ServiceSavedAdminForm):
    class Meta:
        model = Customer
        fields = ["organization", *services.CUSTOMER_FIELDS]

    def save_through_service(self, data):
        fields = {name: data[name] for name in services.CUSTOMER_FIELDS if name in data}
        if self.instance.pk:
            return services.customer_update(customer=self.instance, **fields)
        display_name = fields.pop("display_name")
        return services.customer_create(organization=data["organization"], display_name=display_name, **fields)


@admin.register(Customer)
class CustomerAdmin(OrganizationScopedAdmin, ServiceSavedAdmin, admin.ModelAdmin):
    form = CustomerAdminForm
    list_display = ["display_name", "company", "email", "phone", "active", "organization"]
    list_filter = ["active"]
    search_fields = ["display_name", "company", "email", "phone"]
    list_select_related = ["organization"]
    readonly_fields = ["created_at", "updated_at"]


class InvoiceLineInline(OrganizationScopedAdmin, ReadOnlyAdmin, admin.TabularInline):
    model = InvoiceLine
    fields = ["position", "item", "description", "quantity", "unit_price", "amount"]
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("item")

    @admin.display(description="amount")
    def amount(self, line):
        return line.amount


def _run_on_each(modeladmin, request, queryset, service, verb):
    done = 0
    for invoice in queryset:
        try:
            service(invoice=invoice)
        except ValidationError as error:
            modeladmin.message_user(request, f"{invoice.number}: {' '.join(error.messages)}", messages.ERROR)
        else:
            done += 1
    if done:
        modeladmin.message_user(request, f"{done} invoice(s) {verb}.", messages.SUCCESS)


@admin.register(Invoice)
class InvoiceAdmin(OrganizationScopedAdmin, ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["number", "customer", "status", "issue_date", "due_date", "total", "paid", "balance", "organization"]
    list_filter = ["status"]
    search_fields = ["number", "customer__display_name"]
    list_select_related = ["customer", "organization"]
    date_hierarchy = "issue_date"
    inlines = [InvoiceLineInline]
    actions = ["mark_sent", "void"]
    readonly_fields = ["paid", "balance"]

    def get_queryset(self, request):
        return super().get_queryset(request).with_amounts()

    @admin.display(description="amount paid")
    def paid(self, invoice):
        return invoice.amount_paid

    @admin.display(description="balance")
    def balance(self, invoice):
        return invoice.balance

    def has_manage_permission(self, request):
        """The actions need the Django 'change invoice' permission, though the form stays read-only."""
        return request.user.has_perm("invoices.change_invoice")

    @admin.action(description="Mark sent", permissions=["manage"])
    def mark_sent(self, request, queryset):
        _run_on_each(self, request, queryset, services.invoice_mark_sent, "marked sent")

    @admin.action(description="Void", permissions=["manage"])
    def void(self, request, queryset):
        _run_on_each(self, request, queryset, services.invoice_void, "voided")


@admin.register(Payment)
class PaymentAdmin(OrganizationScopedAdmin, ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["invoice", "amount", "date", "method", "reference", "source", "organization"]
    list_filter = ["method", "source"]
    search_fields = ["invoice__number", "reference"]
    list_select_related = ["invoice", "organization"]
    date_hierarchy = "date"
