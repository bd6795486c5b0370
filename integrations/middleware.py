"""Turns a ReconnectRequired that escapes any view into the friendly red message, never a traceback."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from .providers.base import ReconnectRequired


class ReconnectRequiredMiddleware:
    """The page the user was on cannot be shown without the provider; the Integrations settings page
    can, and it carries the Reconnect button. The message is the same sentence every surface shows."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, ReconnectRequired):
            return None
        if request.path.startswith("/api/"):
            return None  # the API answers 401 through its exception handler
        messages.error(request, exception.message)
        target = reverse("integrations:index")
        if getattr(request, "htmx", False):
            response = HttpResponse(status=200)
            response["HX-Redirect"] = target
            return response
        return redirect(target)
