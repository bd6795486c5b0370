"""Notifications: sync failures and connection problems of the organization, read per person.

`notification_context` is a context processor giving every staff page `notifications_unread` and
`notifications_url` (the header bell, templates/_header_extra.html).
"""

from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from blueclerk.views import organization_required, paginate

from .models import Notification


def unread_count(*, organization, user):
    """How many of the organization's notifications `user` has not read."""
    return Notification.objects.filter(organization=organization).exclude(read_by=user).count()


@organization_required
def notification_list(request):
    notifications = Notification.objects.filter(organization=request.organization).select_related("connection")
    page, querystring = paginate(request, notifications)
    read = set(
        Notification.read_by.through.objects.filter(
            user_id=request.user.pk, notification_id__in=[n.pk for n in page.object_list]
        ).values_list("notification_id", flat=True)
    )
    for notification in page.object_list:
        notification.is_read = notification.pk in read
    return render(
        request,
        "integrations/notifications.html",
        {"nav": "settings", "page": page, "querystring": querystring},
    )


@organization_required
@require_POST
def notifications_mark_read(request):
    """Mark one notification (`notification` in the form) or all of them read for the current person."""
    notifications = Notification.objects.filter(organization=request.organization).exclude(read_by=request.user)
    one = request.POST.get("notification", "")
    if one:
        notifications = notifications.filter(pk=int(one) if one.isdigit() else 0)
    through = Notification.read_by.through
    through.objects.bulk_create(
        [through(notification_id=pk, user_id=request.user.pk) for pk in notifications.values_list("pk", flat=True)],
        ignore_conflicts=True,
    )
    return redirect(reverse("integrations:notifications"))


def notification_context(request):
    """Context processor: `notifications_unread` (None when there is no signed-in member) and
    `notifications_url`."""
    user = getattr(request, "user", None)
    organization = getattr(request, "organization", None)
    if user is None or not user.is_authenticated or not organization:
        return {"notifications_unread": None, "notifications_url": ""}
    return {
        "notifications_unread": unread_count(organization=organization, user=user),
        "notifications_url": reverse("integrations:notifications"),
    }
