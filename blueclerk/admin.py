"""Django admin of tenancy, and the organization scoping every app's admin reuses.

`OrganizationScopedAdmin` (a mixin for ModelAdmin and inlines) gives non-superusers only the rows of
their own organizations: change lists, search, foreign-key and many-to-many choices, list filters, and
the change / delete / history pages, where another organization's object answers 404 (Django's default
redirects with "doesn't exist" messages, which would still tell an outsider the id is valid).
Superusers see everything.

`ServiceSavedAdminForm` + `ServiceSavedAdmin` make an admin save go through a service, with the
service's ValidationError shown on the form like any other error.
"""

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.http import Http404

from .models import Membership, Organization
from .tenancy import organizations_of
from .views import apply_service_errors

User = get_user_model()


def organization_path(model):
    """The ORM lookup from `model` to its Organization: "pk" for Organization, "organization" for rows
    that own one, "<fk>__organization" for rows owned through a parent (invoice lines, ...)."""
    if issubclass(model, Organization):
        return "pk"
    try:
        model._meta.get_field("organization")
        return "organization"
    except FieldDoesNotExist:
        pass
    for field in model._meta.concrete_fields:
        if field.is_relation and field.many_to_one and field.related_model is not None:
            try:
                field.related_model._meta.get_field("organization")
            except FieldDoesNotExist:
                continue
            return f"{field.name}__organization"
    return None


def scope_to_user(queryset, user, path=None):
    """`queryset` limited to the organizations of `user` (unchanged for superusers).

    Models without a path to an Organization are left alone, except users, who are limited to the
    members of the same organizations.
    """
    if user.is_superuser:
        return queryset
    model = queryset.model
    organizations = organizations_of(user)
    if issubclass(model, get_user_model()):
        return queryset.filter(pk__in=Membership.objects.filter(organization__in=organizations).values("user_id"))
    path = path or organization_path(model)
    if path is None:
        return queryset
    return queryset.filter(**{f"{path}__in": organizations})


class OrganizationListFilter(admin.SimpleListFilter):
    """Filter by organization, offering only the organizations the user may see."""

    title = "organization"
    parameter_name = "organization"

    def lookups(self, request, model_admin):
        organizations = scope_to_user(Organization.objects.all(), request.user)
        return [(str(o.pk), o.name) for o in organizations]

    def queryset(self, request, queryset):
        if self.value() and self.value().isdigit():
            return queryset.filter(**{organization_path(queryset.model): int(self.value())})
        return queryset


class OrganizationScopedAdmin:
    """Mixin for ModelAdmin / InlineModelAdmin: non-superusers only reach their organizations' rows.

    `organization_path` is the lookup to the Organization (found automatically when None).
    Put it first in the bases: `class ItemAdmin(OrganizationScopedAdmin, admin.ModelAdmin)`.
    """

    organization_path = None

    def get_organization_path(self):
        return self.organization_path or organization_path(self.model)

    def get_queryset(self, request):
        return scope_to_user(super().get_queryset(request), request.user, self.get_organization_path())

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and hasattr(field, "queryset"):
            field.queryset = scope_to_user(field.queryset, request.user)
        return field

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and hasattr(field, "queryset"):
            field.queryset = scope_to_user(field.queryset, request.user)
        return field

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            # Not found and not yours look the same: 404, never a redirect that confirms the id exists.
            raise Http404("No such object in your organization.")
        return obj

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        path = self.get_organization_path()
        if path and path != "pk" and OrganizationListFilter not in filters:
            if request.user.is_superuser or len(organizations_of(request.user)) > 1:
                filters.insert(0, OrganizationListFilter)
        return filters

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        if self.get_organization_path() == "organization" and "organization" not in initial:
            mine = list(organizations_of(request.user))
            if len(mine) == 1:
                initial["organization"] = mine[0]
        return initial


class ServiceSavedAdminForm(forms.ModelForm):
    """An admin form whose save is a service call.

    Django admin validates a form and then saves it; a service refusing at save time would surface as
    a server error. So the service runs at the very end of validation, once every field is valid, inside
    the admin's own transaction: a refusal becomes a form error and nothing is written (services are
    atomic). Subclasses implement `save_through_service(data)` returning the saved instance; the admin
    must use ServiceSavedAdmin so that nothing is saved a second time.
    """

    def save_through_service(self, data):
        raise NotImplementedError

    def _post_clean(self):
        super()._post_clean()
        if self._errors:
            return
        try:
            self.instance = self.save_through_service(self.cleaned_data)
        except ValidationError as error:
            apply_service_errors(self, error)


class ReadOnlyAdmin:
    """View only: no add, change or delete (the services own these rows' rules)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ServiceSavedAdmin:
    """Mixin for a ModelAdmin whose form is a ServiceSavedAdminForm (the form already saved)."""

    save_as = False
    inlines = ()

    def save_model(self, request, obj, form, change):
        pass

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and "organization" not in readonly:
            readonly.append("organization")  # a row never moves to another organization
        return readonly


class MembershipInline(OrganizationScopedAdmin, admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(Organization)
class OrganizationAdmin(OrganizationScopedAdmin, admin.ModelAdmin):
    list_display = ["name", "slug", "currency", "created_at"]
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return ["created_at"]
        # The slug and the invoice counter are the system's; members only rename.
        return ["slug", "next_invoice_number", "created_at"]

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(Membership)
class MembershipAdmin(OrganizationScopedAdmin, admin.ModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__email", "organization__name"]
    list_select_related = ["user", "organization"]


admin.site.unregister(User)


@admin.register(User)
class ScopedUserAdmin(OrganizationScopedAdmin, UserAdmin):
    """Users, limited for non-superusers to the members of their organizations; only a superuser
    grants staff, superuser or permission flags (changing them is changing who can see what)."""

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            readonly += ["is_staff", "is_superuser", "groups", "user_permissions", "last_login", "date_joined"]
        return readonly
