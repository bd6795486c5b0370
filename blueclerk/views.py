"""Pages of the project itself (home, settings) and the helpers every staff page shares.

`organization_required` is the door of every staff page: anonymous users go to the login page, users
without a membership get a page that says so (not a crash), everyone else acts for
`request.organization`. Objects are then always looked up within that organization, so another
organization's object answers 404.
"""

import functools
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render

from .models import Membership

PAGE_SIZE = 25


def organization_required(view):
    """Login required, and a membership: without one the user sees a clear page (status 403)."""

    @login_required
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.membership:
            return render(request, "registration/no_organization.html", status=403)
        # The middleware's lazy proxy, resolved once: services receive a plain Organization.
        request.organization = request.membership.organization
        return view(request, *args, **kwargs)

    return wrapped


def paginate(request, queryset, per_page=PAGE_SIZE):
    """The requested page of `queryset` (two queries: COUNT and the slice, whatever the table size).

    Also returns `querystring`: the current filters without `page`, for the pager links.
    """
    page = Paginator(queryset, per_page).get_page(request.GET.get("page"))
    params = [(k, v) for k, v in request.GET.items() if k != "page" and v != ""]
    return page, urlencode(params)


def apply_service_errors(form, error, extra_errors=None):
    """Put a service's ValidationError on `form`, in place: field errors on their fields, the rest on top.

    Keys that are not fields of `form` go to `extra_errors` (a dict) when given, e.g. "lines" for the
    invoice line formset; otherwise they become errors of the whole form.
    """
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        messages = [m for e in errors for m in ValidationError(e).messages]
        if field in form.fields:
            form.add_error(field, messages)
        elif extra_errors is not None and field != NON_FIELD_ERRORS:
            extra_errors.setdefault(field, []).extend(messages)
        else:
            form.add_error(None, messages)


@login_required
def home(request):
    return redirect("invoice_list")


@organization_required
def settings_page(request):
    """Settings is a list of sections (organization, members; integrations adds its own)."""
    members = Membership.objects.filter(organization=request.organization).select_related("user").order_by("created_at", "id")
    return render(request, "settings.html", {"nav": "settings", "members": members})
