"""Which organization a request acts for, and who may do what in it."""

from django.core.exceptions import PermissionDenied

from .models import Membership

SESSION_KEY = "organization_id"


def membership_for(user, organization_id=None):
    """The user's membership to act under: the one chosen in the session if still valid, else the oldest."""
    if not user.is_authenticated:
        return None
    memberships = Membership.objects.filter(user=user).select_related("organization").order_by("created_at", "id")
    if organization_id:
        chosen = memberships.filter(organization_id=organization_id).first()
        if chosen:
            return chosen
    return memberships.first()


def organizations_of(user):
    """Ids of the organizations a user belongs to (admin scoping)."""
    return Membership.objects.filter(user=user).values_list("organization_id", flat=True)


def require_manager(request, *, organization_id=None):
    """Owners and admins manage integrations; staff only use them. The role checked is the one in the
    organization the request acts for, or with `organization_id` the one in that organization (the API,
    where the object in the URL names the organization and a token user has no session to choose one)."""
    if organization_id is None:
        membership = getattr(request, "membership", None)
    elif request.user.is_authenticated:
        membership = Membership.objects.filter(user=request.user, organization_id=organization_id).first()
    else:
        membership = None
    if membership is None or not membership.can_manage_integrations:
        raise PermissionDenied("Only owners and admins can change integrations.")
