from django.utils.functional import SimpleLazyObject

from .tenancy import SESSION_KEY, membership_for


class OrganizationMiddleware:
    """Sets request.membership and request.organization (None for anonymous users or users without one)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        def _membership():
            session = getattr(request, "session", None)
            return membership_for(request.user, session.get(SESSION_KEY) if session is not None else None)

        request.membership = SimpleLazyObject(_membership)
        request.organization = SimpleLazyObject(lambda: request.membership.organization if request.membership else None)
        return self.get_response(request)
